// Forward correctness of conv2d / convTranspose2d against direct loops written from
// PyTorch's definitions (NHWC data, HWIO weights), and against tf.conv2d on a padded input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, isNative } from '../src/runtime/index.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { conv2d, convTranspose2d } from '../src/nn/conv.ts';
import { setForwardConvOp } from '../src/nn/conv-native.ts';
import { Rng } from '../src/util/rng.ts';
import { maxAbsDiff } from './helpers/fixtures.ts';

interface ConvCase {
  b: number; h: number; w: number; cin: number; cout: number; kh: number; kw: number;
  stride: [number, number]; pads: [number, number, number, number]; dil: [number, number]; groups: number;
}

function refConv(x: Float32Array, wt: Float32Array, bias: Float32Array | null, c: ConvCase): { data: Float32Array; shape: number[] } {
  const [pt, pb, pl, pr] = c.pads;
  const oh = Math.floor((c.h + pt + pb - c.dil[0] * (c.kh - 1) - 1) / c.stride[0]) + 1;
  const ow = Math.floor((c.w + pl + pr - c.dil[1] * (c.kw - 1) - 1) / c.stride[1]) + 1;
  const cig = c.cin / c.groups;
  const cog = c.cout / c.groups;
  const out = new Float32Array(c.b * oh * ow * c.cout);
  for (let n = 0; n < c.b; n++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let o = 0; o < c.cout; o++) {
          const g = Math.floor(o / cog);
          let s = bias === null ? 0 : bias[o]!;
          for (let a = 0; a < c.kh; a++)
            for (let bb = 0; bb < c.kw; bb++) {
              const y = i * c.stride[0] - pt + a * c.dil[0];
              const xx = j * c.stride[1] - pl + bb * c.dil[1];
              if (y < 0 || y >= c.h || xx < 0 || xx >= c.w) continue;
              for (let ci = 0; ci < cig; ci++) {
                s += x[((n * c.h + y) * c.w + xx) * c.cin + g * cig + ci]! * wt[((a * c.kw + bb) * cig + ci) * c.cout + o]!;
              }
            }
          out[((n * oh + i) * ow + j) * c.cout + o] = s;
        }
  return { data: out, shape: [c.b, oh, ow, c.cout] };
}

function runCase(c: ConvCase, seed: number): void {
  const rng = Rng.seeded(seed);
  const xd = rng.uniformArray(c.b * c.h * c.w * c.cin, -1, 1);
  const wd = rng.uniformArray(c.kh * c.kw * (c.cin / c.groups) * c.cout, -1, 1);
  const bd = rng.uniformArray(c.cout, -1, 1);
  const ref = refConv(xd, wd, bd, c);
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(xd, [c.b, c.h, c.w, c.cin]);
  const w = tf.tensor4d(wd, [c.kh, c.kw, c.cin / c.groups, c.cout]);
  const b = tf.tensor1d(bd);
  const y = conv2d(x, w, b, { stride: c.stride, padding: c.pads, dilation: c.dil, groups: c.groups });
  assert.deepEqual(y.shape, ref.shape, JSON.stringify(c));
  const err = maxAbsDiff(y.dataSync(), ref.data);
  assert.ok(err < 1e-4, `${JSON.stringify(c)}: max abs error ${err}`);
  tf.dispose([x, w, b, y]);
  assert.equal(tf.memory().numTensors, before, 'conv2d leaked tensors');
}

const base: ConvCase = { b: 2, h: 9, w: 8, cin: 4, cout: 6, kh: 3, kw: 3, stride: [1, 1], pads: [1, 1, 1, 1], dil: [1, 1], groups: 1 };

test('conv2d: dense, symmetric and asymmetric padding, strides', () => {
  runCase(base, 1);
  runCase({ ...base, pads: [0, 2, 1, 0] }, 2);
  runCase({ ...base, stride: [2, 2], pads: [1, 1, 1, 1] }, 3);
  runCase({ ...base, stride: [2, 3], pads: [2, 0, 0, 1], kh: 2, kw: 4 }, 4);
  runCase({ ...base, kh: 1, kw: 1, pads: [0, 0, 0, 0] }, 5);
});

test('conv2d: dilation (with padding and with stride)', () => {
  runCase({ ...base, dil: [2, 2], pads: [2, 2, 2, 2] }, 6);
  runCase({ ...base, dil: [2, 3], pads: [1, 0, 3, 2], h: 11, w: 10 }, 7);
  runCase({ ...base, dil: [2, 2], stride: [2, 2], pads: [2, 2, 2, 2] }, 8);
  runCase({ ...base, dil: [3, 3], pads: [0, 0, 0, 0], h: 12, w: 13 }, 9);
});

test('conv2d: depthwise, depthwise with multiplier, grouped', () => {
  runCase({ ...base, cout: 4, groups: 4 }, 10);
  runCase({ ...base, cout: 8, groups: 4, stride: [2, 2], pads: [0, 1, 1, 0] }, 11);
  runCase({ ...base, cout: 4, groups: 4, dil: [2, 2], pads: [2, 2, 2, 2] }, 12);
  runCase({ ...base, cout: 6, groups: 2 }, 13);
  runCase({ ...base, cout: 6, groups: 2, dil: [2, 2], pads: [1, 1, 1, 1] }, 14);
});

test('conv2d equals tf.conv2d on an explicitly padded input', () => {
  const x = tf.randomNormal([1, 10, 7, 3], 0, 1, 'float32', 3) as Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 5], 0, 1, 'float32', 4) as Tensor4D;
  const ours = conv2d(x, w, null, { stride: 2, padding: [1, 2, 0, 1] });
  const ref = tf.conv2d(tf.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]]) as Tensor4D, w, 2, 'valid');
  assert.deepEqual(ours.shape, ref.shape);
  assert.ok(maxAbsDiff(ours.dataSync(), ref.dataSync()) < 1e-5);
  tf.dispose([x, w, ours, ref]);
});

test('conv2d reports shape errors clearly', () => {
  const x = tf.zeros([1, 4, 4, 3]);
  const w = tf.zeros([3, 3, 2, 4]);
  assert.throws(() => conv2d(x, w), /input has 3 channels but the weight \[3,3,2,4\]/);
  assert.throws(() => conv2d(x, tf.zeros([3, 3, 1, 4]), null, { groups: 3 }), /groups=3 must divide/);
  assert.throws(() => conv2d(tf.zeros([4, 4, 3]), w), /\[B, H, W, C\]/);
  tf.dispose([x, w]);
});

/** Transposed convolution by scattering each input pixel through the kernel. */
function refConvT(x: Float32Array, wt: Float32Array, bias: Float32Array, b: number, h: number, w: number, cin: number, cout: number, k: number, s: number, p: number, op: number) {
  const oh = (h - 1) * s - 2 * p + k + op;
  const ow = (w - 1) * s - 2 * p + k + op;
  const out = new Float32Array(b * oh * ow * cout);
  for (let n = 0; n < b; n++)
    for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let o = 0; o < cout; o++) out[((n * oh + i) * ow + j) * cout + o] = bias[o]!;
  for (let n = 0; n < b; n++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        for (let a = 0; a < k; a++)
          for (let bb = 0; bb < k; bb++) {
            const y = i * s - p + a;
            const xx = j * s - p + bb;
            if (y < 0 || y >= oh || xx < 0 || xx >= ow) continue;
            for (let ci = 0; ci < cin; ci++)
              for (let o = 0; o < cout; o++) {
                // our weight layout: [kh, kw, out, in]
                out[((n * oh + y) * ow + xx) * cout + o]! += x[((n * h + i) * w + j) * cin + ci]! * wt[((a * k + bb) * cout + o) * cin + ci]!;
              }
          }
  return { data: out, shape: [b, oh, ow, cout] };
}

test('convTranspose2d matches the scatter definition (padding, output_padding)', () => {
  for (const [k, s, p, op, seed] of [[4, 2, 1, 0, 1], [3, 2, 1, 1, 2], [3, 2, 0, 1, 3], [3, 1, 1, 0, 4], [5, 3, 2, 2, 5]] as const) {
    const rng = Rng.seeded(seed);
    const [b, h, w, cin, cout] = [2, 5, 4, 3, 4];
    const xd = rng.uniformArray(b * h * w * cin, -1, 1);
    const wd = rng.uniformArray(k * k * cout * cin, -1, 1);
    const bd = rng.uniformArray(cout, -1, 1);
    const ref = refConvT(xd, wd, bd, b, h, w, cin, cout, k, s, p, op);
    const before = tf.memory().numTensors;
    const ts: Tensor[] = [tf.tensor4d(xd, [b, h, w, cin]), tf.tensor4d(wd, [k, k, cout, cin]), tf.tensor1d(bd)];
    const y = convTranspose2d(ts[0]!, ts[1]!, ts[2]!, { stride: s, padding: p, outputPadding: op });
    assert.deepEqual(y.shape, ref.shape, `k${k} s${s} p${p} op${op}`);
    const err = maxAbsDiff(y.dataSync(), ref.data);
    assert.ok(err < 1e-4, `k${k} s${s} p${p} op${op}: max abs error ${err}`);
    tf.dispose([...ts, y]);
    assert.equal(tf.memory().numTensors, before);
  }
});

test('forward convolutions by the generic Conv op and by Conv2D agree (forward, gradients, strides, paddings, transposed)', { skip: isNative() ? false : 'native backend only' }, () => {
  const rng = Rng.seeded(11);
  const rand = (shape: number[]) => tf.tensor(rng.uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);
  const cases = [[1, 2, 5], [2, 1, 5], [1, 0, 3], [2, [2, 0, 1, 3], 5], [2, 0, 2], [1, 1, 3]] as const;
  for (const [stride, padding, k] of cases) {
    const x = rand([2, 23, 17, 3]) as Tensor4D;
    const w = rand([k, k, 3, 4]);
    const b = rand([4]);
    const wt = rand([k, k, 4, 3]);
    const run = () => {
      const y = conv2d(x, w, b, { stride, padding: padding as never });
      const g = tf.grads((xi: Tensor, wi: Tensor) => tf.sum(tf.square(conv2d(xi as Tensor4D, wi, b, { stride, padding: padding as never }))))([x, w]);
      const p = typeof padding === 'number' ? padding : 1;
      const gt = tf.grads((xi: Tensor, wi: Tensor) => tf.sum(tf.square(convTranspose2d(xi as Tensor4D, wi, null, { stride, padding: p, outputPadding: stride - 1 }))))([x, wt]);
      const out = [y, ...g, ...gt].map((t) => t.dataSync() as Float32Array);
      tf.dispose([y, ...g, ...gt]);
      return out;
    };
    const previous = setForwardConvOp('Conv2D');
    try {
      const reference = run();
      setForwardConvOp('Conv');
      const before = tf.memory().numTensors;
      const generic = run();
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      generic.forEach((v, i) => assert.ok(maxAbsDiff(v, reference[i]!) < 1e-4, `k${k} stride ${stride}, padding ${JSON.stringify(padding)}: output ${i} differs`));
    } finally {
      setForwardConvOp(previous);
    }
    tf.dispose([x, w, b, wt]);
  }
});
