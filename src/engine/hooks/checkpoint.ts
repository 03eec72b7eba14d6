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
    // The iteration whose validation `best` already reflects, and its 'best' event, held back
    // until that validation's own event has passed (so events keep their order).
    let judgedAt = -1;
    let heldBest: CheckpointEvent | undefined;
    return asyncHook((ev) => {
      const { ctx } = ev;
      // Only a finite state is ever saved; without one (a non-finite state loaded on purpose) the run is stopping.
      if (ctx.finiteIteration === undefined) return undefined;
      const made = (path: string, reason: CheckpointEvent['reason']): CheckpointEvent => ({ type: 'checkpoint', ctx, epoch: ev.epoch, iteration: ev.iteration, path, reason });
      const judge = async (psnr: number): Promise<CheckpointEvent | undefined> => {
        judgedAt = ctx.iteration;
        if (!keepBest || !Number.isFinite(psnr) || (ctx.bestPsnr !== null && psnr <= ctx.bestPsnr)) return undefined;
        ctx.bestPsnr = psnr;
        return made(await ctx.saveCheckpoint('best'), 'best');
      };
      const n = unitsDone(ev);
      if (n !== undefined && due(n, every, ctx.setup.run.length) && lastSavedAt !== ctx.iteration) {
        lastSavedAt = ctx.iteration;
        return (async () => {
          // A validation of this same position (made upstream, its event still to come) is
          // judged first, so that this checkpoint records its outcome and `best` is on disk
          // before it: a run resumed from here then has the same best as one never interrupted.
          const v = ctx.lastValidation;
          if (v !== undefined && v.iteration === ctx.iteration && judgedAt !== ctx.iteration) heldBest = await judge(v.psnr);
          const path = await ctx.saveCheckpoint();
          ctx.prune(keepLast);
          return [made(path, 'periodic')];
        })();
      }
      if (ev.type === 'validation') {
        if (judgedAt === ctx.iteration) {
          const held = heldBest;
          heldBest = undefined;
          return held ? Promise.resolve([held]) : undefined;
        }
        return judge(ev.psnr).then((best) => (best ? [best] : []));
      }
      if (ev.type === 'end' && ev.reason === 'completed' && lastSavedAt !== ctx.iteration) {
        lastSavedAt = ctx.iteration;
        return ctx.saveCheckpoint().then((path) => (ctx.prune(keepLast), [made(path, 'final')]));
      }
      return undefined;
    });
  });
}
