import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Scalar, Tensor } from '@tensorflow/tfjs';
// The definition registers the original class name EDVR.
import '../src/models/edvr.ts';
import { buildModel, fromOriginal } from '../src/models/define.ts';
import { loadFixture, sgdStep } from './helpers/fixtures.ts';

// The fixture's model: 16 features, 1 extraction and 1 reconstruction block, hrIn with
// pre-deblurring and TSA.
const spec = fromOriginal('EDVR', loadFixture('edvr').meta.kwargs);
// A small model for training checks: 3 frames, 8 features, 2 deformable groups.
const tiny = { ...spec, numFeat: 8, numFrame: 3, deformableGroups: 2, centerFrameIdx: 1 };

test('EDVR variants: no TSA, no pre-deblurring, low-resolution input (×4 output)', () => {
  const m = buildModel({ ...tiny, hrIn: false, withPredeblur: false, withTsa: false }, 3);
  try {
    assert.ok('conv_first.weight' in m.params && 'fusion.weight' in m.params);
    assert.ok(!('predeblur.conv_first.weight' in m.params) && !('fusion.temporal_attn1.weight' in m.params));
    assert.deepEqual(m.params['fusion.weight']!.shape, [1, 1, 3 * 8, 8]);
    const x = tf.randomUniform([2, 3, 8, 12, 3], 0, 1, 'float32', 4);
    const y = m.apply(m.params, x, { training: false }) as Tensor;
    assert.deepEqual(y.shape, [2, 32, 48, 3]);
    tf.dispose([x, y]);
  } finally {
    m.dispose();
  }
});

test('EDVR rejects bad clips and inconsistent options with clear errors', () => {
  assert.throws(() => buildModel({ ...spec, withPredeblur: false }, 0), /\.withPredeblur: expected true with hrIn/);
  assert.throws(() => buildModel({ ...spec, numOutCh: 1 }, 0), /\.numOutCh: expected 3 like numInCh .*got 1/);
  assert.throws(() => buildModel({ ...spec, centerFrameIdx: 5 }, 0), /\.centerFrameIdx: expected a frame index below numFrame \(5\), got 5/);
  assert.throws(() => buildModel({ ...spec, deformableGroups: 3 }, 0), /\.deformableGroups: expected a divisor of numFeat \(16\), got 3/);
  const m = buildModel(tiny, 0);
  try {
    const bad = (shape: number[], re: RegExp): void => {
      const x = tf.zeros(shape);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    };
    bad([1, 5, 32, 32, 3], /5 frames/);
    bad([1, 3, 32, 32, 1], /1 channels/);
    bad([1, 32, 32, 3], /clip/);
  } finally {
    m.dispose();
  }
});

test('EDVR training: offset convs get gradients at zero offsets; a step leaks nothing; two SGD steps lower the loss', () => {
  const m = buildModel(tiny, 7);
  try {
    const x = tf.randomUniform([1, 3, 32, 32, 3], 0, 1, 'float32', 1);
    const target = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 2);
    // conv_offset starts at zero, so offsets are exactly 0 and every sampling point is on a
    // pixel: the offset gradient must still be the (one-sided) derivative, not 0.
    const name = 'pcd_align.dcn_pack.l1.conv_offset.weight';
    const v = m.params[name]!;
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(m.apply(m.params, x, { training: true }) as Tensor, target))) as Scalar, [v]);
    const g = grads[v.name]!;
    const offsetPart = tf.tidy(() => tf.max(tf.abs(tf.slice(g, [0, 0, 0, 0], [3, 3, 8, 2 * 2 * 9]))).dataSync()[0]!);
    assert.ok(offsetPart > 0, 'offset channels of conv_offset got no gradient');
    tf.dispose([value, g]);

    const l0 = sgdStep(m, x, target, 0.2); // also warms up cached tensors
    const before = tf.memory().numTensors;
    const l1 = sgdStep(m, x, target, 0.2);
    assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
    const l2 = sgdStep(m, x, target, 0.2);
    assert.ok(l2 < l0, `loss did not decrease: ${l0} -> ${l1} -> ${l2}`);
    tf.dispose([x, target]);
  } finally {
    m.dispose();
  }
});
