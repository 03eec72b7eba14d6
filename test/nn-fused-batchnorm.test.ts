// Training-mode BatchNorm (one fused TensorFlow op each way on the native backend, tfjs ops on
// pure JS): output, PyTorch's running-statistics update, gradients by finite differences.
// Run on both backends: `node --import tsx --test test/nn-fused-batchnorm.test.ts`, and again
// with SIMDEBLUR_BACKEND=cpu.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { batchNorm, withSyncBatchNorm, type ReplicaSums } from '../src/nn/norm.ts';
import type { BatchNormState } from '../src/nn/norm.ts';
import { Rng } from '../src/util/rng.ts';
import { checkGradients } from './helpers/gradcheck.ts';

const rnd = (shape: number[], seed: number, lo = -1, hi = 1): Tensor => tf.tensor(Rng.seeded(seed).uniformArray(shape.reduce((a, b) => a * b, 1), lo, hi), shape);

function state(c: number, seed: number): BatchNormState & { numBatchesTracked: Variable } {
  const rng = Rng.seeded(seed);
  return {
    runningMean: tf.variable(tf.tensor1d(rng.uniformArray(c, -0.5, 0.5)), false),
    runningVar: tf.variable(tf.tensor1d(rng.uniformArray(c, 0.5, 2)), false),
    numBatchesTracked: tf.variable(tf.scalar(3, 'int32'), false, undefined, 'int32'),
  };
}

const disposeState = (s: BatchNormState): void => tf.dispose([s.runningMean, s.runningVar, ...(s.numBatchesTracked ? [s.numBatchesTracked] : [])]);

/** Per-channel mean and biased variance in float64, channels last. */
function stats(x: Float32Array, c: number): { mean: number[]; variance: number[]; n: number } {
  const n = x.length / c;
  const mean = Array.from({ length: c }, (_, k) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i * c + k]!;
    return s / n;
  });
  const variance = mean.map((m, k) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += (x[i * c + k]! - m) ** 2;
    return s / n;
  });
  return { mean, variance, n };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    assert.ok(err <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

test('batchNorm training: normalises with batch statistics and updates running stats as PyTorch', () => {
  for (const [shape, momentum] of [[[2, 3, 4, 5], 0.1], [[6, 3], 0.3], [[1, 2, 3, 2, 4], 1]] as Array<[number[], number]>) {
    const c = shape[shape.length - 1]!;
    const x = rnd(shape, 1, -2, 3);
    const w = rnd([c], 2, 0.5, 1.5);
    const b = rnd([c], 3);
    const s = state(c, 4);
    const rm0 = s.runningMean.dataSync().slice();
    const rv0 = s.runningVar.dataSync().slice();
    const eps = 1e-3;
    const before = tf.memory().numTensors;
    const y = batchNorm(x, w, b, s, { training: true, eps, momentum });
    assert.equal(tf.memory().numTensors, before + 1, 'only the output is left');
    assert.deepEqual(y.shape, shape);
    const xd = x.dataSync();
    const { mean, variance, n } = stats(xd as Float32Array, c);
    const wd = w.dataSync();
    const bd = b.dataSync();
    const expected = Array.from(xd, (v, i) => {
      const k = i % c;
      return ((v - mean[k]!) / Math.sqrt(variance[k]! + eps)) * wd[k]! + bd[k]!;
    });
    assertClose(y.dataSync(), expected, 1e-4, `output ${JSON.stringify(shape)}`);
    // PyTorch: running = (1 - m)·running + m·batch, with the UNBIASED batch variance.
    assertClose(s.runningMean.dataSync(), mean.map((m, k) => (1 - momentum) * rm0[k]! + momentum * m), 1e-5, 'running_mean');
    assertClose(s.runningVar.dataSync(), variance.map((v, k) => (1 - momentum) * rv0[k]! + momentum * v * (n / (n - 1))), 1e-5, 'running_var');
    assert.equal(s.numBatchesTracked.dataSync()[0], 4);
    tf.dispose([x, w, b, y]);
    disposeState(s);
  }
});

test('batchNorm training without affine parameters; eval mode leaves the statistics alone', () => {
  const x = rnd([3, 2, 2, 4], 5, 0, 4);
  const s = state(4, 6);
  const y = batchNorm(x, null, null, s, { training: true, eps: 1e-5 });
  const { mean, variance } = stats(x.dataSync() as Float32Array, 4);
  assertClose(y.dataSync(), Array.from(x.dataSync(), (v, i) => (v - mean[i % 4]!) / Math.sqrt(variance[i % 4]! + 1e-5)), 1e-4, 'output');
  const rm = s.runningMean.dataSync().slice();
  const rv = s.runningVar.dataSync().slice();
  const ye = batchNorm(x, null, null, s, { training: false, eps: 1e-5 });
  assertClose(ye.dataSync(), Array.from(x.dataSync(), (v, i) => (v - rm[i % 4]!) / Math.sqrt(rv[i % 4]! + 1e-5)), 1e-4, 'eval output');
  assertClose(s.runningMean.dataSync(), rm, 0, 'eval running_mean');
  assertClose(s.runningVar.dataSync(), rv, 0, 'eval running_var');
  assert.equal(s.numBatchesTracked.dataSync()[0], 4, 'eval must not count batches');
  tf.dispose([x, y, ye]);
  disposeState(s);
});

/**
 * Central finite differences of sum(f(x)·r) (float64 accumulation) against tf.grads, for
 * every element of every input.
 */
function gradCheck(name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], step: number, tol: number): void {
  checkGradients(name, f, inputs, { step, tol });
}

test('batchNorm training gradients wrt x, weight and bias (finite differences)', () => {
  const x = rnd([2, 3, 2, 3], 7, -1, 2);
  const w = rnd([3], 8, 0.5, 1.5);
  const b = rnd([3], 9);
  const s = state(3, 10);
  gradCheck('batchNorm 4-D', (a, k, c) => batchNorm(a, k!, c!, s, { training: true, eps: 1e-3 }), [x, w, b], 1e-2, 1e-2);
  // Other ranks are reshaped to 4-D around the fused op.
  const x2 = rnd([5, 2], 11, -1, 2);
  const s2 = state(2, 12);
  gradCheck('batchNorm 2-D', (a, k) => batchNorm(a, k!, null, s2, { training: true, eps: 1e-3 }), [x2, rnd([2], 13, 0.5, 1.5)], 1e-2, 1e-2);
  tf.dispose([x, w, b, x2]);
  disposeState(s);
  disposeState(s2);
});

/** Replica sums of a world whose `size` replicas all hold this process's shard; counts the collectives. */
function mirroredReplicas(size: number): ReplicaSums & { calls: number } {
  return {
    size,
    calls: 0,
    sum(x) {
      this.calls++;
      return tf.mul(x, size);
    },
  };
}

test('synchronised batchNorm: global statistics, PyTorch running update over the global count, gradients, three collectives', () => {
  const shape = [2, 3, 4, 5];
  const c = 5;
  const x = rnd(shape, 21, -2, 3);
  const w = rnd([c], 22, 0.5, 1.5);
  const b = rnd([c], 23);
  const [plain, synced] = [state(c, 24), state(c, 24)];
  const rv0 = synced.runningVar.dataSync().slice();
  const rm0 = synced.runningMean.dataSync().slice();
  const replicas = mirroredReplicas(2);
  const f = (s: BatchNormState) => (xi: Tensor, wi: Tensor, bi: Tensor) => tf.sum(tf.mul(batchNorm(xi, wi, bi, s, { training: true, eps: 1e-3, momentum: 0.2 }), tf.linspace(-1, 1, c)));
  const before = tf.memory().numTensors;
  const gPlain = tf.grads(f(plain))([x, w, b]);
  const gSync = withSyncBatchNorm(replicas, () => tf.grads(f(synced))([x, w, b]));
  assert.equal(tf.memory().numTensors, before + 6, 'only the gradients are left');
  // Two replicas with identical shards: the global statistics are the local ones, so the
  // gradients equal one process's; the running variance is unbiased over the global count 2n.
  gPlain.forEach((g, i) => assertClose(gSync[i]!.dataSync(), g.dataSync(), 1e-4, `gradient ${i}`));
  assert.equal(replicas.calls, 3, 'mean, variance, then the two gradient sums in one');
  const { mean, variance, n } = stats(x.dataSync() as Float32Array, c);
  assertClose(synced.runningMean.dataSync(), mean.map((m, k) => 0.8 * rm0[k]! + 0.2 * m), 1e-5, 'running_mean');
  assertClose(synced.runningVar.dataSync(), variance.map((v, k) => 0.8 * rv0[k]! + 0.2 * v * ((2 * n) / (2 * n - 1))), 1e-5, 'running_var');
  assert.equal(synced.numBatchesTracked.dataSync()[0], 4);
  // Outside withSyncBatchNorm, batchNorm is per replica again.
  tf.dispose(tf.grads(f(synced))([x, w, b]));
  assert.equal(replicas.calls, 3);
  const single = state(c, 25);
  gradCheck('synchronised batchNorm, one replica', (a, k, o) => withSyncBatchNorm(mirroredReplicas(1), () => batchNorm(a, k!, o!, single, { training: true, eps: 1e-3 })), [x, w, b], 1e-2, 1e-2);
  disposeState(single);
  tf.dispose([x, w, b, ...gPlain, ...gSync]);
  disposeState(plain);
  disposeState(synced);
});
