import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Scalar, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { buildSrn } from '../src/models/srn.ts';
import { countParams, loadStateDict } from '../src/models/model.ts';
import type { Model } from '../src/models/model.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff } from './helpers/fixtures.ts';

const fx = loadFixture('srn');
const kw = fx.meta.kwargs as { in_channels: number; inner_channels: number; num_levels: number; with_lstm: boolean };
// The original decodes the LSTM cell state; the fixture was made with it.
const opts = { inChannels: kw.in_channels, innerChannels: kw.inner_channels, numLevels: kw.num_levels, withLstm: kw.with_lstm, lstmOutput: 'cell' } as const;

function pyramid(x: Tensor, levels: number): Tensor[] {
  const out = [x];
  for (let i = 1; i < levels; i++) out.push(tf.avgPool(out[i - 1] as Tensor4D, 2, 2, 'valid'));
  return out;
}

/** Mean-abs loss summed over the output pyramid, then one SGD step; returns the loss before it. */
function pyramidStep(m: Model, xs: Tensor[], targets: Tensor[], lr: number): number {
  const vars = Object.values(m.params);
  const { value, grads } = tf.variableGrads(() => {
    const ys = m.apply(m.params, xs, { training: true }) as Tensor[];
    return tf.addN(ys.map((y, i) => tf.mean(tf.abs(tf.sub(y, targets[i]!))))) as Scalar;
  }, vars);
  tf.tidy(() => {
    for (const v of vars) v.assign(v.sub(grads[v.name]!.mul(lr)));
  });
  const loss = value.dataSync()[0]!;
  tf.dispose([value, grads]);
  return loss;
}

function fixtureRun(m: Model): { ys: Tensor[]; xs: Tensor[] } {
  const xs = [0, 1, 2].map((i) => toTensor(ioTensor(fx, `input.${i}`)));
  return { xs, ys: m.apply(m.params, xs, { training: false }) as Tensor[] };
}

test('SRN (decoding the LSTM cell state, as the original) reproduces all fixture outputs (≤ 1e-4)', () => {
  const m = buildSrn(opts, 0);
  try {
    assert.equal(countParams(m), fx.meta.trainableParams);
    loadStateDict(m, fx.weights, { layout: 'pytorch', strict: true });
    const before = tf.memory().numTensors;
    const { xs, ys } = fixtureRun(m);
    assert.equal(ys.length, 3);
    ys.forEach((y, i) => {
      const expected = ioTensor(fx, `output.${i}`);
      assert.deepEqual(y.shape, [...expected.shape]);
      const err = maxAbsDiff(y.dataSync(), expected.data);
      assert.ok(err <= 1e-4, `output ${i}: max abs error ${err}`);
    });
    tf.dispose([...xs, ...ys]);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    m.dispose();
  }
});

test('SRN decoding the hidden state (as in the paper; the default) gives different outputs', () => {
  const m = buildSrn({ ...opts, lstmOutput: 'hidden' }, 0);
  try {
    loadStateDict(m, fx.weights, { layout: 'pytorch', strict: true });
    const { xs, ys } = fixtureRun(m);
    const err = maxAbsDiff(ys[2]!.dataSync(), ioTensor(fx, 'output.2').data);
    assert.ok(err > 1e-4, 'hidden-state decoding should give a different coarsest output');
    tf.dispose([...xs, ...ys]);
  } finally {
    m.dispose();
  }
});

test('SRN(6, 32, 3) has 10,158,563 trainable parameters (6,881,251 without the LSTM)', () => {
  const m = buildSrn({ inChannels: 6, innerChannels: 32, numLevels: 3 }, 1);
  try {
    assert.equal(countParams(m), 10_158_563);
  } finally {
    m.dispose();
  }
  const n = buildSrn({ inChannels: 6, innerChannels: 32, numLevels: 3, withLstm: false }, 1);
  try {
    assert.equal(countParams(n), 6_881_251);
    assert.ok(!('conv_lstm.conv.weight' in n.params));
  } finally {
    n.dispose();
  }
});

test('SRN rejects bad pyramids and options with clear errors', () => {
  const m = buildSrn({ ...opts, innerChannels: 2 }, 0);
  const bad = (xs: Tensor | Tensor[], re: RegExp): void => {
    assert.throws(() => m.apply(m.params, xs, { training: false }), re);
    tf.dispose(xs);
  };
  try {
    bad(tf.zeros([1, 16, 16, 3]), /list of 3 images.*multiples of 16/);
    bad(pyramid(tf.zeros([1, 16, 16, 3]), 2), /got 2 levels/);
    bad(pyramid(tf.zeros([1, 16, 16, 1]), 3), /1 channels/);
    bad(pyramid(tf.zeros([1, 24, 24, 3]), 3), /multiples of 4/);
    bad([tf.zeros([1, 32, 32, 3]), tf.zeros([1, 16, 16, 3]), tf.zeros([1, 4, 8, 3])], /exactly half/);
  } finally {
    m.dispose();
  }
  assert.throws(() => buildSrn({ inChannels: 5 }, 0), /even/);
});

test('an SRN training step leaks no tensors, and two steps lower the loss', () => {
  for (const withLstm of [true, false]) {
    const m = buildSrn({ innerChannels: 2, withLstm }, 3);
    try {
      const xs = pyramid(tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 1), 3);
      const ts = pyramid(tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 2), 3);
      const before = tf.memory().numTensors;
      const l0 = pyramidStep(m, xs, ts, 0.01);
      assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
      pyramidStep(m, xs, ts, 0.01);
      const l2 = pyramidStep(m, xs, ts, 0);
      assert.ok(l2 < l0, `withLstm ${withLstm}: loss did not decrease: ${l0} -> ${l2}`);
      tf.dispose([...xs, ...ts]);
    } finally {
      m.dispose();
    }
  }
});
