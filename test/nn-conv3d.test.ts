// conv3d against a direct loop implementation of PyTorch's definition, its gradients against
// central finite differences, and the layer's PyTorch-layout parameters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { conv3d, conv3dLayer } from '../src/nn/conv3d.ts';
import { ParamStore } from '../src/nn/params.ts';
import { Rng } from '../src/util/rng.ts';
import { maxAbsDiff } from './helpers/fixtures.ts';

const rnd = (shape: number[], seed: number): Tensor => tf.tensor(Rng.seeded(seed).uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);

/** Direct cross-correlation: x NDHWC, w [kd,kh,kw,in,out], zero padding, stride. */
function reference(x: Tensor, w: Tensor, bias: Tensor | null, s: [number, number, number], p: [number, number, number]): { data: Float64Array; shape: number[] } {
  const [B, D, H, W, C] = x.shape as number[] as [number, number, number, number, number];
  const [kd, kh, kw, , O] = w.shape as number[] as [number, number, number, number, number];
  const xs = x.dataSync();
  const ws = w.dataSync();
  const bs = bias?.dataSync();
  const Do = Math.floor((D + 2 * p[0] - kd) / s[0]) + 1;
  const Ho = Math.floor((H + 2 * p[1] - kh) / s[1]) + 1;
  const Wo = Math.floor((W + 2 * p[2] - kw) / s[2]) + 1;
  const out = new Float64Array(B * Do * Ho * Wo * O);
  let o = 0;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < Do; t++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++)
          for (let oc = 0; oc < O; oc++, o++) {
            let acc = bs ? bs[oc]! : 0;
            for (let a = 0; a < kd; a++) {
              const ti = t * s[0] - p[0] + a;
              if (ti < 0 || ti >= D) continue;
              for (let u = 0; u < kh; u++) {
                const hi = i * s[1] - p[1] + u;
                if (hi < 0 || hi >= H) continue;
                for (let v = 0; v < kw; v++) {
                  const wi = j * s[2] - p[2] + v;
                  if (wi < 0 || wi >= W) continue;
                  for (let c = 0; c < C; c++) {
                    acc += xs[(((b * D + ti) * H + hi) * W + wi) * C + c]! * ws[(((a * kh + u) * kw + v) * C + c) * O + oc]!;
                  }
                }
              }
            }
            out[o] = acc;
          }
  return { data: out, shape: [B, Do, Ho, Wo, O] };
}

test('conv3d matches the direct definition (padding, strides, bias)', () => {
  const x = rnd([2, 6, 7, 5, 3], 1);
  const w = rnd([3, 3, 2, 3, 4], 2);
  const bias = rnd([4], 3);
  const cases: Array<{ s: [number, number, number]; p: [number, number, number] }> = [
    { s: [1, 1, 1], p: [0, 1, 1] },
    { s: [2, 1, 2], p: [1, 0, 1] },
    { s: [1, 2, 1], p: [2, 1, 0] },
  ];
  for (const { s, p } of cases) {
    const before = tf.memory().numTensors;
    const y = conv3d(x, w, bias, { stride: s, padding: p });
    const ref = reference(x, w, bias, s, p);
    assert.deepEqual(y.shape, ref.shape, `shape for stride ${s} padding ${p}`);
    assert.ok(maxAbsDiff(y.dataSync(), ref.data) < 1e-5, `values for stride ${s} padding ${p}`);
    y.dispose();
    assert.equal(tf.memory().numTensors, before);
  }
  tf.dispose([x, w, bias]);
});

test('conv3d gradients wrt input, weight and bias match central differences', () => {
  const x = rnd([1, 4, 5, 4, 2], 4);
  const w = rnd([3, 3, 3, 2, 3], 5);
  const bias = rnd([3], 6);
  const opts = { stride: [1, 2, 1] as const, padding: [1, 1, 0] as const };
  const f = (a: Tensor, k: Tensor, c: Tensor): Tensor => conv3d(a, k, c, opts);
  const outShape = tf.tidy(() => f(x, w, bias).shape);
  const r = tf.tensor(Rng.seeded(9).uniformArray(outShape.reduce((a, b) => a * b, 1), -1, 1), outShape);
  const rd = r.dataSync();
  const before = tf.memory().numTensors;
  const grads = tf.grads((a: Tensor, k: Tensor, c: Tensor) => tf.sum(tf.mul(f(a, k, c), r)))([x, w, bias]);
  const gData = grads.map((g) => g.dataSync());
  tf.dispose(grads);
  assert.equal(tf.memory().numTensors, before, 'gradient computation leaked tensors');
  const inputs = [x, w, bias];
  const rng = Rng.seeded(11);
  // The loss is linear in each input, so a large step gives exact differences.
  const step = 0.5;
  inputs.forEach((t, k) => {
    const base = t.dataSync();
    const idx = base.length <= 20 ? Array.from(base.keys()) : Array.from({ length: 20 }, () => rng.int(base.length));
    for (const i of idx) {
      const loss = (delta: number): number => {
        const d = Float32Array.from(base);
        d[i] = d[i]! + delta;
        const moved = tf.tensor(d, t.shape);
        const args = inputs.map((u, j) => (j === k ? moved : u)) as [Tensor, Tensor, Tensor];
        const y = f(...args);
        const yd = y.dataSync();
        let s = 0;
        for (let q = 0; q < yd.length; q++) s += yd[q]! * rd[q]!;
        tf.dispose([moved, y]);
        return s;
      };
      const numeric = (loss(step) - loss(-step)) / (2 * step);
      const analytic = gData[k]![i]!;
      const err = Math.abs(numeric - analytic) / Math.max(1, Math.abs(numeric));
      assert.ok(err < 1e-4, `input ${k}[${i}]: analytic ${analytic} vs numeric ${numeric}`);
    }
  });
  tf.dispose([x, w, bias, r]);
});

test('conv3dLayer keeps PyTorch names and layout [out, in, kd, kh, kw]', () => {
  const store = new ParamStore(3);
  const layer = conv3dLayer(store.root().child('L_in').child(0), { inChannels: 3, outChannels: 5, kernelSize: 3, padding: [0, 1, 1] });
  try {
    assert.deepEqual(Object.keys(store.params).sort(), ['L_in.0.bias', 'L_in.0.weight']);
    assert.deepEqual(store.params['L_in.0.weight']!.shape, [5, 3, 3, 3, 3]);
    assert.equal(store.kinds['L_in.0.weight'], 'plain');
    const x = rnd([1, 5, 4, 4, 3], 12);
    const y = layer(store.params, x);
    assert.deepEqual(y.shape, [1, 3, 4, 4, 5]);
    // Against the op with the weight permuted by hand.
    const w = store.params['L_in.0.weight']!.transpose([2, 3, 4, 1, 0]);
    const ref = conv3d(x, w, store.params['L_in.0.bias']!, { padding: [0, 1, 1] });
    assert.ok(maxAbsDiff(y.dataSync(), ref.dataSync()) < 1e-6);
    tf.dispose([x, y, w, ref]);
  } finally {
    store.dispose();
  }
});

test('conv3d rejects bad shapes clearly', () => {
  const x = tf.zeros([1, 2, 4, 4, 3]);
  const w = tf.zeros([3, 3, 3, 3, 2]);
  const w1 = tf.zeros([3, 3, 3, 1, 2]);
  const img = tf.zeros([1, 4, 4, 3]);
  assert.throws(() => conv3d(x, w), /2 frames .* too few/);
  assert.throws(() => conv3d(x, w1), /3 channels/);
  assert.throws(() => conv3d(img, w), /\[B, D, H, W, C\]/);
  tf.dispose([x, w, w1, img]);
});
