// Any frame size: every model whose definition declares a `sizeMultiple` runs on inputs whose H
// and W are not multiples (mirror-padded, outputs cropped back), and the padding changes
// nothing for inputs that are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { models } from '../src/index.ts';
import { buildModel, modelSizeMultiple } from '../src/models/define.ts';
import { makeModel } from '../src/models/model.ts';
import type { Model, ModelInput, ModelOutput } from '../src/models/model.ts';
import { padToMultiple, unpadded } from '../src/models/pad.ts';
import { registeredTypes, type ComponentSpec } from '../src/config/registry.ts';
import { ParamStore } from '../src/nn/params.ts';
import type { StfanModel } from '../src/models/stfan.ts';
import { maxAbsDiff, sgdStep, withoutFlowWarning } from './helpers/fixtures.ts';

/** A small configuration of a model, its input at a size, and the output shape expected for it. */
interface Case {
  readonly spec: ComponentSpec;
  /** Smallest H and W the model takes (beyond twice its multiple). */
  readonly minSize?: number;
  input(h: number, w: number): Tensor | Tensor[];
  /** The output's shape, or each output's for a list. */
  output(h: number, w: number): number[] | number[][];
}

const clip = (frames: number, lo = 0) => (h: number, w: number): Tensor => tf.randomUniform([1, frames, h, w, 3], lo, 1, 'float32', 1);
const image = (h: number, w: number): Tensor => tf.randomUniform([1, h, w, 3], 0, 1, 'float32', 1);
const levels = (n: number) => (h: number, w: number): Tensor[] => Array.from({ length: n }, (_, s) => tf.randomUniform([1, Math.ceil(h / 2 ** s), Math.ceil(w / 2 ** s), 3], 0, 1, 'float32', s));
const scales = (n: number, finestFirst: boolean) => (h: number, w: number): number[][] => {
  const shapes = Array.from({ length: n }, (_, s) => [1, Math.ceil(h / 2 ** s), Math.ceil(w / 2 ** s), 3]);
  return finestFirst ? shapes : shapes.reverse();
};
const tinyEdvr = { numFeat: 8, numFrame: 3, deformableGroups: 2, centerFrameIdx: 1, numExtractBlock: 1, numReconstructBlock: 1 };

// Every model type that declares a sizeMultiple needs an entry here (the first test says which).
const cases: Record<string, readonly Case[]> = {
  dbn: [{ spec: models.dbn({ numFrames: 3, innerChannels: 4 }), input: clip(3), output: (h, w) => [1, h, w, 3] }],
  edvr: [
    { spec: models.edvr.preset('deblur', tinyEdvr), input: clip(3), output: (h, w) => [1, h, w, 3] },
    // Low-resolution input: a ×4 output, cropped to four times the input.
    { spec: models.edvr({ ...tinyEdvr, withTsa: false }), input: clip(3), output: (h, w) => [1, 4 * h, 4 * w, 3] },
  ],
  estrnn: [{ spec: models.estrnn({ nFeatures: 2, nBlocks: 1, futureFrames: 1, pastFrames: 1 }), input: clip(3), output: (h, w) => [1, 1, h, w, 3] }],
  ifirnn: [{ spec: models.ifirnn({ innerChannels: 2, intraIters: 2 }), input: clip(2), output: (h, w) => [1, 2, h, w, 3] }],
  stfan: [{ spec: models.stfan(), input: clip(2), output: (h, w) => [1, 2, h, w, 3] }],
  cdvdTsp: [{ spec: models.cdvdTsp({ nResblock: 1, nFeat: 2, isMaskFilter: true }), input: clip(5), output: (h, w) => [1, h, w, 3] }],
  // Pyramids in and out.
  srn: [{ spec: models.srn({ innerChannels: 2 }), input: levels(3), output: scales(3, true) }],
  mscnn: [{ spec: models.mscnn({ numFeats: 4, numResblocks: 0 }), input: levels(3), output: scales(3, true) }],
  mimoUnet: [{ spec: models.mimoUnet({ numRes: 0 }), input: image, output: scales(3, false) }],
  mimoUnetPlus: [{ spec: models.mimoUnetPlus({ numRes: 0 }), input: image, output: scales(3, false) }],
  restormer: [{ spec: models.restormer({ dim: 4, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 1, 1, 1] }), input: image, output: (h, w) => [1, h, w, 3] }],
  strcnn: [{ spec: models.strcnn({ numFramesEncoded: 3, innerChannels: 4, encoderBlocks: 1, decoderBlocks: 1 }), input: clip(4), output: (h, w) => [1, 2, h, w, 3] }],
  // A list input: the window clip and the previous output, padded alike.
  pvdnet: [
    {
      spec: models.pvdnet(),
      minSize: 64,
      input: (h, w) => [clip(3, -1)(h, w), tf.randomUniform([1, h, w, 3], -1, 1, 'float32', 2)],
      output: (h, w) => [1, h, w, 3],
    },
  ],
};

const build = (spec: ComponentSpec, seed = 0): Model => withoutFlowWarning(() => buildModel(spec, seed));
const values = (y: ModelOutput): Float32Array => (y as Tensor).dataSync() as Float32Array;

/** Mirror-pads an image or clip at the bottom and right by hand. */
function mirror(x: Tensor, ph: number, pw: number, mode: 'reflect' | 'symmetric' = 'reflect'): Tensor {
  const [h, w, c] = x.shape.slice(-3) as [number, number, number];
  return tf.tidy(() => tf.mirrorPad(x.reshape([-1, h, w, c]) as Tensor4D, [[0, 0], [0, ph], [0, pw], [0, 0]], mode).reshape([...x.shape.slice(0, -3), h + ph, w + pw, c]));
}

test('every model type that declares a sizeMultiple has a small configuration here', () => {
  for (const type of registeredTypes('model')) {
    const spec = cases[type]?.[0]?.spec ?? { type };
    let multiple: number | undefined;
    try {
      multiple = modelSizeMultiple(spec);
    } catch (err) {
      assert.fail(`${type}: its default spec does not decode (${err instanceof Error ? err.message : String(err)}); add a case for it`);
    }
    if (multiple !== undefined) assert.ok(cases[type] !== undefined, `model ${type} declares sizeMultiple ${multiple}: add a small case for it to test/model-any-size.test.ts`);
  }
});

test('the size multiple follows the options where the definition says so', () => {
  assert.equal(modelSizeMultiple(models.dbn()), 8);
  assert.equal(modelSizeMultiple(models.edvr.preset('deblur')), 16);
  assert.equal(modelSizeMultiple(models.edvr()), 4);
  assert.equal(modelSizeMultiple(models.nafnet()), undefined);
});

for (const [type, list] of Object.entries(cases)) {
  list.forEach((c, i) => {
    test(`${type}${list.length > 1 ? ` (case ${i + 1})` : ''} runs on a size that is not a multiple and returns that size`, () => {
      const multiple = modelSizeMultiple(c.spec);
      assert.ok(multiple !== undefined && multiple > 1, `${type} no longer declares a sizeMultiple: drop its case`);
      const base = Math.max(2 * multiple, Math.ceil((c.minSize ?? 0) / multiple) * multiple);
      // One row short of a multiple, one column past one.
      const [h, w] = [base + multiple - 1, base + 1];
      const m = build(c.spec);
      const before = tf.memory().numTensors;
      try {
        const x = c.input(h, w);
        const y = m.apply(m.params, x, { training: false });
        const ys = Array.isArray(y) ? y : [y];
        const want = c.output(h, w);
        assert.deepEqual(ys.map((t) => t.shape), Array.isArray(want[0]) ? want : [want]);
        assert.ok(ys.every((t) => values(t).every(Number.isFinite)), 'non-finite output');
        tf.dispose([x, ys]);
        assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      } finally {
        m.dispose();
      }
    });
  });
}

test('DBN: a multiple runs exactly the unpadded model (same kernels, same values); another size equals padding by hand and cropping', async () => {
  const m = build(cases['dbn']![0]!.spec, 3);
  const raw = unpadded(m);
  assert.notEqual(raw, m, 'the built model is wrapped');
  const before = tf.memory().numTensors;
  try {
    const x = tf.randomUniform([2, 3, 16, 24, 3], 0, 1, 'float32', 5);
    // The kernels each run executes, and its output (tf.profile reuses its record: copy both).
    const run = async (model: Model, input: ModelInput): Promise<{ kernels: string[]; y: Tensor }> => {
      const info = await tf.profile(() => model.apply(model.params, input, { training: false }) as Tensor);
      return { kernels: info.kernels.map((k) => k.name), y: info.result as Tensor };
    };
    const wrapped = await run(m, x);
    const plain = await run(raw, x);
    assert.ok(plain.kernels.length > 20);
    assert.deepEqual(wrapped.kernels, plain.kernels, 'no extra op for a multiple');
    assert.deepEqual(Array.from(values(wrapped.y)), Array.from(values(plain.y)));
    tf.dispose([x, wrapped.y, plain.y]);

    // 19x21 → 24x24 by reflection (5 rows, 3 columns), then cropped back.
    const z = tf.randomUniform([2, 3, 19, 21, 3], 0, 1, 'float32', 6);
    const zp = mirror(z, 5, 3);
    const byHand = tf.tidy(() => (raw.apply(raw.params, zp, { training: false }) as Tensor).slice([0, 0, 0, 0], [2, 19, 21, 3]));
    const padded = m.apply(m.params, z, { training: false }) as Tensor;
    assert.deepEqual(padded.shape, [2, 19, 21, 3]);
    assert.ok(maxAbsDiff(values(padded), values(byHand)) <= 1e-6);
    tf.dispose([z, zp, byHand, padded]);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  } finally {
    m.dispose();
  }
});

test('DBN: frames smaller than the pad mirror symmetrically; smaller still is an error naming the model and the minimum size', () => {
  const m = build(cases['dbn']![0]!.spec, 3);
  const raw = unpadded(m);
  const before = tf.memory().numTensors;
  try {
    // 4 rows need 4 more to reach 8: reflect can add 3, symmetric 4.
    const x = tf.randomUniform([1, 3, 4, 6, 3], 0, 1, 'float32', 7);
    const y = m.apply(m.params, x, { training: false }) as Tensor;
    const byHand = tf.tidy(() => (raw.apply(raw.params, mirror(x, 4, 2, 'symmetric'), { training: false }) as Tensor).slice([0, 0, 0, 0], [1, 4, 6, 3]));
    assert.deepEqual(y.shape, [1, 4, 6, 3]);
    assert.ok(maxAbsDiff(values(y), values(byHand)) <= 1e-6);
    tf.dispose([x, y, byHand]);
    const tiny = tf.zeros([1, 3, 3, 6, 3]);
    assert.throws(() => m.apply(m.params, tiny, { training: false }), /^Error: DBN: cannot mirror a 3x6 input up to 8x8 .*multiples of 8.*smaller than 4x4/);
    tiny.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  } finally {
    m.dispose();
  }
});

test('DBN trains on a size that is not a multiple: gradients flow through the padding, nothing leaks', () => {
  const m = build(cases['dbn']![0]!.spec, 4);
  try {
    const x = tf.randomUniform([2, 3, 13, 11, 3], 0, 1, 'float32', 8);
    const target = tf.randomUniform([2, 13, 11, 3], 0, 1, 'float32', 9);
    const w0 = m.params['F0.0.weight']!.dataSync().slice();
    sgdStep(m, x, target, 0.01);
    const before = tf.memory().numTensors;
    sgdStep(m, x, target, 0.01);
    assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
    assert.notDeepEqual(m.params['F0.0.weight']!.dataSync(), w0);
    tf.dispose([x, target]);
  } finally {
    m.dispose();
  }
});

test('STFAN keeps its cell through the wrapper; the cell itself still needs multiples', () => {
  const m = build(models.stfan()) as Model & { cell?: unknown };
  try {
    assert.equal(typeof m.cell, 'function');
    assert.equal((unpadded(m) as Model & { cell?: unknown }).cell, m.cell);
    const odd = tf.zeros([1, 10, 12, 3]);
    assert.throws(() => (m as StfanModel).cell(m.params, { blur: odd, lastBlur: odd, lastOutput: odd, lastFeature: null }), /multiples of 4, got 10x12/);
    odd.dispose();
  } finally {
    m.dispose();
  }
});

// A stand-in multi-scale network: a pyramid [full, ½] in; out: a 3×3 blur of each level at its
// scale and a 2× average pool of the full one. It asserts the sizes it needs (multiples of 4 at
// full scale), so any mis-padded level fails.
function pyramidModel(): Model {
  const k = tf.fill([3, 3, 3, 1], 1 / 9) as Tensor4D;
  const blur = (x: Tensor): Tensor4D => tf.depthwiseConv2d(x as Tensor4D, k, 1, 'same');
  const store = new ParamStore(0);
  const model = makeModel('Pyramid', store, (_p, input) => {
    const [full, half] = input as [Tensor, Tensor];
    const [h, w] = full.shape.slice(1, 3) as [number, number];
    if (h % 4 !== 0 || w % 4 !== 0 || half.shape[1] !== h / 2 || half.shape[2] !== w / 2) throw new Error(`bad pyramid ${JSON.stringify([full.shape, half.shape])}`);
    const f = blur(full);
    return [f, tf.avgPool(f, 2, 2, 'valid'), blur(half)];
  });
  return { ...model, dispose: () => (k.dispose(), model.dispose()) };
}

test('a pyramid is padded level by level at its own scale, and each output is cropped at its scale', () => {
  const raw = pyramidModel();
  const m = padToMultiple(raw, 4);
  const before = tf.memory().numTensors;
  try {
    // 10x14 → 12x16; its half 5x7 → 6x8.
    const full = tf.randomUniform([1, 10, 14, 3], 0, 1, 'float32', 10);
    const half = tf.randomUniform([1, 5, 7, 3], 0, 1, 'float32', 11);
    const ys = m.apply(m.params, [full, half], { training: false }) as Tensor[];
    assert.deepEqual(
      ys.map((y) => y.shape),
      [
        [1, 10, 14, 3],
        [1, 5, 7, 3],
        [1, 5, 7, 3],
      ],
    );
    const byHand = tf.tidy(() => {
      const out = raw.apply(raw.params, [mirror(full, 2, 2), mirror(half, 1, 1)], { training: false }) as Tensor[];
      return [out[0]!.slice([0, 0, 0, 0], [1, 10, 14, 3]), out[1]!.slice([0, 0, 0, 0], [1, 5, 7, 3]), out[2]!.slice([0, 0, 0, 0], [1, 5, 7, 3])];
    });
    ys.forEach((y, i) => assert.ok(maxAbsDiff(values(y), values(byHand[i]!)) <= 1e-6, `output ${i}`));
    tf.dispose([full, half, ...ys, ...byHand]);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  } finally {
    m.dispose();
  }
  assert.equal(padToMultiple(raw, 1), raw, 'a multiple of 1 leaves the model as it is');
  assert.throws(() => padToMultiple(raw, 0), /positive integer, got 0/);
});
