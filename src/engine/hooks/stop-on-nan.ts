// Stops a run whose loss stops being finite. The engine never applies a non-finite update, so
// the run stops cleanly: it checkpoints the last good weights, ends, and then the stream errors
// with a message saying where the loss diverged.
import { Observable, type OperatorFunction } from 'rxjs';
import type { TrainEvent } from '../events.ts';

export function stopOnNaN(): OperatorFunction<TrainEvent, TrainEvent> {
  return (source) =>
    new Observable<TrainEvent>((sub) => {
      let failure: Error | undefined;
      let lastCheckpoint: string | undefined;
      const inner = source.subscribe({
        next(ev) {
          if (ev.type === 'checkpoint') lastCheckpoint = ev.path;
          if (ev.type === 'step' && !Number.isFinite(ev.loss) && !failure) {
            const terms = Object.entries(ev.terms).map(([k, v]) => `${k}=${v}`).join(', ');
            failure = new Error(`loss is ${ev.loss} at epoch ${ev.epoch + 1}, iteration ${ev.iteration} (${terms}); the update was not applied`);
            ev.ctx.requestStop();
          }
          sub.next(ev);
          if (ev.type === 'end' && failure) {
            sub.error(new Error(`${failure.message}; stopped with the last good weights in ${lastCheckpoint ?? '(no checkpoint)'}`));
          }
        },
        error: (err) => sub.error(err),
        complete: () => sub.complete(),
      });
      return () => inner.unsubscribe();
    });
}
