// Checkpointing as a hook: every `checkpoint.every` units (and at the end of the run), keeping
// the newest `keepLast`; with `keepBest`, `checkpoints/best` follows the highest validation PSNR.
import type { OperatorFunction } from 'rxjs';
import type { CheckpointEvent, TrainEvent } from '../events.ts';
import { asyncHook, due, unitsDone } from './operators.ts';

export interface CheckpointHookOptions {
  readonly every?: number;
  readonly keepLast?: number;
  readonly keepBest?: boolean;
}

export function checkpoints(opts: CheckpointHookOptions = {}): OperatorFunction<TrainEvent, TrainEvent> {
  let lastSavedAt = -1;
  return asyncHook((ev) => {
    const { ctx } = ev;
    const cfg = { ...ctx.setup.checkpoint, ...opts };
    const made = (path: string, reason: CheckpointEvent['reason']): CheckpointEvent => ({ type: 'checkpoint', ctx, epoch: ev.epoch, iteration: ev.iteration, path, reason });
    const n = unitsDone(ev);
    if (n !== undefined && due(n, cfg.every, ctx.setup.run.length) && lastSavedAt !== ctx.iteration) {
      lastSavedAt = ctx.iteration;
      return ctx.saveCheckpoint().then((path) => (ctx.prune(cfg.keepLast), [made(path, 'periodic')]));
    }
    if (ev.type === 'validation' && cfg.keepBest && Number.isFinite(ev.psnr) && (ctx.bestPsnr === null || ev.psnr > ctx.bestPsnr)) {
      ctx.bestPsnr = ev.psnr;
      return ctx.saveCheckpoint('best').then((path) => [made(path, 'best')]);
    }
    if (ev.type === 'end' && ev.reason === 'completed' && lastSavedAt !== ctx.iteration) {
      lastSavedAt = ctx.iteration;
      return ctx.saveCheckpoint().then((path) => (ctx.prune(cfg.keepLast), [made(path, 'final')]));
    }
    return undefined;
  });
}
