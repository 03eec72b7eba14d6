import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import { costVolume, liteFlowNetCorrelation, pwcCorrelation, subsample } from '../src/nn/ops/correlation.ts';
import { Rng } from '../src/util/rng.ts';
import { checkGradients } from './helpers/gradcheck.ts';

const rnd = (shape: number[], seed: number): Tensor => tf.tensor(Rng.seeded(seed).uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);

/** The formula, looped, in float64: [B, ceil(H/s), ceil(W/s), (2r+1)²]. */
function naiveCorrelation(f1: Tensor, f2: Tensor, r: number, s: number): Float64Array {
  const [b, h, w, c] = f1.shape as [number, number, number, number];
  const a = f1.dataSync();
  const z = f2.dataSync();
  const ho = Math.ceil(h / s);
  const wo = Math.ceil(w / s);
  const k = 2 * r + 1;
  const out = new Float64Array(b * ho * wo * k * k);
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < ho; y++) {
      for (let x = 0; x < wo; x++) {
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            const y2 = y * s + dy * s;
            const x2 = x * s + dx * s;
            let sum = 0;
            if (y2 >= 0 && y2 < h && x2 >= 0 && x2 < w) {
              for (let ch = 0; ch < c; ch++) sum += a[((n * h + y * s) * w + x * s) * c + ch]! * z[((n * h + y2) * w + x2) * c + ch]!;
            }
            out[((n * ho + y) * wo + x) * k * k + (dy + r) * k + (dx + r)] = sum / c;
          }
        }
      }
    }
  }
  return out;
}

function assertClose(t: Tensor, ref: Float64Array, tol: number, what: string): void {
  const d = t.dataSync();
  assert.equal(d.length, ref.length, `${what}: size`);
  let worst = 0;
  for (let i = 0; i < d.length; i++) worst = Math.max(worst, Math.abs(d[i]! - ref[i]!));
  assert.ok(worst <= tol, `${what}: max abs error ${worst}`);
}

test('correlation: hand-computed 81-channel volume of a single pixel pair', () => {
  // 1×3×3×2 features; f1 is nonzero at the centre only, so only displacements within ±1 hit f2.
  const f1 = tf.tensor([0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 0, 0, 0, 0, 0, 0, 0, 0], [1, 3, 3, 2]);
  const f2 = tf.tensor(Array.from({ length: 18 }, (_, i) => i), [1, 3, 3, 2]);
  const out = pwcCorrelation(f1, f2);
  assert.deepEqual(out.shape, [1, 3, 3, 81]);
  const centre = Array.from(out.dataSync().slice(4 * 81, 5 * 81));
  // Displacement (dy, dx) = (-1, 1) reads f2[0, 2] = [4, 5]: (2·4 + 4·5)/2 = 14 at channel 3·9 + 5.
  assert.equal(centre[3 * 9 + 5], 14);
  // (0, 0): f2[1, 1] = [8, 9] → (16 + 36)/2 = 26.
  assert.equal(centre[4 * 9 + 4], 26);
  // (2, 0) is outside the 3×3 image: zero.
  assert.equal(centre[6 * 9 + 4], 0);
  tf.dispose([f1, f2, out]);
});

test('costVolume / pwcCorrelation / liteFlowNetCorrelation match a naive loop', () => {
  const f1 = rnd([2, 6, 7, 5], 1);
  const f2 = rnd([2, 6, 7, 5], 2);
  const before = tf.memory().numTensors;
  for (const [name, run, r, s, shape] of [
    ['pwc', () => pwcCorrelation(f1, f2), 4, 1, [2, 6, 7, 81]],
    ['r=1', () => costVolume(f1, f2, 1), 1, 1, [2, 6, 7, 9]],
    ['r=0', () => costVolume(f1, f2, 0), 0, 1, [2, 6, 7, 1]],
    ['lfn s1', () => liteFlowNetCorrelation(f1, f2, 1), 3, 1, [2, 6, 7, 49]],
    ['lfn s2', () => liteFlowNetCorrelation(f1, f2, 2), 3, 2, [2, 3, 4, 49]],
    ['lfn s3', () => liteFlowNetCorrelation(f1, f2, 3), 3, 3, [2, 2, 3, 49]],
  ] as const) {
    const y = run();
    assert.deepEqual(y.shape, shape, name);
    assertClose(y, naiveCorrelation(f1, f2, r, s), 1e-6, name);
    y.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([f1, f2]);
});

test('correlation: a displacement larger than the image, and clear errors', () => {
  const f1 = rnd([1, 2, 3, 4], 3);
  const f2 = rnd([1, 2, 3, 4], 4);
  const y = pwcCorrelation(f1, f2);
  assertClose(y, naiveCorrelation(f1, f2, 4, 1), 1e-6, '2×3 image, r=4');
  const bad = rnd([1, 2, 4, 4], 5);
  assert.throws(() => pwcCorrelation(f1, bad), /shapes differ/);
  assert.throws(() => costVolume(f1, f2, -1), /non-negative integer/);
  assert.throws(() => liteFlowNetCorrelation(f1, f2, 0), /positive integer/);
  tf.dispose([f1, f2, y, bad]);
});

test('subsample takes every s-th row and column', () => {
  const x = tf.tensor(Array.from({ length: 5 * 4 }, (_, i) => i), [1, 5, 4, 1]);
  const y = subsample(x, 2);
  assert.deepEqual(y.shape, [1, 3, 2, 1]);
  assert.deepEqual(Array.from(y.dataSync()), [0, 2, 8, 10, 16, 18]);
  tf.dispose([x, y]);
});

/** Central differences of sum(f(xs)·r) against tf.grads; the ops are bilinear, so a large step is exact. */
function gradCheck(name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], samples: number): void {
  checkGradients(name, f, inputs, { step: 0.5, tol: 1e-4, samples });
}

test('correlation gradients wrt both inputs (finite differences)', () => {
  const f1 = rnd([2, 5, 6, 3], 11);
  const f2 = rnd([2, 5, 6, 3], 12);
  gradCheck('pwc', (a, b) => pwcCorrelation(a, b!), [f1, f2], 30);
  gradCheck('r=1', (a, b) => costVolume(a, b!, 1), [f1, f2], 20);
  gradCheck('lfn s2', (a, b) => liteFlowNetCorrelation(a, b!, 2), [f1, f2], 30);
  // The same input on both sides (the gradients add up).
  gradCheck('self', (a) => pwcCorrelation(a, a), [f1], 20);
  tf.dispose([f1, f2]);
});

test('correlation leaves no tensors behind in a training-style call', () => {
  const f1 = tf.variable(rnd([1, 8, 8, 4], 21));
  const f2 = tf.variable(rnd([1, 8, 8, 4], 22));
  const step = (): void => {
    const { value, grads } = tf.variableGrads(() => tf.leakyRelu(pwcCorrelation(f1, f2), 0.1).square().mean() as Scalar);
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const before = tf.memory().numTensors;
  step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([f1, f2]);
});
