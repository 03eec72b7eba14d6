// The process one leaderboard entry runs in, started by the runner (runner.ts says why): it
// receives one entry, runs it, sends its progress and its row (or its error), and exits.
import { loadRecipe } from '../cli/recipe-file.ts';
import '../components.ts';
import { runEntry, type EntryProgress, type EntryRun } from './run-entry.ts';
import type { Row } from './rows.ts';

/** What the runner sends the worker. */
export interface WorkerRequest {
  readonly type: 'run';
  readonly run: Omit<EntryRun, 'onProgress'>;
  /** Modules to import first (a protocol file that defines its own components). */
  readonly imports: readonly string[];
}

/** What the worker sends back. */
export type WorkerMessage =
  | { readonly type: 'progress'; readonly progress: EntryProgress }
  | { readonly type: 'row'; readonly row: Row }
  | { readonly type: 'error'; readonly message: string };

const send = (m: WorkerMessage): Promise<void> => new Promise((resolve) => process.send!(m, undefined, {}, () => resolve()));

let finished = false;
// Orphaned (the runner was killed): nobody will read the row, so stop now.
process.once('disconnect', () => {
  if (!finished) process.exit(1);
});

process.once('message', (m: WorkerRequest) => {
  void (async () => {
    try {
      for (const file of m.imports) await loadRecipe(file);
      const row = await runEntry({ ...m.run, onProgress: (progress) => void send({ type: 'progress', progress }) });
      await send({ type: 'row', row });
    } catch (err) {
      await send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
      process.exitCode = 1;
    } finally {
      finished = true;
      process.disconnect();
    }
  })();
});
