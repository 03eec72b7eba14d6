// Exponential moving average of weights (ema ← decay·ema + (1 − decay)·p), used for
// validation with the averaged weights swapped in.
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import type { OptimizerState } from './types.ts';

/** Options of `ema`: the decay of the moving average, in [0, 1]. */
export interface EmaOptions {
  /** Default 0.999. */
  readonly decay?: number;
}

/**
 * An exponential moving average of model parameters, updated after optimiser steps, that can be
 * swapped into the parameters for evaluation and saved with checkpoints.
 */
export interface Ema {
  readonly decay: number;
  /** Number of `update` calls (restored by `loadState`). */
  readonly updates: number;
  /** True while the averaged weights are swapped into the parameters. */
  readonly swapped: boolean;
  /** Fold the current parameter values into the average. Throws while swapped. */
  update(): void;
  /** Exchange parameter values and averages (in place, no copies kept); call again to undo. */
  swap(): void;
  /** Run `fn` with the averaged weights in the parameters, restoring them afterwards (also for a Promise). */
  withAveraged<T>(fn: () => T): T;
  /** Copies of the averaged weights by parameter name, owned by the caller. */
  averages(): Record<string, Tensor>;
  /** Averaged weights keyed by parameter name (a loadable weights file), and `{ decay, updates }` (decay informational). */
  state(): OptimizerState;
  /** Replace the averages with copies of `s.tensors`: keys and shapes must match the parameters. */
  loadState(s: OptimizerState): void;
  /**
   * Frees the averages (swapping the live weights back first if swapped); the EMA cannot be used
   * afterwards.
   */
  dispose(): void;
}

const fmt = (shape: readonly number[]): string => `[${shape.join(',')}]`;

/** An EMA over `params` (kept by reference), initialised to their current values. */
export function ema(params: Readonly<Record<string, Variable>>, options: EmaOptions = {}): Ema {
  const decay = options.decay ?? 0.999;
  if (!(decay >= 0 && decay <= 1)) throw new Error(`ema: decay must be in [0, 1], got ${decay}`);
  const names = Object.keys(params);
  const shadow = new Map<string, Variable>();
  // A variable made from a tensor shares its buffer; `assign` later swaps buffers, never writes in place.
  for (const name of names) shadow.set(name, tf.variable(params[name]!, false));
  let updates = 0;
  let swapped = false;
  let disposed = false;

  const live = (): void => {
    if (disposed) throw new Error('ema: used after dispose()');
  };
  const swap = (): void => {
    live();
    tf.tidy(() => {
      for (const name of names) {
        const p = params[name]!;
        const s = shadow.get(name)!;
        const held = tf.clone(p);
        p.assign(s);
        s.assign(held);
      }
    });
    swapped = !swapped;
  };

  const averages = (): Record<string, Tensor> => {
    live();
    const out: Record<string, Tensor> = {};
    for (const name of names) out[name] = tf.clone(swapped ? params[name]! : shadow.get(name)!);
    return out;
  };

  return {
    decay,
    get updates() {
      return updates;
    },
    get swapped() {
      return swapped;
    },
    update() {
      live();
      if (swapped) throw new Error('ema: update() while the averaged weights are swapped in; call swap() first');
      tf.tidy(() => {
        for (const name of names) {
          const s = shadow.get(name)!;
          s.assign(tf.add(tf.mul(s, decay), tf.mul(params[name]!, 1 - decay)));
        }
      });
      updates++;
    },
    swap,
    withAveraged<T>(fn: () => T): T {
      if (swapped) throw new Error('ema: withAveraged() while already swapped');
      swap();
      let result: T;
      try {
        result = fn();
      } catch (err) {
        swap();
        throw err;
      }
      if (result instanceof Promise) {
        return result.finally(swap) as T;
      }
      swap();
      return result;
    },
    averages,
    state() {
      return { tensors: averages(), meta: { decay, updates } };
    },
    loadState(s) {
      live();
      if (swapped) throw new Error('ema: loadState() while the averaged weights are swapped in');
      for (const key of Object.keys(s.tensors)) {
        if (!shadow.has(key)) throw new Error(`ema: unexpected state tensor '${key}' (no such parameter)`);
      }
      for (const name of names) {
        if (s.tensors[name] === undefined) throw new Error(`ema: state tensor '${name}' is missing`);
      }
      for (const name of names) {
        const t = s.tensors[name]!;
        const p = params[name]!;
        if (t.dtype !== p.dtype) throw new Error(`ema: state tensor '${name}' has dtype ${t.dtype}, expected ${p.dtype}`);
        if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
          throw new Error(`ema: state tensor '${name}' has shape ${fmt(t.shape)} but the parameter has shape ${fmt(p.shape)}`);
        }
      }
      for (const key of Object.keys(s.meta)) {
        if (key !== 'decay' && key !== 'updates') throw new Error(`ema: unexpected state metadata '${key}'`);
      }
      const n = s.meta.updates;
      if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw new Error(`ema: state metadata 'updates' must be a non-negative integer, got ${n}`);
      for (const name of names) shadow.get(name)!.assign(s.tensors[name]!);
      updates = n ?? 0;
    },
    dispose() {
      if (disposed) return;
      if (swapped) swap();
      for (const v of shadow.values()) v.dispose();
      shadow.clear();
      disposed = true;
    },
  };
}
