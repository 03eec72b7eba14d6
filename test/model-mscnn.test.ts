import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { mscnn } from '../src/models/mscnn.ts';
import { pyramid, pyramidStep } from './helpers/fixtures.ts';

/** [x, x/2, x/4, ...] by 2×2 averaging. */
test('MSResNet honours inChannels / outChannels', () => {
  const m = mscnn.create({ inChannels: 1, outChannels: 2, numFeats: 4, numResblocks: 1, kernelSize: 3, numScales: 2 }, 0);
  try {
    assert.deepEqual(m.params['body_models.0.body.0.weight']!.shape, [3, 3, 3, 4]);
    assert.deepEqual(m.params['body_models.1.body.0.weight']!.shape, [3, 3, 1, 4]);
    assert.deepEqual(m.params['conv_end_models.1.uppath.0.weight']!.shape, [3, 3, 2, 8]);
    const xs = pyramid(tf.zeros([1, 8, 8, 1]), 2);
    const ys = m.apply(m.params, xs, { training: false }) as Tensor[];
    assert.deepEqual(ys.map((y) => y.shape), [[1, 8, 8, 2], [1, 4, 4, 2]]);
    tf.dispose([...xs, ...ys]);
  } finally {
    m.dispose();
  }
});

test('MSResNet rejects bad pyramids with clear errors', () => {
  const m = mscnn.create({ numFeats: 4, numResblocks: 0 }, 0);
  const bad = (xs: Tensor | Tensor[], re: RegExp): void => {
    assert.throws(() => m.apply(m.params, xs, { training: false }), re);
    tf.dispose(xs);
  };
  try {
    bad(tf.zeros([1, 16, 16, 3]), /list of 3 images/);
    bad(pyramid(tf.zeros([1, 16, 16, 3]), 2), /got 2 levels/);
    bad(pyramid(tf.zeros([1, 16, 16, 1]), 3), /1 channels/);
    bad([tf.zeros([1, 16, 16, 3]), tf.zeros([1, 8, 8, 3]), tf.zeros([1, 5, 4, 3])], /exactly half.*multiples of 4/);
    bad([tf.zeros([1, 16, 16, 3]), tf.zeros([1, 8, 8, 3]), tf.zeros([4, 4, 3])], /\[B, H, W, C\]/);
  } finally {
    m.dispose();
  }
  assert.throws(() => mscnn.create({ kernelSize: 4 }, 0), /invalid model spec mscnn:[\s\S]*kernelSize: expected an odd number, got 4/);
});

test('an MSResNet training step leaks no tensors, and two steps lower the loss', () => {
  const m = mscnn.create({ numFeats: 4, numResblocks: 1 }, 3);
  try {
    const xs = pyramid(tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 1), 3);
    const ts = pyramid(tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 2), 3);
    const before = tf.memory().numTensors;
    const l0 = pyramidStep(m, xs, ts, 0.01);
    assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
    pyramidStep(m, xs, ts, 0.01);
    const l2 = pyramidStep(m, xs, ts, 0);
    assert.ok(l2 < l0, `loss did not decrease: ${l0} -> ${l2}`);
    tf.dispose([...xs, ...ts]);
  } finally {
    m.dispose();
  }
});
