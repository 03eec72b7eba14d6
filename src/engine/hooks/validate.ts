// Validation as a hook: after every `validation.every` units (epochs or iterations) and after
// the last one, evaluate on the validation set and emit a 'validation' event.
import type { OperatorFunction } from 'rxjs';
import type { TrainEvent, ValidationEvent } from '../events.ts';
import { asyncHook, due, unitsDone } from './operators.ts';

export function validate(opts: { every?: number } = {}): OperatorFunction<TrainEvent, TrainEvent> {
  return asyncHook((ev) => {
    const { setup } = ev.ctx;
    const n = unitsDone(ev);
    if (n === undefined || !setup.val) return undefined;
    if (!due(n, opts.every ?? setup.validation.every, setup.run.length)) return undefined;
    return (async () => {
      const t0 = Date.now();
      const r = await ev.ctx.validate();
      const out: ValidationEvent = {
        type: 'validation',
        ctx: ev.ctx,
        epoch: ev.epoch,
        iteration: ev.iteration,
        psnr: r.psnr,
        ssim: r.ssim,
        perVideo: r.perVideo,
        seconds: (Date.now() - t0) / 1000,
        images: r.images,
      };
      return [out];
    })();
  });
}
