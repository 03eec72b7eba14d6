import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { restormer, type RestormerOptions } from '../src/models/restormer.ts';
import { buildModel, fromOriginal } from '../src/models/define.ts';
import { loadStateDict } from '../src/models/model.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff, sgdStep } from './helpers/fixtures.ts';

const small: Partial<RestormerOptions> = { dim: 4, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 1, 1, 1] };

test('Restormer accepts a clip of one frame [B, 1, H, W, C]: the fixture output again', () => {
  const fx = loadFixture('restormer');
  const m = buildModel(fromOriginal('Restormer', fx.meta.kwargs), 0);
  try {
    loadStateDict(m, fx.weights, { layout: 'pytorch', strict: true });
    const before = tf.memory().numTensors;
    const x = toTensor(ioTensor(fx, 'input'));
    const x5 = x.expandDims(1);
    const y5 = m.apply(m.params, x5, { training: false }) as Tensor;
    assert.ok(maxAbsDiff(y5.dataSync(), ioTensor(fx, 'output').data) <= 1e-4);
    tf.dispose([x, x5, y5]);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    m.dispose();
  }
});

test('Restormer BiasFree norms and dual-pixel mode build, run and name their parameters', () => {
  const m = restormer.create({ ...small, layerNormType: 'BiasFree', dualPixelTask: true, inpChannels: 6, bias: true }, 2);
  try {
    assert.ok('encoder_level1.0.norm1.body.weight' in m.params);
    assert.ok(!('encoder_level1.0.norm1.body.bias' in m.params));
    assert.deepEqual(m.params['skip_conv.weight']!.shape, [1, 1, 4, 8]);
    // bias reaches the output conv but not the patch embedding, as in the original.
    assert.ok('output.bias' in m.params && !('patch_embed.proj.bias' in m.params));
    const x = tf.randomUniform([1, 8, 8, 6], 0, 1, 'float32', 3);
    const y = m.apply(m.params, x, { training: false }) as Tensor;
    assert.deepEqual(y.shape, [1, 8, 8, 3]);
    assert.ok(Number.isFinite(y.sum().dataSync()[0]));
    tf.dispose([x, y]);
  } finally {
    m.dispose();
  }
});

test('Restormer rejects bad inputs and options with clear errors', () => {
  const m = restormer.create(small, 0);
  try {
    for (const [shape, re] of [[[1, 2, 8, 8, 3], /exactly one frame/], [[1, 8, 8, 1], /1 channels/], [[8, 8, 3], /\[B, H, W, C\]/]] as const) {
      const x = tf.zeros([...shape]);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    }
  } finally {
    m.dispose();
  }
  assert.throws(() => restormer.create({ dim: 6, heads: [4, 1, 1, 1] }, 0), /invalid model spec restormer:[\s\S]*heads\.0: expected a divisor of the level-1 width 6, got 4/);
  assert.throws(() => restormer.create({ outChannels: 1 }, 0), /invalid model spec restormer:[\s\S]*outChannels: expected inpChannels \(3\)/);
});

test('a Restormer training step leaks no tensors, and two steps lower the loss', () => {
  const m = restormer.create({ dim: 4, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 1, 2, 2] }, 3);
  try {
    const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 1);
    const target = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 2);
    const before = tf.memory().numTensors;
    const l0 = sgdStep(m, x, target, 0.02);
    assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
    sgdStep(m, x, target, 0.02);
    const l2 = sgdStep(m, x, target, 0);
    assert.ok(l2 < l0, `loss did not decrease: ${l0} -> ${l2}`);
    tf.dispose([x, target]);
  } finally {
    m.dispose();
  }
});
