import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { nafnet } from '../src/models/nafnet.ts';
import { buildModel, fromOriginal } from '../src/models/define.ts';
import { loadStateDict } from '../src/models/model.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff, sgdStep } from './helpers/fixtures.ts';

const fx = loadFixture('nafnet');
// The fixture's configuration, from the original's constructor arguments.
const spec = fromOriginal(fx.meta.model, fx.meta.kwargs);

function loaded() {
  const m = buildModel(spec, 0);
  loadStateDict(m, fx.weights, { layout: 'pytorch', strict: true });
  return m;
}

test('NAFNet pads right/bottom to a multiple of 2^levels and crops back', () => {
  const m = loaded();
  try {
    const full = toTensor(ioTensor(fx, 'input'));
    // A 29x30 image: the model must behave as if it were zero-padded to 32x32 at the end.
    const x = full.slice([0, 0, 0, 0], [1, 29, 30, 3]);
    const padded = tf.pad(x, [[0, 0], [0, 3], [0, 2], [0, 0]]);
    const y = m.apply(m.params, x, { training: false }) as Tensor;
    const yp = m.apply(m.params, padded, { training: false }) as Tensor;
    assert.deepEqual(y.shape, [1, 29, 30, 3]);
    const ref = yp.slice([0, 0, 0, 0], [1, 29, 30, 3]);
    assert.ok(maxAbsDiff(y.dataSync(), ref.dataSync()) <= 1e-5);
    tf.dispose([full, x, padded, y, yp, ref]);
  } finally {
    m.dispose();
  }
});

test('NAFNet rejects bad inputs with clear errors', () => {
  const m = buildModel({ ...spec, width: 4 }, 0);
  try {
    for (const [shape, re] of [[[1, 2, 8, 8, 3], /exactly one frame/], [[1, 8, 8, 1], /1 channels/], [[8, 8, 3], /\[B, H, W, C\]/]] as const) {
      const x = tf.zeros([...shape]);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    }
  } finally {
    m.dispose();
  }
  assert.throws(() => buildModel({ ...spec, decBlkNums: [1] }, 0), /decBlkNums: expected 2 stages like encBlkNums, got 1/);
});

test('a NAFNet training step leaks no tensors and changes the weights', () => {
  const m = nafnet.create({ imgChannels: 3, width: 4, middleBlkNum: 1, encBlkNums: [1, 1], decBlkNums: [1, 1] }, 3);
  try {
    const x = tf.randomUniform([2, 12, 12, 3], 0, 1, 'float32', 1);
    const target = tf.randomUniform([2, 12, 12, 3], 0, 1, 'float32', 2);
    sgdStep(m, x, target, 0.01);
    const w0 = m.params['intro.weight']!.dataSync().slice();
    const before = tf.memory().numTensors;
    sgdStep(m, x, target, 0.01);
    assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
    assert.notDeepEqual(m.params['intro.weight']!.dataSync(), w0);
    tf.dispose([x, target]);
  } finally {
    m.dispose();
  }
});
