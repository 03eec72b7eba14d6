// Stops a run whose loss stops being finite. The engine never applies a non-finite update, so
// the run stops cleanly: it checkpoints the last good weights, ends, and then the stream errors
// with a message saying where the loss diverged.
import { concatMap, of, throwError, concat } from 'rxjs';
import { perRun, type Hook } from './operators.ts';

/**
 * A hook that stops the run at the first non-finite loss; the run checkpoints its last good weights
 * and ends, then the event stream errors saying where the loss diverged.
 */
export function stopOnNaN(): Hook {
  return perRun(() => {
    let failure: string | undefined;
    let lastCheckpoint: string | undefined;
    return concatMap((ev) => {
      if (ev.type === 'checkpoint') lastCheckpoint = ev.path;
      if (ev.type === 'step' && !Number.isFinite(ev.loss) && failure === undefined) {
        const terms = Object.entries(ev.terms).map(([k, v]) => `${k}=${v}`).join(', ');
        failure = `loss is ${ev.loss} at epoch ${ev.epoch + 1}, iteration ${ev.iteration} (${terms}); the update was not applied`;
        ev.ctx.requestStop();
      }
      if (ev.type === 'end' && failure !== undefined) {
        const message = `${failure}; stopped with the last good weights in ${lastCheckpoint ?? '(no checkpoint)'}`;
        return concat(of(ev), throwError(() => new Error(message)));
      }
      return of(ev);
    });
  });
}
