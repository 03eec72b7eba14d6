import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { strcnn } from '../src/models/strcnn.ts';
import { buildModel, fromOriginal } from '../src/models/define.ts';
import { countParams, loadStateDict } from '../src/models/model.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff, sgdStep } from './helpers/fixtures.ts';

const fx = loadFixture('strcnn');
// The fixture's model: 5 frames per step, 8 inner channels, 2 encoder and decoder blocks, DTB.
const spec = fromOriginal('STRCNN', fx.meta.kwargs);

test('STRCNN honours isDtb: without it there are no DTB parameters and no blending', () => {
  const plain = buildModel({ ...spec, isDtb: false }, 0);
  const withDtb = buildModel(spec, 0);
  try {
    assert.ok(!Object.keys(plain.params).some((k) => k.includes('.dtb.')));
    const c = spec.innerChannels as number;
    assert.equal(countParams(withDtb) - countParams(plain), 2 * c * c * 25 + c + 1);
    const report = loadStateDict(plain, fx.weights, { layout: 'pytorch', strict: false });
    assert.deepEqual(report.unexpected.sort(), ['strcnn_cell.dtb.beta', 'strcnn_cell.dtb.conv.bias', 'strcnn_cell.dtb.conv.weight']);
    // β = 1 makes the blending weight 1 everywhere: the DTB passes the new encoding through.
    loadStateDict(withDtb, { ...fx.weights, 'strcnn_cell.dtb.beta': { shape: [1], data: new Float32Array([1]) } }, { layout: 'pytorch', strict: true });
    const x = toTensor(ioTensor(fx, 'input'));
    const a = plain.apply(plain.params, x, { training: false }) as Tensor;
    const b = withDtb.apply(withDtb.params, x, { training: false }) as Tensor;
    assert.deepEqual(a.shape, [1, 4, 32, 32, 3]);
    assert.ok(maxAbsDiff(a.dataSync(), b.dataSync()) < 1e-6);
    tf.dispose([x, a, b]);
  } finally {
    plain.dispose();
    withDtb.dispose();
  }
});

test('STRCNN rejects bad clips and options with clear errors', () => {
  const m = buildModel({ ...spec, innerChannels: 4, encoderBlocks: 1, decoderBlocks: 1 }, 0);
  try {
    const bad = (shape: number[], re: RegExp): void => {
      const x = tf.zeros(shape);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    };
    bad([1, 4, 8, 8, 3], /4 frames, fewer than the 5 encoded per step/);
    bad([1, 5, 8, 8, 1], /1 channels, the model was built for 3/);
    bad([1, 8, 8, 3], /clip \[B, T, H, W, C\]/);
  } finally {
    m.dispose();
  }
  assert.throws(() => strcnn.create({ innerChannels: 7 }, 0), /strcnn\.innerChannels: expected an even number, got 7/);
  assert.throws(() => strcnn.create({ encoderBlocks: -1 }, 0), /strcnn\.encoderBlocks: expected non-negative integer, got -1/);
});

test('STRCNN training steps leak no tensors and lower the loss on a fixed batch', () => {
  const m = strcnn.create({ numFramesEncoded: 3, innerChannels: 4, encoderBlocks: 1, decoderBlocks: 1 }, 7);
  try {
    const x = tf.randomUniform([2, 4, 12, 12, 3], 0, 1, 'float32', 1);
    const target = tf.randomUniform([2, 2, 12, 12, 3], 0, 1, 'float32', 2);
    const l0 = sgdStep(m, x, target, 0.05);
    const before = tf.memory().numTensors;
    sgdStep(m, x, target, 0.05);
    assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
    const l2 = sgdStep(m, x, target, 0.05);
    assert.ok(l2 < l0, `loss did not decrease: ${l0} -> ${l2}`);
    assert.notEqual(m.params['strcnn_cell.dtb.beta']!.dataSync()[0], 0, 'β is trained');
    tf.dispose([x, target]);
  } finally {
    m.dispose();
  }
});
