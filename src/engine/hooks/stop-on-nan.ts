// Stops a run whose loss stops being finite. The engine never applies a non-finite update, and
// when a step leaves the weights, buffers or optimiser state non-finite anyway (a huge finite
// update, BatchNorm statistics of an overflowing forward), it puts back the last finite state.
// So the run stops cleanly: it checkpoints finite weights, ends, and then the stream errors with
// a message saying where the loss diverged and which iteration's weights were kept.
import { concatMap, of, throwError, concat } from 'rxjs';
import { listNames } from '../../util/finite.ts';
import { perRun, type Hook } from './operators.ts';

/** A hook that stops the run after a step with a non-finite loss or state, then fails it naming where and which weights were kept. */
export function stopOnNaN(): Hook {
  return perRun(() => {
    let failure: string | undefined;
    let lastCheckpoint: { path: string; iteration: number } | undefined;
    return concatMap((ev) => {
      if (ev.type === 'checkpoint') lastCheckpoint = { path: ev.path, iteration: ev.iteration };
      if (ev.type === 'step' && failure === undefined) {
        const parts: string[] = [];
        if (!Number.isFinite(ev.loss)) {
          const terms = Object.entries(ev.terms).map(([k, v]) => `${k}=${v}`).join(', ');
          parts.push(`loss is ${ev.loss} at epoch ${ev.epoch + 1}, iteration ${ev.iteration} (${terms}); the update was not applied`);
        }
        if (ev.nonFiniteState && ev.nonFiniteState.length > 0) {
          parts.push(`${parts.length > 0 ? 'the state' : `the training state at epoch ${ev.epoch + 1}, iteration ${ev.iteration}`} held non-finite values (${listNames(ev.nonFiniteState, 4)})`);
        }
        if (parts.length > 0) {
          failure = parts.join('; ');
          ev.ctx.requestStop();
        }
      }
      if (ev.type === 'end' && failure !== undefined) {
        const kept = lastCheckpoint ? `stopped with the last finite weights from iteration ${lastCheckpoint.iteration} in ${lastCheckpoint.path}` : 'stopped; no finite weights were saved';
        return concat(of(ev), throwError(() => new Error(`${failure}; ${kept}`)));
      }
      return of(ev);
    });
  });
}
