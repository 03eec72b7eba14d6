// `fit(experiment)`: a whole run of an experiment, as `simdeblur train` does it. It takes the
// work directory's lock (one run at a time), interprets the experiment, writes `experiment.json`,
// trains with the standard hooks (plus the caller's), optionally resumes and handles Ctrl-C,
// always releases everything it made, and returns a summary of the run.
import fs from 'node:fs';
import path from 'node:path';
import { lastValueFrom, tap } from 'rxjs';
import { workDirOf, type Experiment } from '../config/experiment.ts';
import { writeFileAtomicSync } from '../io/atomic.ts';
import { latestCheckpoint, listCheckpoints, readCheckpointState } from './checkpoint.ts';
import type { TrainContext } from './context.ts';
import type { EndEvent } from './events.ts';
import { composeHooks, standardHooks, type Hook, type StandardHookOptions } from './hooks/index.ts';
import { interpret } from './interpret.ts';
import { acquireRunLock, type RunLock } from './run-lock.ts';
import { train } from './train.ts';
import { writesFiles, type Replicas } from './replicas.ts';

/** Options of {@link fit}: where the run goes, resuming, extra hooks and how it may be stopped. */
export interface FitOptions extends StandardHookOptions {
  /** Where checkpoints, logs and experiment.json go (default: the experiment's work directory). */
  readonly workDir?: string;
  /** Continue from the newest checkpoint in `<workDir>/checkpoints` (an error if there is none). */
  readonly resume?: boolean;
  /** Continue from this checkpoint directory. */
  readonly resumeFrom?: string;
  /** Hooks applied after the standard ones, in order. */
  readonly hooks?: readonly Hook[];
  /** Aborting it stops the run gracefully: after the current step, with a checkpoint. */
  readonly signal?: AbortSignal;
  /**
   * Ctrl-C (SIGINT) stops the run gracefully; a second one exits the process with status 130.
   * Default false: a library should not take over the process's signals unasked.
   */
  readonly handleSignals?: boolean;
  /** Resume from a checkpoint holding NaN or ±Infinity (refused by default). */
  readonly allowNonfinite?: boolean;
  /**
   * This process is one replica of a data-parallel run (docs/distributed.md). Replica 0 alone
   * takes the lock, writes experiment.json, checkpoints and logs; the others train in step with
   * it, without console progress or log files.
   */
  readonly replicas?: Replicas;
}

/** What {@link fit} returns: how far the run got, its last metrics and checkpoint, and why it ended. */
export interface FitSummary {
  readonly name: string;
  readonly workDir: string;
  /** Optimisation steps done in the whole run (resumed ones included). */
  readonly iteration: number;
  /** The loss of the last step, when this call took one. */
  readonly loss?: number;
  /** The last validation's metrics, when there was one. */
  readonly psnr?: number;
  readonly ssim?: number;
  /** The last checkpoint written. */
  readonly checkpoint?: string;
  readonly reason: EndEvent['reason'];
  readonly seconds: number;
  /** The loss diverged (a 'divergence' warning was raised). */
  readonly diverged: boolean;
  /** Warnings raised during the run, in order. */
  readonly warnings: readonly string[];
  /** Where a fresh run moved the earlier run's work directory (see `fit`). */
  readonly archived?: string;
}

/** The keys of two values' top level whose values differ. */
function differingKeys(a: unknown, b: unknown): string[] {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return JSON.stringify(a) === JSON.stringify(b) ? [] : [''];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify((a as Record<string, unknown>)[k]) !== JSON.stringify((b as Record<string, unknown>)[k]));
}

/** The checkpoint to resume from, if any; warns when it was made by a different experiment. */
function resumePoint(exp: Experiment, workDir: string, opts: FitOptions): string | undefined {
  let from = opts.resumeFrom;
  if (opts.resume && from === undefined) {
    const dir = path.join(workDir, 'checkpoints');
    from = latestCheckpoint(dir);
    if (from === undefined) throw new Error(`resume: no checkpoint in ${dir}`);
  }
  if (from === undefined) return undefined;
  // A longer (or shorter) run is the usual reason to resume, so `run` may differ silently.
  const diff = differingKeys(readCheckpointState(from).experiment, exp).filter((k) => k !== 'run');
  if (diff.length > 0) process.stderr.write(`warning: resuming ${from}, whose experiment differs in: ${diff.join(', ')}\n`);
  return from;
}

/** `20240131_235959`: local time, as BasicSR stamps archived experiment directories. */
function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/**
 * A fresh run into a work directory that holds checkpoints would mix its checkpoints with the
 * earlier run's (and a later resume would pick whichever is newest), so the directory is renamed
 * to `<workDir>_archived_<time>` first. The rename takes the lock file along; the lock is taken
 * again on the new, empty directory (returned) and the moved copy is removed.
 */
function archiveUsedWorkDir(workDir: string, lock: RunLock): { archived: string; lock: RunLock } | undefined {
  const ckpts = path.join(workDir, 'checkpoints');
  if (listCheckpoints(ckpts).length === 0 && !fs.existsSync(path.join(ckpts, 'best', 'state.json'))) return undefined;
  const base = `${path.resolve(workDir)}_archived_${timestamp()}`;
  let archived = base;
  for (let n = 2; fs.existsSync(archived); n++) archived = `${base}_${n}`;
  fs.renameSync(workDir, archived);
  const fresh = acquireRunLock(workDir);
  fs.rmSync(path.join(archived, path.basename(lock.file)), { force: true });
  process.stderr.write(`${workDir} held an earlier run's checkpoints: moved it to ${archived}\n`);
  return { archived, lock: fresh };
}

/** First SIGINT: abort `stop`; second: exit at once. Returns the function that unhooks it. */
function onInterrupt(stop: AbortController): () => void {
  let interrupts = 0;
  const handler = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nstopping after the current step (Ctrl-C again to quit at once)\n');
    stop.abort();
  };
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

/** Makes `signal` abort `stop` too. Returns the function that unhooks it. */
function follow(signal: AbortSignal | undefined, stop: AbortController): () => void {
  if (!signal) return () => undefined;
  const abort = () => stop.abort();
  if (signal.aborted) abort();
  else signal.addEventListener('abort', abort, { once: true });
  return () => signal.removeEventListener('abort', abort);
}

/** Runs an experiment the way `simdeblur train` does, holding its work directory for the whole run, and resolves to a summary once everything it made is released. */
export async function fit(experiment: Experiment, opts: FitOptions = {}): Promise<FitSummary> {
  const workDir = opts.workDir ?? workDirOf(experiment);
  const { replicas } = opts;
  const writer = writesFiles(replicas);
  // Held until everything below is released, however the run ends (declared first, freed last).
  using _lock = writer ? acquireRunLock(workDir) : undefined;
  const resumeFrom = resumePoint(experiment, workDir, opts);
  const moved = resumeFrom === undefined && _lock ? archiveUsedWorkDir(workDir, _lock) : undefined;
  using _freshLock = moved?.lock;
  await using setup = await interpret(experiment, { workDir, ...(replicas ? { replicas } : {}) });
  if (writer) writeFileAtomicSync(path.join(workDir, 'experiment.json'), `${JSON.stringify(experiment, null, 2)}\n`);
  const hookOptions: StandardHookOptions = writer ? opts : { progress: false, tensorboard: false, jsonl: false };

  const stop = new AbortController();
  const unhook = [follow(opts.signal, stop), opts.handleSignals ? onInterrupt(stop) : () => undefined];
  let ctx: TrainContext | undefined;
  let last: { loss?: number; psnr?: number; ssim?: number; checkpoint?: string } = {};
  let end: EndEvent | undefined;
  const warnings: string[] = [];
  let diverged = false;
  try {
    await lastValueFrom(
      train(setup, { signal: stop.signal, ...(resumeFrom ? { resumeFrom } : {}), ...(opts.allowNonfinite ? { allowNonfinite: true } : {}) }).pipe(
        tap((ev) => (ctx ??= ev.ctx)),
        standardHooks(experiment, hookOptions),
        tap((ev) => {
          if (ev.type === 'step') last = { ...last, loss: ev.loss };
          if (ev.type === 'validation') last = { ...last, psnr: ev.psnr, ssim: ev.ssim };
          if (ev.type === 'checkpoint') last = { ...last, checkpoint: ev.path };
          if (ev.type === 'warning') {
            warnings.push(ev.message);
            diverged ||= ev.kind === 'divergence';
          }
          if (ev.type === 'end') end = ev;
        }),
        composeHooks(opts.hooks ?? []),
      ),
    );
  } finally {
    for (const f of unhook) f();
    // The loop may still be finishing a step when a hook failed: the setup is released after it.
    await ctx?.done;
  }
  if (!end) throw new Error('the run finished without an end event');
  const { loss, psnr, ssim, checkpoint } = last;
  return {
    name: experiment.name,
    workDir,
    iteration: end.iteration,
    ...(loss !== undefined ? { loss } : {}),
    ...(psnr !== undefined ? { psnr, ssim: ssim! } : {}),
    ...(checkpoint !== undefined ? { checkpoint } : {}),
    reason: end.reason,
    seconds: end.seconds,
    diverged,
    warnings,
    ...(moved ? { archived: moved.archived } : {}),
  };
}
