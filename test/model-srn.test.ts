import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { srn } from '../src/models/srn.ts';
import { buildModel, fromOriginal, paramShapes } from '../src/models/define.ts';
import { loadStateDict } from '../src/models/model.ts';
import type { Model } from '../src/models/model.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff, pyramid, pyramidStep } from './helpers/fixtures.ts';

const fx = loadFixture('srn');

function fixtureRun(m: Model): { ys: Tensor[]; xs: Tensor[] } {
  const xs = [0, 1, 2].map((i) => toTensor(ioTensor(fx, `input.${i}`)));
  return { xs, ys: m.apply(m.params, xs, { training: false }) as Tensor[] };
}

test('SRN decoding the hidden state (as in the paper; the default) gives different outputs', () => {
  // The fixture's model decodes the cell state, as the original does.
  const { lstmOutput, ...rest } = fromOriginal('SRN', fx.meta.kwargs);
  assert.equal(lstmOutput, 'cell');
  // Left out, lstmOutput takes its default.
  const m = buildModel(rest, 0);
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

test('SRN without the LSTM has no ConvLSTM parameters', () => {
  assert.ok(Object.keys(paramShapes(srn()).params).includes('conv_lstm.conv.weight'));
  assert.ok(!Object.keys(paramShapes(srn({ withLstm: false })).params).some((k) => k.startsWith('conv_lstm.')));
});

test('SRN rejects bad pyramids and options with clear errors', () => {
  const m = srn.create({ innerChannels: 2 }, 0);
  const bad = (xs: Tensor | Tensor[], re: RegExp): void => {
    assert.throws(() => m.apply(m.params, xs, { training: false }), re);
    tf.dispose(xs);
  };
  try {
    bad(tf.zeros([1, 16, 16, 3]), /list of 3 images.*multiples of 16/);
    bad(pyramid(tf.zeros([1, 16, 16, 3]), 2), /got 2 levels/);
    bad(pyramid(tf.zeros([1, 16, 16, 1]), 3), /1 channels/);
    bad([tf.zeros([1, 32, 32, 3]), tf.zeros([1, 16, 16, 3]), tf.zeros([1, 4, 8, 3])], /exactly half/);
  } finally {
    m.dispose();
  }
  assert.throws(() => srn.create({ inChannels: 5 }, 0), /invalid model spec srn:[\s\S]*inChannels: expected an even number/);
});

test('an SRN training step leaks no tensors, and two steps lower the loss', () => {
  for (const withLstm of [true, false]) {
    const m = srn.create({ innerChannels: 2, withLstm }, 3);
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
