import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { dblrnet } from '../src/models/dblrnet.ts';
import { buildModel, fromOriginal } from '../src/models/define.ts';
import { loadStateDict, stateDict } from '../src/models/model.ts';
import { loadFixture, maxAbsDiff, sgdStep } from './helpers/fixtures.ts';

const fx = loadFixture('dblrnet');
// The fixture's model: 5 frames, 3 channels, 8 inner channels.
const spec = fromOriginal('DBLRNet', fx.meta.kwargs);

test('DBLRNet 3-D kernels round-trip in PyTorch layout', () => {
  const m = buildModel(spec, 0);
  try {
    loadStateDict(m, fx.weights, { layout: 'pytorch', strict: true });
    const sd = stateDict(m, 'pytorch');
    assert.deepEqual(sd['L_in.0.weight']!.shape, [16, 3, 3, 3, 3]);
    assert.deepEqual(Array.from(sd['L_in.2.weight']!.data), Array.from(fx.weights['L_in.2.weight']!.data));
  } finally {
    m.dispose();
  }
});

test('DBLRNet with T > 5 frames restores T−4 frames, each as the 5-frame model on its window', () => {
  const m5 = buildModel(spec, 0);
  const m7 = buildModel({ ...spec, numFrames: 7 }, 0);
  try {
    loadStateDict(m5, fx.weights, { layout: 'pytorch', strict: true });
    loadStateDict(m7, fx.weights, { layout: 'pytorch', strict: true });
    const x = tf.randomUniform([2, 7, 8, 8, 3], 0, 1, 'float32', 5);
    const y = m7.apply(m7.params, x, { training: false }) as Tensor;
    assert.deepEqual(y.shape, [2, 3, 8, 8, 3]);
    for (let t = 0; t < 3; t++) {
      const win = x.slice([0, t, 0, 0, 0], [2, 5, 8, 8, 3]);
      const ref = m5.apply(m5.params, win, { training: false }) as Tensor;
      const got = y.slice([0, t, 0, 0, 0], [2, 1, 8, 8, 3]);
      assert.ok(maxAbsDiff(got.dataSync(), ref.dataSync()) < 1e-5, `frame ${t}`);
      tf.dispose([win, ref, got]);
    }
    tf.dispose([x, y]);
  } finally {
    m5.dispose();
    m7.dispose();
  }
});

test('DBLRNet rejects bad clips and options with clear errors', () => {
  const m = buildModel({ ...spec, innerChannels: 4 }, 0);
  try {
    const bad = (shape: number[], re: RegExp): void => {
      const x = tf.zeros(shape);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    };
    bad([1, 4, 8, 8, 3], /4 frames, the model was built for 5/);
    bad([1, 5, 8, 8, 1], /1 channels, the model was built for 3/);
    bad([1, 8, 8, 3], /clip \[B, T, H, W, C\]/);
    const x = tf.zeros([1, 5, 8, 8, 3]);
    assert.throws(() => m.apply(m.params, [x], { training: false }), /got a list/);
    x.dispose();
  } finally {
    m.dispose();
  }
  assert.throws(() => dblrnet.create({ numFrames: 3 }, 0), /dblrnet\.numFrames: expected at least 5 .*got 3/);
  assert.throws(() => dblrnet.create({ innerChannels: 0 }, 0), /dblrnet\.innerChannels: expected positive integer, got 0/);
});

test('DBLRNet training steps leak no tensors and lower the loss on a fixed batch', () => {
  const m = dblrnet.create({ innerChannels: 4 }, 7);
  try {
    const x = tf.randomUniform([2, 5, 12, 12, 3], 0, 1, 'float32', 1);
    const target = tf.randomUniform([2, 12, 12, 3], 0, 1, 'float32', 2);
    const rm = m.buffers['Ln.0.convs.1.running_mean']!.dataSync().slice();
    const l0 = sgdStep(m, x, target, 0.05);
    const before = tf.memory().numTensors;
    sgdStep(m, x, target, 0.05);
    assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
    const l2 = sgdStep(m, x, target, 0.05);
    assert.ok(l2 < l0, `loss did not decrease: ${l0} -> ${l2}`);
    assert.notDeepEqual(m.buffers['Ln.0.convs.1.running_mean']!.dataSync(), rm, 'training mode updates BN statistics');
    tf.dispose([x, target]);
  } finally {
    m.dispose();
  }
});
