// Finite-difference gradient checks: central differences of Σ f(xs)·r (r a fixed random
// direction, accumulated in float64) against tf.grads, on every element of each input or on
// `samples` of them chosen with a fixed seed.
import assert from 'node:assert/strict';
import { tf } from '../../src/runtime/index.ts';
import type { Tensor } from '../../src/runtime/index.ts';
import { Rng } from '../../src/util/rng.ts';

export interface GradCheckOptions {
  /** Finite-difference step. */
  readonly step: number;
  /** Largest relative error |numeric − analytic| / max(1, |numeric|, |analytic|). */
  readonly tol: number;
  /** Elements checked per input (all when fewer, or when not given). */
  readonly samples?: number;
}

export function checkGradients(name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], o: GradCheckOptions): void {
  const outShape = tf.tidy(() => f(...inputs).shape);
  const rData = Rng.seeded(99).uniformArray(outShape.reduce((a, b) => a * b, 1), -1, 1);
  const r = tf.tensor(rData, outShape);
  const loss = (xs: Tensor[]): number => {
    const y = tf.tidy(() => f(...xs));
    const d = y.dataSync();
    y.dispose();
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i]! * rData[i]!;
    return s;
  };
  const before = tf.memory().numTensors;
  const grads = tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(f(...xs), r)))(inputs);
  const gData = grads.map((g) => g.dataSync());
  tf.dispose(grads);
  assert.equal(tf.memory().numTensors, before, `${name}: gradient computation leaked tensors`);
  const rng = Rng.seeded(7);
  inputs.forEach((x, k) => {
    const base = x.dataSync();
    const n = base.length;
    const idx = o.samples === undefined || n <= o.samples ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: o.samples }, () => rng.int(n));
    for (const i of idx) {
      const at = (delta: number): number => {
        const d = Float32Array.from(base);
        d[i] = d[i]! + delta;
        const xs = inputs.map((t, j) => (j === k ? tf.tensor(d, t.shape) : t));
        const v = loss(xs);
        xs[k]!.dispose();
        return v;
      };
      const numeric = (at(o.step) - at(-o.step)) / (2 * o.step);
      const analytic = gData[k]![i]!;
      const err = Math.abs(numeric - analytic) / Math.max(1, Math.abs(numeric), Math.abs(analytic));
      assert.ok(err <= o.tol, `${name}: d/d input${k}[${i}] analytic ${analytic} vs numeric ${numeric}`);
    }
  });
  r.dispose();
}
