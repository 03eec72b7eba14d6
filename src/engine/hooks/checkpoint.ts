// Checkpointing as a hook: every `every` units (and at the end of the run), keeping the newest
// `keepLast`; with `keepBest`, `checkpoints/best` follows the highest validation PSNR.
import type { CheckpointEvent } from '../events.ts';
import { asyncHook, due, perRun, positiveInt, unitsDone, type Hook } from './operators.ts';

/** Options of the `checkpoints` hook. */
export interface CheckpointHookOptions {
  /** Period in the run's unit: epochs, or iterations for an iteration-based run. */
  readonly every: number;
  /** How many periodic checkpoints to keep (default 3). */
  readonly keepLast?: number;
  /** Keep `checkpoints/best`, the weights of the highest validation PSNR (default true). */
  readonly keepBest?: boolean;
}

/**
 * A hook that writes a checkpoint every `every` epochs (or iterations) and at the end of a completed
 * run, keeping the newest `keepLast`, and with `keepBest` saves `checkpoints/best` at each new best
 * validation PSNR; emits a `checkpoint` event for each.
 */
export function checkpoints(opts: CheckpointHookOptions): Hook {
  const every = positiveInt('checkpoints', 'every', opts.every);
  const keepLast = positiveInt('checkpoints', 'keepLast', opts.keepLast ?? 3);
  const keepBest = opts.keepBest ?? true;
  return perRun(() => {
    // A run that ends on a periodic checkpoint is not saved twice.
    let lastSavedAt = -1;
    return asyncHook((ev) => {
      const { ctx } = ev;
      const made = (path: string, reason: CheckpointEvent['reason']): CheckpointEvent => ({ type: 'checkpoint', ctx, epoch: ev.epoch, iteration: ev.iteration, path, reason });
      const n = unitsDone(ev);
      if (n !== undefined && due(n, every, ctx.setup.run.length) && lastSavedAt !== ctx.iteration) {
        lastSavedAt = ctx.iteration;
        return ctx.saveCheckpoint().then((path) => (ctx.prune(keepLast), [made(path, 'periodic')]));
      }
      if (ev.type === 'validation' && keepBest && Number.isFinite(ev.psnr) && (ctx.bestPsnr === null || ev.psnr > ctx.bestPsnr)) {
        ctx.bestPsnr = ev.psnr;
        return ctx.saveCheckpoint('best').then((path) => [made(path, 'best')]);
      }
      if (ev.type === 'end' && ev.reason === 'completed' && lastSavedAt !== ctx.iteration) {
        lastSavedAt = ctx.iteration;
        return ctx.saveCheckpoint().then((path) => (ctx.prune(keepLast), [made(path, 'final')]));
      }
      return undefined;
    });
  });
}
