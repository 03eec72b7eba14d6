// The native fast paths against the tfjs compositions they replace: GELU (erfc form, hand-written
// gradient), ReLU (ReluGrad), eval-mode BatchNorm (per-channel scale and shift), and `chain`,
// which frees intermediates early without changing values or gradients.
// Run on both backends: `node --import tsx --test test/nn-fast-paths.test.ts`, and again with
// SIMDEBLUR_BACKEND=cpu (the fallbacks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { gelu, relu } from '../src/nn/activations.ts';
import { batchNorm } from '../src/nn/norm.ts';
import { chain } from '../src/nn/chain.ts';
import { Rng } from '../src/util/rng.ts';
import { checkGradients } from './helpers/gradcheck.ts';

const rnd = (shape: number[], seed: number, lo = -1, hi = 1): Tensor => tf.tensor(Rng.seeded(seed).uniformArray(shape.reduce((a, b) => a * b, 1), lo, hi), shape);

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    assert.ok(err <= tol * Math.max(1, Math.abs(expected[i]!)), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

// erf to double precision (Abramowitz-Stegun 7.1.26 is too coarse): the series for |x| < 3, the
// continued fraction of erfc beyond.
function erf(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = 0;
    for (let n = 60; n >= 1; n--) f = n / 2 / (a + f);
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  }
  return x < 0 ? -r : r;
}

test('gelu: values and gradient match the exact erf form over a wide range (float64 reference)', () => {
  const xs = Array.from({ length: 161 }, (_, i) => -10 + i * 0.125);
  const x = tf.tensor1d(xs);
  const before = tf.memory().numTensors;
  const dx = tf.grad((t: Tensor) => tf.sum(gelu(t)))(x);
  assert.equal(tf.memory().numTensors, before + 1, 'gelu gradient leaked tensors');
  const y = gelu(x);
  const cdf = (v: number): number => 0.5 * (1 + erf(v / Math.SQRT2));
  const pdf = (v: number): number => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
  assertClose(y.dataSync(), xs.map((v) => v * cdf(v)), 2e-6, 'gelu');
  assertClose(dx.dataSync(), xs.map((v) => cdf(v) + v * pdf(v)), 2e-6, 'gelu grad');
  tf.dispose([x, y, dx]);
});

test('relu: gradient is dy where the output is positive, 0 elsewhere (0 at 0, as PyTorch)', () => {
  const x = tf.tensor1d([-2, -0.5, 0, 0.5, 2]);
  const dy = tf.tensor1d([1, 2, 3, 4, 5]);
  const g = tf.grad((t: Tensor) => tf.sum(tf.mul(relu(t), dy)))(x);
  assert.deepEqual(Array.from(g.dataSync()), [0, 0, 0, 4, 5]);
  assert.deepEqual(Array.from(relu(x).dataSync()), [0, 0, 0, 0.5, 2]);
  tf.dispose([x, dy, g]);
});

function state(c: number, seed: number): { runningMean: Variable; runningVar: Variable } {
  const rng = Rng.seeded(seed);
  return { runningMean: tf.variable(tf.tensor1d(rng.uniformArray(c, -0.5, 0.5)), false), runningVar: tf.variable(tf.tensor1d(rng.uniformArray(c, 0.5, 2)), false) };
}

test('batchNorm eval mode: (x - mean)/sqrt(var + eps)·w + b with the running statistics, ranks 2, 4 and 5', () => {
  for (const shape of [[2, 3, 4, 5], [1, 2, 3, 4, 5], [7, 5]]) {
    const c = shape[shape.length - 1]!;
    const x = rnd(shape, 1, -2, 3);
    const w = rnd([c], 2, 0.5, 1.5);
    const b = rnd([c], 3);
    const s = state(c, 4);
    const y = batchNorm(x, w, b, s, { training: false, eps: 1e-3 });
    const [xd, wd, bd, md, vd] = [x, w, b, s.runningMean, s.runningVar].map((t) => t.dataSync());
    const expected = Array.from(xd!, (v, i) => ((v - md![i % c]!) / Math.sqrt(vd![i % c]! + 1e-3)) * wd![i % c]! + bd![i % c]!);
    assert.deepEqual(y.shape, shape);
    assertClose(y.dataSync(), expected, 1e-5, `eval batchNorm ${JSON.stringify(shape)}`);
    tf.dispose([x, w, b, y, s.runningMean, s.runningVar]);
  }
});

test('batchNorm eval mode: gradients wrt x, weight and bias (finite differences), statistics untouched', () => {
  const x = rnd([2, 3, 2, 3], 7, -1, 2);
  const w = rnd([3], 8, 0.5, 1.5);
  const b = rnd([3], 9);
  const s = state(3, 10);
  const rm = s.runningMean.dataSync().slice();
  checkGradients('eval batchNorm', (a, k, c) => batchNorm(a, k!, c!, s, { training: false, eps: 1e-3 }), [x, w, b], { step: 0.5, tol: 1e-3 });
  assert.deepEqual(s.runningMean.dataSync(), rm);
  tf.dispose([x, w, b, s.runningMean, s.runningVar]);
});

test('chain: frees each intermediate once read, keeps its input and pass-through results', () => {
  const x = tf.tensor1d([1, 2, 3]);
  const seen: Tensor[] = [];
  const keep = (t: Tensor): Tensor => t; // a pass-through step
  const y = chain(
    x,
    (t) => (seen.push(t), tf.mul(t, 2)),
    keep,
    (t) => (seen.push(t), tf.add(t, 1)),
    (t) => (seen.push(t), tf.neg(t)),
  );
  assert.equal(x.isDisposed, false, 'the input is the caller’s');
  assert.equal(seen[0], x);
  assert.equal(seen[1]!.isDisposed, true, 'x·2 is freed once read');
  assert.equal(seen[2]!.isDisposed, true, 'x·2 + 1 is freed once read');
  assert.deepEqual(Array.from(y.dataSync()), [-3, -5, -7]);
  assert.equal(chain(x), x, 'no steps: the input');
  assert.equal(chain(x, keep), x, 'a pass-through of the input is not freed');
  assert.equal(x.isDisposed, false);
  tf.dispose([x, y]);
});

test('chain: gradients through a chain equal those of the nested calls', () => {
  const w = tf.variable(rnd([4, 4], 11), true, 'chain-w');
  const x = rnd([3, 4], 12);
  const steps = [(t: Tensor) => tf.matMul(t, w), (t: Tensor) => relu(t), (t: Tensor) => gelu(t), (t: Tensor) => tf.matMul(t, w)];
  const nested = tf.variableGrads(() => tf.sum(steps.reduce((h, f) => f(h), x)) as Scalar, [w]);
  const before = tf.memory().numTensors;
  const chained = tf.variableGrads(() => tf.sum(chain(x, ...steps)) as Scalar, [w]);
  assert.equal(tf.memory().numTensors, before + 2, 'only the value and the gradient remain');
  assert.deepEqual(Array.from(chained.grads['chain-w']!.dataSync()), Array.from(nested.grads['chain-w']!.dataSync()));
  assert.equal(chained.value.dataSync()[0], nested.value.dataSync()[0]);
  tf.dispose([nested.value, chained.value, ...Object.values(nested.grads), ...Object.values(chained.grads), w, x]);
});
