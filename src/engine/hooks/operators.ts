// Building blocks for hooks. A hook is an OperatorFunction<TrainEvent, TrainEvent>; one that
// does asynchronous work registers it with the run (`ctx.wait`) so the loop waits for it.
import { concatMap, from, mergeMap, Observable, type OperatorFunction } from 'rxjs';
import type { TrainEvent } from '../events.ts';

/** A hook whose work on an event is asynchronous and may add events after it. */
export function asyncHook(work: (ev: TrainEvent) => Promise<readonly TrainEvent[]> | undefined): OperatorFunction<TrainEvent, TrainEvent> {
  return concatMap((ev) => {
    const p = work(ev);
    if (!p) return [ev];
    ev.ctx.wait(p);
    return from(p.then((extra) => [ev, ...extra])).pipe(mergeMap((xs) => xs));
  });
}

/** A hook with a side effect per event and a final action when the stream ends, errs or is dropped. */
export function sideEffect(each: (ev: TrainEvent) => void, finalize: () => void = () => undefined): OperatorFunction<TrainEvent, TrainEvent> {
  return (source) =>
    new Observable<TrainEvent>((sub) => {
      const inner = source.subscribe({
        next(ev) {
          try {
            each(ev);
          } catch (err) {
            sub.error(err);
            return;
          }
          sub.next(ev);
        },
        error: (err) => sub.error(err),
        complete: () => sub.complete(),
      });
      return () => {
        inner.unsubscribe();
        finalize();
      };
    });
}

/** True when `n` (1-based count of units done) is a multiple of `every`, or the last unit. */
export function due(n: number, every: number, last: number): boolean {
  return n > 0 && (n % every === 0 || n === last);
}

/** Position of an event in the run's own unit (epochs or iterations), counting units done. */
export function unitsDone(ev: TrainEvent): number | undefined {
  const unit = ev.ctx.setup.run.unit;
  if (unit === 'epoch') return ev.type === 'epoch' ? ev.epoch + 1 : undefined;
  return ev.type === 'step' ? ev.iteration : undefined;
}
