import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Scalar, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { mimoUnet, mimoUnetPlus } from '../src/models/mimounet.ts';
import { buildModel, fromOriginal } from '../src/models/define.ts';
import { loadStateDict } from '../src/models/model.ts';
import type { Model } from '../src/models/model.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff, sgdStepWith } from './helpers/fixtures.ts';

const fx = loadFixture('mimounet');

/** The original class `className` with the fixture's constructor arguments, its weights loaded. */
function fixtureModel(className: string): Model {
  const m = buildModel(fromOriginal(className, fx.meta.kwargs), 0);
  loadStateDict(m, fx.weights, { layout: 'pytorch', strict: true });
  return m;
}

/** Mean-abs loss summed over the outputs (each against the target resized to its size), SGD. */
function listStep(m: Model, x: Tensor, target: Tensor, lr: number): number {
  const lossOf = (ys: Tensor | Tensor[]) =>
    tf.addN((ys as Tensor[]).map((y) => tf.mean(tf.abs(tf.sub(y, tf.image.resizeBilinear(target as Tensor4D, [y.shape[1]!, y.shape[2]!])))))) as Scalar;
  return sgdStepWith(m, x, lossOf, lr);
}

test('MIMO-UNet flattens a clip [B, 1, H, W, C] to images: the fixture output again', () => {
  const m = fixtureModel('MIMOUNet');
  try {
    const before = tf.memory().numTensors;
    const x = toTensor(ioTensor(fx, 'input'));
    const x5 = x.expandDims(1);
    const ys5 = m.apply(m.params, x5, { training: false }) as Tensor[];
    assert.ok(maxAbsDiff(ys5[2]!.dataSync(), ioTensor(fx, 'output.2').data) <= 1e-4);
    tf.dispose([x, x5, ...ys5]);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    m.dispose();
  }
});

test('MIMO-UNet+ has the same parameters and, in eval mode, the same outputs', () => {
  const m = fixtureModel('MIMOUNetPlus');
  try {
    const x = toTensor(ioTensor(fx, 'input'));
    // 5-D input with two frames: each frame restored on its own.
    const clip = tf.stack([x, x.reverse(2)], 1);
    const ys = m.apply(m.params, clip, { training: false }) as Tensor[];
    assert.deepEqual(ys[2]!.shape, [2, 32, 32, 3]);
    const first = ys[2]!.slice([0, 0, 0, 0], [1, 32, 32, 3]);
    assert.ok(maxAbsDiff(first.dataSync(), ioTensor(fx, 'output.2').data) <= 1e-4);
    tf.dispose([x, clip, first, ...ys]);
  } finally {
    m.dispose();
  }
});

test('MIMO-UNet rejects bad inputs with clear errors', () => {
  const m = mimoUnet.create({ numRes: 0 }, 0);
  try {
    for (const [shape, re] of [[[1, 8, 8, 1], /3 channels/], [[8, 8, 3], /\[B, H, W, C\]/]] as const) {
      const x = tf.zeros([...shape]);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    }
    const x = tf.zeros([1, 8, 8, 3]);
    assert.throws(() => m.apply(m.params, [x], { training: false }), /got a list/);
    x.dispose();
  } finally {
    m.dispose();
  }
  assert.throws(() => mimoUnet.create({ numRes: -1 }, 0), /invalid model spec mimoUnet:[\s\S]*numRes: expected non-negative integer, got -1/);
});

test('a MIMO-UNet+ training step leaks no tensors, and two steps lower the loss', () => {
  const m = mimoUnetPlus.create({ numRes: 1 }, 3);
  try {
    const x = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 1);
    const target = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 2);
    const before = tf.memory().numTensors;
    const l0 = listStep(m, x, target, 0.01);
    assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
    listStep(m, x, target, 0.01);
    // Compare in eval mode (no dropout noise) before and after: loss must have gone down.
    const evalLoss = (): number =>
      tf.tidy(() => {
        const ys = m.apply(m.params, x, { training: false }) as Tensor[];
        return tf.addN(ys.map((y) => tf.mean(tf.abs(tf.sub(y, tf.image.resizeBilinear(target as Tensor4D, [y.shape[1]!, y.shape[2]!])))))) as Scalar;
      }).dataSync()[0]!;
    const after = evalLoss();
    assert.ok(after < l0, `loss did not decrease: ${l0} -> ${after}`);
    tf.dispose([x, target]);
  } finally {
    m.dispose();
  }
});

test('MIMO-UNet+ dropout is active only in training mode and is seeded', () => {
  const run = (training: boolean, seed: number): Float32Array => {
    const m = mimoUnetPlus.create({ numRes: 0 }, seed);
    const x = tf.ones([1, 8, 8, 3]).mul(0.5);
    try {
      const ys = m.apply(m.params, x, { training }) as Tensor[];
      const out = ys[2]!.dataSync() as Float32Array;
      tf.dispose(ys);
      return Float32Array.from(out);
    } finally {
      x.dispose();
      m.dispose();
    }
  };
  assert.deepEqual(run(true, 5), run(true, 5));
  assert.notDeepEqual(run(true, 5), run(false, 5));
  assert.deepEqual(run(false, 5), run(false, 5));
});
