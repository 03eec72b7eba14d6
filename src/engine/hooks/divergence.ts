// Warns (once per run) when the loss diverges without becoming NaN: a smoothed loss (an EMA of
// the finite step losses) grown `factor` times above the lowest it has been. A run like that
// otherwise ends "completed" with nothing to show for it.
import { concatMap, of } from 'rxjs';
import type { WarningEvent } from '../events.ts';
import { perRun, type Hook } from './operators.ts';

/** Settings of the `divergence` hook. */
export interface DivergenceOptions {
  /** How far above its lowest value the smoothed loss may climb (default 100). */
  readonly factor?: number;
  /** Weight of the previous smoothed value in the EMA (default 0.9). */
  readonly decay?: number;
}

/** A hook that emits one `warning` event when the smoothed step loss climbs `factor` times above its lowest value. */
export function divergence(opts: DivergenceOptions = {}): Hook {
  const factor = opts.factor ?? 100;
  const decay = opts.decay ?? 0.9;
  if (!(factor > 1)) throw new Error(`divergence: factor must be greater than 1, got ${factor}`);
  if (!(decay >= 0 && decay < 1)) throw new Error(`divergence: decay must be in [0, 1), got ${decay}`);
  return perRun(() => {
    let smooth: number | undefined;
    let lowest = Infinity;
    let warned = false;
    return concatMap((ev) => {
      if (ev.type !== 'step' || !Number.isFinite(ev.loss) || warned) return of(ev);
      smooth = smooth === undefined ? ev.loss : decay * smooth + (1 - decay) * ev.loss;
      lowest = Math.min(lowest, smooth);
      if (!(lowest > 0 && smooth > factor * lowest)) return of(ev);
      warned = true;
      const warning: WarningEvent = {
        type: 'warning',
        ctx: ev.ctx,
        epoch: ev.epoch,
        iteration: ev.iteration,
        kind: 'divergence',
        message: `the loss is diverging: its smoothed value is ${smooth.toPrecision(3)} at iteration ${ev.iteration}, ${(smooth / lowest).toPrecision(3)}x its lowest (${lowest.toPrecision(3)}); the learning rate may be too high`,
      };
      return of(ev, warning);
    });
  });
}
