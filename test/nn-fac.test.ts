import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import { fac, replicatePad } from '../src/nn/ops/fac.ts';
import { Rng } from '../src/util/rng.ts';

/** Loop-by-loop FAC on NHWC arrays, replicate padding by clamping the source index. */
function naiveFac(x: Float32Array, ker: Float32Array, [b, h, w, c]: number[], k: number): Float32Array {
  const p = (k - 1) / 2;
  const y = new Float32Array(b! * h! * w! * c!);
  const clamp = (v: number, n: number): number => Math.min(n - 1, Math.max(0, v));
  for (let n = 0; n < b!; n++)
    for (let i = 0; i < h!; i++)
      for (let j = 0; j < w!; j++)
        for (let ch = 0; ch < c!; ch++) {
          let s = 0;
          for (let u = 0; u < k; u++)
            for (let v = 0; v < k; v++) {
              const si = clamp(i + u - p, h!);
              const sj = clamp(j + v - p, w!);
              const xv = x[((n * h! + si) * w! + sj) * c! + ch]!;
              const kv = ker[((n * h! + i) * w! + j) * (c! * k * k) + ch * k * k + u * k + v]!;
              s += xv * kv;
            }
          y[((n * h! + i) * w! + j) * c! + ch] = s;
        }
  return y;
}

function randomInputs(shape: [number, number, number, number], k: number, seed: number): { x: Float32Array; ker: Float32Array } {
  const rng = Rng.seeded(seed);
  const [b, h, w, c] = shape;
  return { x: rng.uniformArray(b * h * w * c, -1, 1), ker: rng.uniformArray(b * h * w * c * k * k, -1, 1) };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

test('fac matches a naive loop (k = 3 and 5, non-square, several channels and batches)', () => {
  for (const [shape, k] of [
    [[2, 4, 5, 3], 3],
    [[1, 6, 3, 2], 5],
    [[1, 2, 2, 1], 5], // padding wider than the image: edges replicate repeatedly
  ] as Array<[[number, number, number, number], number]>) {
    const { x, ker } = randomInputs(shape, k, 11 + k);
    const xt = tf.tensor4d(x, shape);
    const kt = tf.tensor4d(ker, [shape[0], shape[1], shape[2], shape[3] * k * k]);
    const y = fac(xt, kt, k);
    assert.deepEqual(y.shape, shape);
    const err = maxDiff(y.dataSync(), naiveFac(x, ker, shape, k));
    assert.ok(err < 1e-5, `k=${k} shape ${shape}: max error ${err}`);
    tf.dispose([xt, kt, y]);
  }
});

test('fac with a centre-tap kernel returns the input; a one-tap kernel shifts with edge replication', () => {
  const shape: [number, number, number, number] = [1, 4, 4, 2];
  const k = 3;
  const { x } = randomInputs(shape, k, 3);
  const xt = tf.tensor4d(x, shape);
  const tap = (t: number): Tensor => tf.tidy(() => tf.oneHot(tf.fill([1, 4, 4, 2], t, 'int32'), k * k).reshape([1, 4, 4, 2 * k * k]).toFloat());
  const centre = tap(4);
  const y = fac(xt, centre, k);
  assert.deepEqual(Array.from(y.dataSync()), Array.from(x));
  // Tap (0, 0) reads the pixel up-left: y[i, j] = x[max(i−1, 0), max(j−1, 0)].
  const upLeft = tap(0);
  const z = fac(xt, upLeft, k).arraySync() as number[][][][];
  const xa = xt.arraySync() as number[][][][];
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) assert.deepEqual(z[0]![i]![j], xa[0]![Math.max(i - 1, 0)]![Math.max(j - 1, 0)]);
  tf.dispose([xt, centre, y, upLeft]);
});

function checkGradients(shape: [number, number, number, number], k: number, seed: number): void {
  const [b, h, w, c] = shape;
  const { x, ker } = randomInputs(shape, k, seed);
  const r = Rng.seeded(seed + 1).uniformArray(b * h * w * c, -1, 1);
  const kshape: [number, number, number, number] = [b, h, w, c * k * k];
  // A quadratic loss: central differences are exact up to rounding for it.
  const loss = (y: Tensor, rt: Tensor): Scalar => y.mul(rt).add(y.square().mul(0.5)).sum() as Scalar;
  const lossOf = (xa: Float32Array, ka: Float32Array): number =>
    tf.tidy(() => loss(fac(tf.tensor4d(xa, shape), tf.tensor4d(ka, kshape), k), tf.tensor4d(r, shape)).dataSync()[0]!);
  const xt = tf.tensor4d(x, shape);
  const kt = tf.tensor4d(ker, kshape);
  const rt = tf.tensor4d(r, shape);
  const [gx, gk] = tf.grads((a: Tensor, bb: Tensor) => loss(fac(a, bb, k), rt))([xt, kt]);
  const eps = 1e-2;
  const fd = (arr: Float32Array, i: number, isX: boolean): number => {
    const plus = arr.slice();
    const minus = arr.slice();
    plus[i]! += eps;
    minus[i]! -= eps;
    const lp = isX ? lossOf(plus, ker) : lossOf(x, plus);
    const lm = isX ? lossOf(minus, ker) : lossOf(x, minus);
    return (lp - lm) / (2 * eps);
  };
  const gxd = gx!.dataSync();
  const gkd = gk!.dataSync();
  const where = `shape ${shape}, k=${k}`;
  // Every input element, including corners that feed many taps through the padding.
  for (let i = 0; i < x.length; i++) {
    const e = fd(x, i, true);
    assert.ok(Math.abs(gxd[i]! - e) < 2e-3 * Math.max(1, Math.abs(e)), `${where}: dx[${i}] ${gxd[i]} vs ${e}`);
  }
  for (let i = 0; i < ker.length; i += 5) {
    const e = fd(ker, i, false);
    assert.ok(Math.abs(gkd[i]! - e) < 2e-3 * Math.max(1, Math.abs(e)), `${where}: dk[${i}] ${gkd[i]} vs ${e}`);
  }
  tf.dispose([xt, kt, rt, gx!, gk!]);
}

test('fac gradients match central finite differences (input and kernels)', () => {
  checkGradients([1, 3, 4, 2], 3, 21);
  // Images no larger than the padding: edge rows and columns absorb several taps each.
  checkGradients([2, 2, 1, 1], 5, 31);
  checkGradients([1, 1, 3, 2], 5, 41);
});

test('fac gradients flow to variables through intermediate inputs (variableGrads)', () => {
  // Inputs computed inside the differentiated function are disposed before backprop runs; the
  // gradient must not depend on them staying alive.
  const xv = tf.variable(tf.randomUniform([1, 3, 3, 2], -1, 1, 'float32', 7));
  const kv = tf.variable(tf.randomUniform([1, 3, 3, 18], -1, 1, 'float32', 8));
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(() => fac(tf.mul(xv, 2), tf.mul(kv, 3), 3).sum() as Scalar, [xv, kv]);
  const xm = tf.mul(xv, 2);
  const km = tf.mul(kv, 3);
  const [gx, gk] = tf.grads((a: Tensor, b: Tensor) => fac(a, b, 3).sum() as Scalar)([xm, km]);
  // d/dv f(2v, 3k) = 2·∂f/∂x and 3·∂f/∂k.
  const ex = gx!.mul(2);
  const ek = gk!.mul(3);
  assert.ok(maxDiff(grads[xv.name]!.dataSync(), ex.dataSync()) < 1e-5);
  assert.ok(maxDiff(grads[kv.name]!.dataSync(), ek.dataSync()) < 1e-5);
  tf.dispose([value, grads, xm, km, gx!, gk!, ex, ek]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([xv, kv]);
});

test('fac and replicatePad leave the tensor count unchanged, forward and backward', () => {
  const x = tf.randomUniform([1, 5, 5, 3], 0, 1, 'float32', 1);
  const ker = tf.randomUniform([1, 5, 5, 3 * 25], -1, 1, 'float32', 2);
  const before = tf.memory().numTensors;
  tf.dispose(fac(x, ker, 5));
  tf.dispose(replicatePad(x as never, 2));
  tf.dispose(tf.grads((a: Tensor, b: Tensor) => fac(a, b, 5).sum() as Scalar)([x, ker]));
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, ker]);
});

test('replicatePad copies the edge rows and columns', () => {
  const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const y = replicatePad(x, 1);
  assert.deepEqual(Array.from(y.dataSync()), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  tf.dispose([x, y]);
});

test('fac rejects bad shapes and kernel sizes with clear errors', () => {
  const x = tf.zeros([1, 4, 4, 2]);
  const good = tf.zeros([1, 4, 4, 18]);
  const wrongC = tf.zeros([1, 4, 4, 17]);
  const wrongHw = tf.zeros([1, 4, 3, 18]);
  assert.throws(() => fac(x, good, 2), /positive odd integer/);
  assert.throws(() => fac(x, wrongC, 3), /17 channels, expected C·k² = 2·9 = 18/);
  assert.throws(() => fac(x, wrongHw, 3), /must match the input's batch and size/);
  assert.throws(() => fac(x.reshape([4, 4, 2]), good, 3), /\[B, H, W, C\]/);
  tf.dispose([x, good, wrongC, wrongHw]);
});
