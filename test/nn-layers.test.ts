// Forward semantics of the nn kit against hand-computed PyTorch results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import { pixelShuffle, pixelUnshuffle } from '../src/nn/shuffle.ts';
import { interpolate } from '../src/nn/interpolate.ts';
import { adaptiveAvgPool2d, adaptiveWindows, avgPool2d, maxPool2d } from '../src/nn/pool.ts';
import { batchNorm, layerNorm } from '../src/nn/norm.ts';
import { gelu, leakyRelu } from '../src/nn/activations.ts';
import { maxAbsDiff } from './helpers/fixtures.ts';

const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6, msg = ''): void => {
  const err = maxAbsDiff(actual, expected);
  assert.ok(err <= tol, `${msg} max abs error ${err}: got ${Array.from(actual).join(', ')}`);
};

test('pixelShuffle follows PyTorch channel order c·r² + i·r + j', () => {
  const x = tf.tensor4d(Array.from({ length: 8 }, (_, i) => i), [1, 1, 1, 8]);
  const y = pixelShuffle(x, 2);
  assert.deepEqual(y.shape, [1, 2, 2, 2]);
  assert.deepEqual(Array.from(y.dataSync()), [0, 4, 1, 5, 2, 6, 3, 7]);
  // Larger case against the index formula: out[h·r+i, w·r+j, c] = in[h, w, c·r² + i·r + j].
  const [H, W, C, r] = [2, 3, 2, 3];
  const data = Array.from({ length: H * W * C * r * r }, (_, i) => i);
  const big = tf.tensor4d(data, [1, H, W, C * r * r]);
  const out = pixelShuffle(big, r).arraySync()[0]!;
  for (let h = 0; h < H; h++)
    for (let w = 0; w < W; w++)
      for (let i = 0; i < r; i++)
        for (let j = 0; j < r; j++)
          for (let c = 0; c < C; c++) assert.equal(out[h * r + i]![w * r + j]![c], data[(h * W + w) * C * r * r + c * r * r + i * r + j]);
  const back = pixelUnshuffle(pixelShuffle(big, r), r);
  assert.deepEqual(Array.from(back.dataSync()), data);
  assert.throws(() => pixelShuffle(tf.zeros([1, 2, 2, 6]), 2), /not divisible/);
  tf.dispose([x, y, big, back]);
});

test('bilinear interpolation, align_corners=false, matches PyTorch', () => {
  const x = tf.tensor4d([0, 1, 2, 3], [1, 1, 4, 1]);
  close(interpolate(x, { size: [1, 8], mode: 'bilinear' }).dataSync(), [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]);
  // 2-D and separable: x = 10·row + col on 2x3 -> 4x6.
  const grid = tf.tensor4d([0, 1, 2, 10, 11, 12], [1, 2, 3, 1]);
  const rows = [0, 0.25, 0.75, 1];
  const cols = [0, 0.25, 0.75, 1.25, 1.75, 2];
  close(interpolate(grid, { size: [4, 6], mode: 'bilinear' }).dataSync(), rows.flatMap((r) => cols.map((c) => 10 * r + c)), 1e-5);
  // With a scale factor PyTorch maps coordinates with 1/factor, not in/out.
  const five = tf.tensor4d([0, 1, 2, 3, 4], [1, 1, 5, 1]);
  close(interpolate(five, { scaleFactor: [1, 0.5], mode: 'bilinear' }).dataSync(), [0.5, 2.5]);
  close(interpolate(five, { size: [1, 2], mode: 'bilinear' }).dataSync(), [0.75, 3.25]);
  tf.dispose([x, grid, five]);
});

test('bilinear align_corners=true and nearest match PyTorch', () => {
  const x = tf.tensor4d([0, 1, 2, 3], [1, 4, 1, 1]);
  close(interpolate(x, { size: [8, 1], mode: 'bilinear', alignCorners: true }).dataSync(), Array.from({ length: 8 }, (_, o) => (o * 3) / 7), 1e-6);
  const n = tf.tensor4d([0, 1, 2], [1, 1, 3, 1]);
  assert.deepEqual(Array.from(interpolate(n, { size: [1, 7] }).dataSync()), [0, 0, 0, 1, 1, 2, 2]);
  assert.deepEqual(Array.from(interpolate(n, { scaleFactor: [1, 2] }).dataSync()), [0, 0, 1, 1, 2, 2]);
  const six = tf.tensor4d([0, 1, 2, 3, 4, 5], [1, 6, 1, 1]);
  assert.deepEqual(Array.from(interpolate(six, { scaleFactor: [0.5, 1] }).dataSync()), [0, 2, 4]);
  assert.throws(() => interpolate(n, {}), /exactly one of size and scaleFactor/);
  tf.dispose([x, n, six]);
});

test('pooling: adaptive windows, adaptive average, avg and max pooling', () => {
  assert.deepEqual(adaptiveWindows(5, 3), [[0, 2], [1, 4], [3, 5]]);
  const data = Array.from({ length: 5 * 4 }, (_, i) => i * 0.5 - 3);
  const x = tf.tensor4d(data, [1, 5, 4, 1]);
  const at = (h: number, w: number): number => data[h * 4 + w]!;
  const expected: number[] = [];
  for (const [h0, h1] of adaptiveWindows(5, 3))
    for (const [w0, w1] of adaptiveWindows(4, 2)) {
      let s = 0;
      for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) s += at(h, w);
      expected.push(s / ((h1 - h0) * (w1 - w0)));
    }
  close(adaptiveAvgPool2d(x, [3, 2]).dataSync(), expected, 1e-5);
  close(adaptiveAvgPool2d(x).dataSync(), [data.reduce((a, b) => a + b, 0) / data.length], 1e-5);
  close(avgPool2d(x, 2).dataSync(), [(at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4, (at(0, 2) + at(0, 3) + at(1, 2) + at(1, 3)) / 4, (at(2, 0) + at(2, 1) + at(3, 0) + at(3, 1)) / 4, (at(2, 2) + at(2, 3) + at(3, 2) + at(3, 3)) / 4], 1e-6);
  const neg = tf.tensor4d([-5, -4, -3, -2], [1, 2, 2, 1]);
  // Padding never wins, even against negative values.
  assert.deepEqual(Array.from(maxPool2d(neg, 2, 1, 1).dataSync()), [-5, -4, -4, -3, -2, -2, -3, -2, -2]);
  tf.dispose([x, neg]);
});

test('batchNorm: batch statistics, momentum 0.1, unbiased running variance, eval uses running stats', () => {
  const x = tf.tensor4d([1, 2, 3, 4], [2, 1, 2, 1]);
  const w = tf.tensor1d([2]);
  const b = tf.tensor1d([0.5]);
  const state = {
    runningMean: tf.variable(tf.zeros([1]), false),
    runningVar: tf.variable(tf.ones([1]), false),
    numBatchesTracked: tf.variable(tf.scalar(0, 'int32'), false, undefined, 'int32'),
  };
  const eps = 1e-3;
  const yt = batchNorm(x, w, b, state, { training: true, eps });
  close(yt.dataSync(), [1, 2, 3, 4].map((v) => ((v - 2.5) / Math.sqrt(1.25 + eps)) * 2 + 0.5), 1e-5);
  close(state.runningMean.dataSync(), [0.25]);
  close(state.runningVar.dataSync(), [0.9 + 0.1 * (1.25 * 4) / 3], 1e-6);
  assert.equal(state.numBatchesTracked.dataSync()[0], 1);
  const ye = batchNorm(x, w, b, state, { training: false, eps });
  const rv = 0.9 + (0.1 * 5) / 3;
  close(ye.dataSync(), [1, 2, 3, 4].map((v) => ((v - 0.25) / Math.sqrt(rv + eps)) * 2 + 0.5), 1e-5);
  assert.equal(state.numBatchesTracked.dataSync()[0], 1, 'eval must not count batches');
  const one = tf.zeros([1, 1, 1, 1]);
  assert.throws(() => batchNorm(one, null, null, state, { training: true }), /more than 1 value per channel/);
  tf.dispose([x, w, b, yt, ye, one, state.runningMean, state.runningVar, state.numBatchesTracked]);
});

test('layerNorm normalises over channels with the biased variance', () => {
  const v = [1, 2, 4, -1, 0, 3];
  const x = tf.tensor4d(v, [1, 1, 2, 3]);
  const y = layerNorm(x, tf.tensor1d([1, 2, 3]), tf.tensor1d([0, 0.5, -1]), 1e-6);
  const expected: number[] = [];
  for (const px of [v.slice(0, 3), v.slice(3)]) {
    const m = px.reduce((a, c) => a + c, 0) / 3;
    const s2 = px.reduce((a, c) => a + (c - m) ** 2, 0) / 3;
    px.forEach((c, i) => expected.push(((c - m) / Math.sqrt(s2 + 1e-6)) * [1, 2, 3][i]! + [0, 0.5, -1][i]!));
  }
  close(y.dataSync(), expected, 1e-5);
  tf.dispose([x, y]);
});

test('gelu is the exact erf form; leakyRelu default slope 0.01', () => {
  const x = tf.tensor1d([-1, 0, 0.5, 1, 3]);
  close(gelu(x).dataSync(), [-0.15865525393145707, 0, 0.34573123063700656, 0.8413447460685429, 2.9959502258214756], 1e-6);
  close(leakyRelu(x).dataSync(), [-0.01, 0, 0.5, 1, 3]);
  x.dispose();
});
