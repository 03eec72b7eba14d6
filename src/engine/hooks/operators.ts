// Building blocks for hooks. A hook is an OperatorFunction<TrainEvent, TrainEvent>; one that
// does asynchronous work registers it with the run (`ctx.wait`) so the loop waits for it.
import { concatMap, defer, from, mergeMap, type OperatorFunction } from 'rxjs';
import type { TrainEvent } from '../events.ts';

/**
 * A hook: an RxJS operator over the stream of training events, which may observe events, act on the
 * run through `ctx`, or add events of its own.
 */
export type Hook = OperatorFunction<TrainEvent, TrainEvent>;

/**
 * A hook whose state lives in one subscription: `make` runs at each subscription, so one hook
 * value can serve several runs (or be resubscribed) without sharing counters or open files.
 */
export function perRun(make: () => Hook): Hook {
  return (source) => defer(() => source.pipe(make()));
}

/** A hook whose work on an event is asynchronous and may add events after it. */
export function asyncHook(work: (ev: TrainEvent) => Promise<readonly TrainEvent[]> | undefined): Hook {
  return concatMap((ev) => {
    const p = work(ev);
    if (!p) return [ev];
    ev.ctx.wait(p);
    return from(p.then((extra) => [ev, ...extra])).pipe(mergeMap((xs) => xs));
  });
}

/** Hooks applied in order (`pipe` over a list of any length). */
export function composeHooks(hooks: readonly Hook[]): Hook {
  return (source) => hooks.reduce((events, hook) => hook(events), source);
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

/** Checks a hook setting that must be a positive integer (a period or a count). */
export function positiveInt(hook: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${hook}: ${name} must be a positive integer, got ${value}`);
  return value;
}
