// Validation as a hook: after every `every` units (epochs or iterations) and after the last
// one, evaluate on the validation set and emit a 'validation' event.
import type { ValidationEvent } from '../events.ts';
import { asyncHook, due, positiveInt, unitsDone, type Hook } from './operators.ts';

/** Options of the `validate` hook. */
export interface ValidateOptions {
  /** Period in the run's unit: epochs, or iterations for an iteration-based run. */
  readonly every: number;
  /** How many side-by-side images each validation event carries (default 0). */
  readonly saveImages?: number;
}

/**
 * A hook that evaluates the model on the validation dataset every `every` epochs (or iterations) and
 * after the last one, and emits a `validation` event; does nothing without `data.val`.
 */
export function validate(opts: ValidateOptions): Hook {
  const every = positiveInt('validate', 'every', opts.every);
  const saveImages = opts.saveImages ?? 0;
  if (!Number.isInteger(saveImages) || saveImages < 0) throw new Error(`validate: saveImages must be a non-negative integer, got ${saveImages}`);
  return asyncHook((ev) => {
    const { setup } = ev.ctx;
    const n = unitsDone(ev);
    if (n === undefined || !setup.val) return undefined;
    if (!due(n, every, setup.run.length)) return undefined;
    return (async () => {
      const t0 = Date.now();
      const r = await ev.ctx.validate({ saveImages });
      const out: ValidationEvent = {
        type: 'validation',
        ctx: ev.ctx,
        epoch: ev.epoch,
        iteration: ev.iteration,
        psnr: r.psnr,
        ssim: r.ssim,
        inputPsnr: r.inputPsnr,
        perVideo: r.perVideo,
        seconds: (Date.now() - t0) / 1000,
        images: r.images,
      };
      return [out];
    })();
  });
}
