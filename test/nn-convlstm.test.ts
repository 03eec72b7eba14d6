// The ConvLSTM cell: gate order and update formula against a direct per-element computation,
// and its gradients (input, state, weights) against central finite differences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { ParamStore } from '../src/nn/params.ts';
import { conv2d } from '../src/nn/conv.ts';
import { convLstmCellLayer, convLstmZeroState } from '../src/nn/convlstm.ts';
import { Rng } from '../src/util/rng.ts';

const B = 1;
const H = 3;
const W = 4;
const CIN = 2;
const HID = 2;

function setup(seed: number) {
  const store = new ParamStore(seed);
  const cell = convLstmCellLayer(store.root().child('conv_lstm'), { inputChannels: CIN, hiddenChannels: HID, kernelSize: 3 });
  const rng = Rng.seeded(seed + 1);
  const x = tf.tensor(rng.uniformArray(B * H * W * CIN, -1, 1), [B, H, W, CIN]);
  const h = tf.tensor(rng.uniformArray(B * H * W * HID, -1, 1), [B, H, W, HID]);
  const c = tf.tensor(rng.uniformArray(B * H * W * HID, -1, 1), [B, H, W, HID]);
  return { store, cell, x, h, c };
}

const sig = (v: number): number => 1 / (1 + Math.exp(-v));

test('ConvLSTM step follows c′ = σ(f)c + σ(i)tanh(g), h′ = σ(o)tanh(c′) with gates i, f, o, g', () => {
  const { store, cell, x, h, c } = setup(1);
  try {
    assert.deepEqual(Object.keys(store.params).sort(), ['conv_lstm.conv.bias', 'conv_lstm.conv.weight']);
    assert.deepEqual(store.params['conv_lstm.conv.weight']!.shape, [3, 3, CIN + HID, 4 * HID]);
    const before = tf.memory().numTensors;
    const out = cell(store.params, x, { h, c });
    const gates = tf.tidy(() => conv2d(tf.concat([x, h], -1), store.params['conv_lstm.conv.weight']!, store.params['conv_lstm.conv.bias']!, { padding: 1 }));
    const gd = gates.dataSync();
    const cd = c.dataSync();
    const hOut = out.h.dataSync();
    const cOut = out.c.dataSync();
    for (let px = 0; px < B * H * W; px++) {
      for (let k = 0; k < HID; k++) {
        const g = (slot: number): number => gd[px * 4 * HID + slot * HID + k]!;
        const cn = sig(g(1)) * cd[px * HID + k]! + sig(g(0)) * Math.tanh(g(3));
        const hn = sig(g(2)) * Math.tanh(cn);
        assert.ok(Math.abs(cOut[px * HID + k]! - cn) < 1e-5, `c at ${px},${k}`);
        assert.ok(Math.abs(hOut[px * HID + k]! - hn) < 1e-5, `h at ${px},${k}`);
      }
    }
    tf.dispose([out.h, out.c, gates]);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    tf.dispose([x, h, c]);
    store.dispose();
  }
});

test('ConvLSTM gradients match central finite differences', () => {
  const { store, cell, x, h, c } = setup(2);
  try {
    const w = store.params['conv_lstm.conv.weight']!;
    const b = store.params['conv_lstm.conv.bias']!;
    const f = (xi: Tensor, hi: Tensor, ci: Tensor, wi: Tensor, bi: Tensor): Tensor => {
      const s = cell({ 'conv_lstm.conv.weight': wi, 'conv_lstm.conv.bias': bi }, xi, { h: hi, c: ci });
      // Both outputs enter the loss, with different weights.
      return tf.add(s.h.mul(0.7), s.c.mul(-0.3));
    };
    const inputs = [x, h, c, w, b];
    const r = tf.tensor(Rng.seeded(9).uniformArray(B * H * W * HID, -1, 1), [B, H, W, HID]);
    const rd = r.dataSync();
    const loss = (xs: Tensor[]): number => {
      const y = tf.tidy(() => f(...(xs as [Tensor, Tensor, Tensor, Tensor, Tensor])));
      const d = y.dataSync();
      y.dispose();
      let s = 0;
      for (let i = 0; i < d.length; i++) s += d[i]! * rd[i]!;
      return s;
    };
    const before = tf.memory().numTensors;
    const grads = tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(f(...(xs as [Tensor, Tensor, Tensor, Tensor, Tensor])), r)))(inputs);
    const gd = grads.map((g) => g.dataSync());
    tf.dispose(grads);
    assert.equal(tf.memory().numTensors, before, 'gradient computation leaked tensors');
    const rng = Rng.seeded(5);
    const step = 1e-2;
    inputs.forEach((t, k) => {
      const base = t.dataSync();
      for (let n = 0; n < 12; n++) {
        const i = rng.int(base.length);
        const at = (delta: number): number => {
          const d = Float32Array.from(base);
          d[i] = d[i]! + delta;
          const moved = tf.tensor(d, t.shape);
          const v = loss(inputs.map((u, j) => (j === k ? moved : u)));
          moved.dispose();
          return v;
        };
        const numeric = (at(step) - at(-step)) / (2 * step);
        const analytic = gd[k]![i]!;
        assert.ok(Math.abs(numeric - analytic) <= 2e-3 * Math.max(1, Math.abs(numeric)), `input ${k}[${i}]: numeric ${numeric} vs analytic ${analytic}`);
      }
    });
    r.dispose();
  } finally {
    tf.dispose([x, h, c]);
    store.dispose();
  }
});

test('ConvLSTM checks its input, state and kernel size', () => {
  const store = new ParamStore(0);
  try {
    assert.throws(() => convLstmCellLayer(store.root().child('a'), { inputChannels: 2, hiddenChannels: 2, kernelSize: 4 }), /odd/);
    const cell = convLstmCellLayer(store.root().child('b'), { inputChannels: 2, hiddenChannels: 3, kernelSize: 3 });
    const s = convLstmZeroState(1, 4, 4, 3);
    const x = tf.zeros([1, 4, 4, 5]);
    assert.throws(() => cell(store.params, x, s), /expected 2 input and 3 hidden channels, got 5 and 3/);
    const x2 = tf.zeros([1, 5, 4, 2]);
    assert.throws(() => cell(store.params, x2, s), /do not match/);
    tf.dispose([x, x2, s.h, s.c]);
  } finally {
    store.dispose();
  }
});
