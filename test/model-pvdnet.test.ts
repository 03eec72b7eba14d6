import { test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { pvdnet, PVDNET_BIMNET_PREFIX } from '../src/models/pvdnet.ts';
import type { PvdnetOptions } from '../src/models/pvdnet.ts';
import { buildModel, fromOriginal, paramShapes } from '../src/models/define.ts';
import { countParams, loadStateDict } from '../src/models/model.ts';
import type { Model } from '../src/models/model.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { Rng } from '../src/util/rng.ts';
import { ioTensor, loadFixture, maxAbsDiff, sgdStep, withoutFlowWarning } from './helpers/fixtures.ts';

// The weights are ~40 MB (LiteFlowNet has fixed widths), so the fixture is read where it is
// shared, beside the repository, rather than copied into it.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'parity', 'pvdnet');
const haveFixture = fs.existsSync(path.join(FIXTURE, 'weights.safetensors'));
const skip = haveFixture ? false : `PVDNet fixture not found at ${FIXTURE}`;

const SMALL: Partial<PvdnetOptions> = { fixBimnet: false };
const create = (options: Partial<PvdnetOptions>, seed: number): Model => withoutFlowWarning(() => pvdnet.create(options, seed));

/** A smooth random clip [1, 3, h, w, 3] and previous output [1, h, w, 3] in [−1, 1]. */
function inputs(seed: number, h: number, w: number): { clip: Tensor; prev: Tensor } {
  const rng = Rng.seeded(seed);
  const smooth = (shape: number[]): Tensor =>
    tf.tidy(() => {
      const [b, hh, ww, c] = shape.length === 5 ? [shape[0]! * shape[1]!, shape[2]!, shape[3]!, shape[4]!] : (shape as [number, number, number, number]);
      const coarse = tf.tensor(rng.uniformArray(b * (hh / 8) * (ww / 8) * c, -1, 1), [b, hh / 8, ww / 8, c]);
      return tf.image.resizeBilinear(coarse as Tensor4D, [hh, ww]).reshape(shape);
    });
  return { clip: smooth([1, 3, h, w, 3]), prev: smooth([1, h, w, 3]) };
}

test("bimnetInput 'previous' (the published method) changes the flow, so the output differs from the original's", { skip }, () => {
  const fx = loadFixture(FIXTURE);
  // The original's model, which feeds BIMNet the current frame twice (bimnetInput 'current').
  const spec = fromOriginal('PVDNet', fx.meta.kwargs);
  assert.equal(spec.bimnetInput, 'current');
  const clip = toTensor(ioTensor(fx, 'input.0'));
  const prev = toTensor(ioTensor(fx, 'input.1'));
  const fixed = withoutFlowWarning(() => buildModel({ ...spec, bimnetInput: 'previous' }, 0));
  try {
    loadStateDict(fixed, fx.weights, { layout: 'pytorch', strict: true });
    const y = fixed.apply(fixed.params, [clip, prev], { training: false }) as Tensor;
    assert.ok(maxAbsDiff(y.dataSync(), ioTensor(fx, 'output').data) > 1e-3);
    y.dispose();
  } finally {
    fixed.dispose();
    tf.dispose([clip, prev]);
  }
});

test('PVDNet at full size (large, BIMNet frozen): BIMNet is 5,381,969 buffers, the backbone the trainable parameters', () => {
  const full = paramShapes(pvdnet.preset('deblur'));
  const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
  const frozen = Object.entries(full.buffers);
  assert.ok(frozen.length > 0 && frozen.every(([k]) => k.startsWith(PVDNET_BIMNET_PREFIX)));
  assert.equal(frozen.reduce((n, [, s]) => n + size(s), 0), 5_381_969);
  assert.ok(Object.keys(full.params).every((k) => k.startsWith('PVDNet.')));
  assert.ok('PVDNet.RBs.23.2.weight' in full.params);
  assert.deepEqual(full.params['PVDNet.dconv1.weight'], [4, 4, 64, 192]);
});

test('PVDNet (small backbone, BIMNet trainable) has 10,514,548 parameters, Xavier-uniform weights and zero biases', () => {
  const small = create(SMALL, 1);
  try {
    assert.equal(countParams(small), 10_514_548);
    assert.deepEqual(Object.keys(small.buffers), []);
    // Xavier-uniform weights (gain 1), zero biases.
    const w = small.params['PVDNet.RBs.0.0.weight']!;
    const bound = Math.sqrt(6 / (128 * 9 + 128 * 9));
    const mx = tf.tidy(() => tf.max(tf.abs(w)));
    assert.ok(mx.dataSync()[0]! <= bound && mx.dataSync()[0]! > 0.9 * bound);
    mx.dispose();
    const bias = tf.tidy(() => tf.max(tf.abs(small.params['BIMNet.moduleMatching.0.moduleMain.0.bias']!)));
    assert.equal(bias.dataSync()[0], 0);
    bias.dispose();
  } finally {
    small.dispose();
  }
});

test('PVDNet with BIMNet frozen computes the same output from its trainable params alone', () => {
  const { clip, prev } = inputs(5, 64, 64);
  const a = create({ ...SMALL, fixBimnet: false }, 3);
  const b = create({ ...SMALL, fixBimnet: true }, 3);
  try {
    const ya = a.apply(a.params, [clip, prev], { training: false }) as Tensor;
    const yb = b.apply(b.params, [clip, prev], { training: false }) as Tensor;
    assert.ok(maxAbsDiff(ya.dataSync(), yb.dataSync()) === 0);
    tf.dispose([ya, yb]);
  } finally {
    a.dispose();
    b.dispose();
  }
  tf.dispose([clip, prev]);
});

test('PVDNet training: a step leaves the tensor count unchanged, BIMNet gets no update, two SGD steps lower the loss', () => {
  const { clip, prev } = inputs(7, 64, 64);
  // Target in the model's [−1, 1] space.
  const target = tf.tidy(() => tf.unstack(clip, 1)[1]!.mul(0.8));
  const m = create(SMALL, 2);
  try {
    const probe = 'BIMNet.moduleRegularization.0.moduleScaleX.weight';
    const probeBefore = Float32Array.from(m.params[probe]!.dataSync());
    const before = tf.memory().numTensors;
    const l0 = sgdStep(m, [clip, prev], target, 2e-3);
    assert.equal(tf.memory().numTensors, before);
    const l1 = sgdStep(m, [clip, prev], target, 2e-3);
    const y = m.apply(m.params, [clip, prev], { training: true }) as Tensor;
    const l2 = tf.tidy(() => tf.mean(tf.abs(tf.sub(y, target)))).dataSync()[0]!;
    y.dispose();
    assert.ok(Number.isFinite(l0) && l1 < l0 && l2 < l1, `losses ${l0}, ${l1}, ${l2}`);
    assert.deepEqual(Array.from(m.params[probe]!.dataSync()), Array.from(probeBefore));
  } finally {
    m.dispose();
  }
  tf.dispose([clip, prev, target]);
});

test('PVDNet rejects bad options and inputs', () => {
  assert.throws(() => create({ ...SMALL, pvKsize: 4 }, 0), /pvdnet\.pvKsize: expected an odd number, got 4/);
  assert.throws(() => create({ ...SMALL, bimnetInput: 'next' as never }, 0), /pvdnet\.bimnetInput: expected one of previous, current, got "next"/);
  const m = create({ ...SMALL, fixBimnet: true }, 0);
  try {
    tf.tidy(() => {
      const clip = tf.zeros([1, 3, 64, 64, 3]);
      assert.throws(() => m.apply(m.params, clip, { training: false }), /expected \[clip/);
      assert.throws(() => m.apply(m.params, [clip, tf.zeros([1, 32, 64, 3])], { training: false }), /previous output must be/);
      assert.throws(() => m.apply(m.params, [tf.zeros([1, 3, 32, 64, 3]), tf.zeros([1, 32, 64, 3])], { training: false }), /at least 64/);
    });
  } finally {
    m.dispose();
  }
});
