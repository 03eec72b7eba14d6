import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import { buildEdvr, edvrDefaults } from '../src/models/edvr.ts';
import type { EdvrOptions } from '../src/models/edvr.ts';
import { countParams, loadStateDict } from '../src/models/model.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff, sgdStep } from './helpers/fixtures.ts';

const fx = loadFixture('edvr');
const kw = fx.meta.kwargs as Record<string, number | boolean>;
const opts: EdvrOptions = {
  numInCh: kw.num_in_ch as number,
  numOutCh: kw.num_out_ch as number,
  numFeat: kw.num_feat as number,
  numFrame: kw.num_frame as number,
  deformableGroups: kw.deformable_groups as number,
  numExtractBlock: kw.num_extract_block as number,
  numReconstructBlock: kw.num_reconstruct_block as number,
  centerFrameIdx: kw.center_frame_idx as number,
  hrIn: kw.hr_in as boolean,
  withPredeblur: kw.with_predeblur as boolean,
  withTsa: kw.with_tsa as boolean,
};
// A small model for training checks: 3 frames, 8 features, 2 deformable groups.
const tiny: EdvrOptions = { ...opts, numFeat: 8, numFrame: 3, deformableGroups: 2, centerFrameIdx: 1 };

test('EDVR reproduces the fixture output in eval mode (≤ 1e-4) with the original parameter names', () => {
  const m = buildEdvr(opts, 0);
  try {
    assert.equal(countParams(m), fx.meta.trainableParams);
    assert.equal(countParams(m), 352_003);
    loadStateDict(m, fx.weights, { layout: 'pytorch', strict: true });
    const x = toTensor(ioTensor(fx, 'input'));
    const before = tf.memory().numTensors;
    const y = m.apply(m.params, x, { training: false }) as Tensor;
    const expected = ioTensor(fx, 'output');
    assert.deepEqual(y.shape, [...expected.shape]);
    const err = maxAbsDiff(y.dataSync(), expected.data);
    y.dispose();
    assert.equal(tf.memory().numTensors, before, 'forward leaked tensors');
    assert.ok(err <= 1e-4, `max abs error ${err}`);
    x.dispose();
  } finally {
    m.dispose();
  }
});

test('EDVR (64 features, 10 blocks) and EDVR-L (128, 40) have 4,042,851 and 23,602,019 parameters', () => {
  // SPEC §2.16: edvr_dvd and edvr_l_dvd, both hr_in, with_predeblur, with_tsa.
  const base: EdvrOptions = { ...edvrDefaults, hrIn: true, withPredeblur: true, withTsa: true };
  for (const [o, n] of [[{ ...base, numFeat: 64, numReconstructBlock: 10 }, 4_042_851], [{ ...base, numFeat: 128, numReconstructBlock: 40 }, 23_602_019]] as const) {
    const m = buildEdvr(o, 0);
    try {
      assert.equal(countParams(m), n);
    } finally {
      m.dispose();
    }
  }
});

test('EDVR variants: no TSA, no pre-deblurring, low-resolution input (×4 output)', () => {
  const m = buildEdvr({ ...tiny, hrIn: false, withPredeblur: false, withTsa: false }, 3);
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
  assert.throws(() => buildEdvr({ ...opts, withPredeblur: false }, 0), /hrIn requires withPredeblur/);
  assert.throws(() => buildEdvr({ ...opts, numOutCh: 1 }, 0), /numOutCh \(1\) must equal numInCh \(3\)/);
  assert.throws(() => buildEdvr({ ...opts, centerFrameIdx: 5 }, 0), /centerFrameIdx 5/);
  assert.throws(() => buildEdvr({ ...opts, deformableGroups: 3 }, 0), /not divisible by deformableGroups 3/);
  const m = buildEdvr(tiny, 0);
  try {
    const bad = (shape: number[], re: RegExp): void => {
      const x = tf.zeros(shape);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    };
    bad([1, 5, 32, 32, 3], /5 frames/);
    bad([1, 3, 32, 32, 1], /1 channels/);
    bad([1, 3, 32, 24, 3], /divisible by 16 \(hrIn\)/);
    bad([1, 32, 32, 3], /clip/);
  } finally {
    m.dispose();
  }
});

test('EDVR training: offset convs get gradients at zero offsets; a step leaks nothing; two SGD steps lower the loss', () => {
  const m = buildEdvr(tiny, 7);
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
