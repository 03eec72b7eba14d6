import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { buildRestormer } from '../src/models/restormer.ts';
import { countParams, loadStateDict } from '../src/models/model.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff, sgdStep } from './helpers/fixtures.ts';

const fx = loadFixture('restormer');
const kw = fx.meta.kwargs as { dim: number; num_blocks: [number, number, number, number]; num_refinement_blocks: number; heads: [number, number, number, number] };
const opts = { dim: kw.dim, numBlocks: kw.num_blocks, numRefinementBlocks: kw.num_refinement_blocks, heads: kw.heads };

test('Restormer reproduces the fixture output in eval mode (≤ 1e-4)', () => {
  const m = buildRestormer(opts, 0);
  try {
    assert.equal(countParams(m), fx.meta.trainableParams);
    loadStateDict(m, fx.weights, { layout: 'pytorch', strict: true });
    const before = tf.memory().numTensors;
    const x = toTensor(ioTensor(fx, 'input'));
    const y = m.apply(m.params, x, { training: false }) as Tensor;
    const expected = ioTensor(fx, 'output');
    assert.deepEqual(y.shape, [...expected.shape]);
    const err = maxAbsDiff(y.dataSync(), expected.data);
    assert.ok(err <= 1e-4, `max abs error ${err}`);
    // [B, 1, H, W, C] is accepted and gives the same result.
    const x5 = x.expandDims(1);
    const y5 = m.apply(m.params, x5, { training: false }) as Tensor;
    assert.ok(maxAbsDiff(y5.dataSync(), expected.data) <= 1e-4);
    tf.dispose([x, y, x5, y5]);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    m.dispose();
  }
});

test('Restormer() with the default arguments has 26,126,644 trainable parameters', () => {
  const m = buildRestormer({}, 1);
  try {
    assert.equal(countParams(m), 26_126_644);
  } finally {
    m.dispose();
  }
});

test('Restormer BiasFree norms and dual-pixel mode build, run and name their parameters', () => {
  const m = buildRestormer({ ...opts, dim: 4, heads: [1, 1, 1, 1], layerNormType: 'BiasFree', dualPixelTask: true, inpChannels: 6, bias: true }, 2);
  try {
    assert.ok('encoder_level1.0.norm1.body.weight' in m.params);
    assert.ok(!('encoder_level1.0.norm1.body.bias' in m.params));
    assert.deepEqual(m.params['skip_conv.weight']!.shape, [1, 1, 4, 8]);
    assert.ok('output.bias' in m.params && 'patch_embed.proj.bias' in m.params);
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
  const m = buildRestormer({ ...opts, dim: 4, heads: [1, 1, 1, 1] }, 0);
  try {
    for (const [shape, re] of [[[1, 2, 8, 8, 3], /exactly one frame/], [[1, 8, 8, 1], /1 channels/], [[1, 12, 8, 3], /multiples of 8/], [[8, 8, 3], /\[B, H, W, C\]/]] as const) {
      const x = tf.zeros([...shape]);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    }
  } finally {
    m.dispose();
  }
  assert.throws(() => buildRestormer({ dim: 6, heads: [4, 1, 1, 1] }, 0), /heads\[0\]=4 must divide/);
  assert.throws(() => buildRestormer({ outChannels: 1 }, 0), /must equal inpChannels/);
});

test('a Restormer training step leaks no tensors, and two steps lower the loss', () => {
  const m = buildRestormer({ dim: 4, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 1, 2, 2] }, 3);
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
