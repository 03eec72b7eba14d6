// Runs a leaderboard: builds every selected model's entry (so a bad protocol or recipe fails
// before any training), makes the data ready, then runs the models without a row, one at a
// time, each in its own child process, storing each row as it finishes, and writes the outputs.
//
// Why a child process per model: the peak memory reported is then the model's own (a process's
// peak RSS never goes down, so in one process every model after the largest would report the
// largest's); a native crash or an out-of-memory kill costs that model alone; each model starts
// from the same clean state (no memory or kernel caches left by the model before, which would
// skew its timings); and the parent stays small (it never loads TensorFlow). It costs a few
// seconds of start-up per model.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCompiled, siblingModule } from '../util/module-url.ts';
import { formatDuration } from '../engine/hooks/progress.ts';
import { canonicalHash } from './canonical.ts';
import { dataDir, prepareData } from './data.ts';
import { buildEntry, entryHash, type Entry } from './entry.ts';
import { thisMachine } from './machine.ts';
import { writeOutputs, type OutputFiles } from './outputs.ts';
import type { Protocol } from './protocol.ts';
import type { EntryProgress, EntryRun } from './run-entry.ts';
import { readRow, readRows, rowsDir, showcaseFile, writeRow, type Row } from './rows.ts';
import type { WorkerMessage, WorkerRequest } from './worker.ts';

/** Options of {@link runLeaderboard}. */
export interface LeaderboardOptions {
  readonly protocol: Protocol;
  /** The protocol's file, when it came from one: workers import it first (for components it defines). */
  readonly protocolFile?: string;
  /** Model types, in order. */
  readonly models: readonly string[];
  readonly out: string;
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void;
  /** Aborting it stops the model in progress (its row is lost) and writes the outputs of the rows done. */
  readonly signal?: AbortSignal;
}

/** A model that produced no row, and why. */
export interface Failure {
  readonly model: string;
  readonly error: string;
}

/** What {@link runLeaderboard} did. */
export interface LeaderboardResult {
  /** Every row of this protocol in --out (earlier runs' included), best first. */
  readonly rows: readonly Row[];
  /** Models run now (not found done). */
  readonly ran: readonly string[];
  /** Models whose row was already there. */
  readonly skipped: readonly string[];
  readonly failed: readonly Failure[];
  readonly stopped: boolean;
  readonly files: OutputFiles;
}

/** The command line that starts a worker: this Node, with tsx when running from the sources. */
function workerArgs(): { module: string; execArgv: string[] } {
  const module = fileURLToPath(siblingModule('./worker.ts', import.meta.url));
  return { module, execArgv: isCompiled(import.meta.url) ? [] : ['--import', import.meta.resolve('tsx')] };
}

/** Runs one entry in a child process; resolves to its row. `stop` kills the child. */
function runInChild(request: WorkerRequest, onProgress: (p: EntryProgress) => void, signal: AbortSignal | undefined): Promise<Row> {
  const { module, execArgv } = workerArgs();
  // The child's output goes to our stderr: stdout stays for the command's own result.
  const child = fork(module, [], { execArgv, stdio: ['ignore', 2, 2, 'ipc'] });
  let row: Row | undefined;
  let error: string | undefined;
  const kill = () => child.kill('SIGTERM');
  signal?.addEventListener('abort', kill, { once: true });
  child.on('message', (m: WorkerMessage) => {
    if (m.type === 'progress') onProgress(m.progress);
    else if (m.type === 'row') row = m.row;
    else error = m.message;
  });
  child.send(request);
  return new Promise((resolve, reject) => {
    child.on('error', (err) => (error ??= err.message));
    child.on('exit', (code, sig) => {
      signal?.removeEventListener('abort', kill);
      if (row !== undefined && code === 0) resolve(row);
      else reject(new Error(error ?? `the worker process ended (${sig !== null ? `signal ${sig}` : `exit status ${code}`}) before reporting a row`));
    });
  });
}

/** `model 2/15 nafnet: iter 40/300, loss 0.0312, 0.210 s/iter, ETA 00:55 (all 21:40)`. */
function progressLine(i: number, n: number, model: string, p: EntryProgress, etaAll: (modelLeft: number) => number): string {
  const head = `model ${i}/${n} ${model}`;
  if (p.type === 'phase') return `${head}: ${p.phase}`;
  const left = (p.total - p.iteration) * p.secondsPerIter;
  return `${head}: iter ${p.iteration}/${p.total}, loss ${p.loss.toPrecision(4)}, ${p.secondsPerIter.toFixed(3)} s/iter, ETA ${formatDuration(left)} (all ${formatDuration(etaAll(left))})`;
}

/** Runs the leaderboard (see the module comment) and writes its outputs into `o.out`. */
export async function runLeaderboard(o: LeaderboardOptions): Promise<LeaderboardResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const out = path.resolve(o.out);
  const protocolHash = canonicalHash(o.protocol);
  const entries: { entry: Entry; hash: string }[] = [];
  for (const model of o.models) {
    const entry = await buildEntry(o.protocol, model);
    entries.push({ entry, hash: entryHash(entry) });
  }
  fs.mkdirSync(rowsDir(out), { recursive: true });
  const todo = entries.filter((e) => readRow(out, e.hash) === undefined);
  const skipped = entries.filter((e) => !todo.includes(e)).map((e) => e.entry.model);
  if (skipped.length > 0) log(`${skipped.length} of ${entries.length} models already have a row in ${rowsDir(out)}: ${skipped.join(', ')}`);
  const data = dataDir(o.protocol.data, out);
  if (todo.length > 0) await prepareData(o.protocol.data, data, log);

  const ran: string[] = [];
  const failed: Failure[] = [];
  // Seconds per finished model, for the overall ETA.
  const walls: number[] = [];
  let stopped = false;
  for (const [k, { entry, hash }] of todo.entries()) {
    if (o.signal?.aborted) {
      stopped = true;
      break;
    }
    const i = entries.findIndex((e) => e.hash === hash) + 1;
    const started = performance.now();
    const etaAll = (modelLeft: number) => {
      const perModel = walls.length > 0 ? walls.reduce((a, b) => a + b, 0) / walls.length : (performance.now() - started) / 1000 + modelLeft;
      return modelLeft + perModel * (todo.length - k - 1);
    };
    const run: Omit<EntryRun, 'onProgress'> = {
      entry,
      hash,
      protocol: o.protocol.name,
      protocolHash,
      dataDir: data,
      out,
      runDir: path.join('runs', `${entry.model}-${hash.slice(0, 12)}`),
      showcaseFile: showcaseFile(out, hash),
    };
    try {
      const row = await runInChild({ type: 'run', run, imports: o.protocolFile ? [o.protocolFile] : [] }, (p) => log(progressLine(i, entries.length, entry.model, p, etaAll)), o.signal);
      await writeRow(out, row);
      ran.push(entry.model);
      log(`model ${i}/${entries.length} ${entry.model}: PSNR ${row.psnr.toFixed(2)} dB, SSIM ${row.ssim.toFixed(4)} (input ${row.inputPsnr?.toFixed(2) ?? '-'} dB) in ${formatDuration(row.wallSeconds)}`);
    } catch (err) {
      if (o.signal?.aborted) {
        stopped = true;
        log(`model ${i}/${entries.length} ${entry.model}: stopped`);
        break;
      }
      const error = err instanceof Error ? err.message : String(err);
      failed.push({ model: entry.model, error });
      log(`model ${i}/${entries.length} ${entry.model}: FAILED: ${error}`);
    }
    walls.push((performance.now() - started) / 1000);
  }
  const rows = readRows(out, protocolHash);
  const files = await writeOutputs(out, { protocol: o.protocol, protocolHash, machine: thisMachine(), rows, date: new Date() });
  return { rows, ran, skipped, failed, stopped, files };
}
