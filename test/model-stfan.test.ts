import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import { stfan, type StfanModel } from '../src/models/stfan.ts';
import { loadStateDict } from '../src/models/model.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff, sgdStep } from './helpers/fixtures.ts';

const fx = loadFixture('stfan');
const create = (seed: number): StfanModel => stfan.create({}, seed) as StfanModel;

test('the STFAN clip recurrence is the cell fed back with its own output and features (fixture output, ≤ 1e-4)', () => {
  const m = create(0);
  try {
    loadStateDict(m, fx.weights, { layout: 'pytorch', strict: true });
    const x = toTensor(ioTensor(fx, 'input'));
    const expected = ioTensor(fx, 'output');
    // Frame 0 serves as the previous frame and output at the first step, with no hidden features.
    const frames = tf.unstack(x, 1);
    let state = { lastBlur: frames[0]!, lastOutput: frames[0]!, lastFeature: null as Tensor | null };
    const outs: Tensor[] = [];
    for (const blur of frames) {
      const r = m.cell(m.params, { blur, ...state });
      assert.deepEqual(r.feature.shape, [1, 8, 8, 256]);
      outs.push(r.output);
      state = { lastBlur: blur, lastOutput: r.output, lastFeature: r.feature };
    }
    const stepped = tf.stack(outs, 1);
    assert.ok(maxAbsDiff(stepped.dataSync(), expected.data) <= 1e-4);
    tf.dispose([x, stepped, ...frames, ...outs, state.lastFeature!]);
  } finally {
    m.dispose();
  }
});

test('STFAN rejects bad inputs and options with clear errors', () => {
  assert.throws(() => stfan.create({ channels: 3 } as never, 0), /stfan\.channels: unknown key/);
  const m = create(0);
  try {
    const bad = (shape: number[], re: RegExp): void => {
      const x = tf.zeros(shape);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    };
    bad([1, 2, 16, 16, 1], /1 channels, expected 3/);
    bad([1, 16, 16, 3], /clip \[B, T, H, W, 3\]/);
    const f = tf.zeros([1, 8, 8, 3]);
    const g = tf.zeros([1, 8, 12, 3]);
    const h = tf.zeros([1, 4, 4, 128]);
    const odd = tf.zeros([1, 18, 16, 3]);
    // apply pads other sizes; one cell step does not.
    assert.throws(() => m.cell(m.params, { blur: odd, lastBlur: odd, lastOutput: odd, lastFeature: null }), /STFAN cell: H and W must be multiples of 4, got 18x16/);
    odd.dispose();
    assert.throws(() => m.cell(m.params, { blur: f, lastBlur: g, lastOutput: f, lastFeature: null }), /lastBlur has shape \[1,8,12,3\]/);
    assert.throws(() => m.cell(m.params, { blur: f, lastBlur: f, lastOutput: f, lastFeature: h }), /lastFeature has shape \[1,4,4,128\], expected \[1,2,2,256\]/);
    tf.dispose([f, g, h]);
  } finally {
    m.dispose();
  }
});

test('STFAN training: a clip step leaks no tensors and two SGD steps lower the loss', () => {
  const m = create(3);
  try {
    const x = tf.randomUniform([1, 2, 8, 8, 3], 0, 1, 'float32', 1);
    // A blurrier-looking target: the clip averaged with its own mean colour.
    const target = tf.tidy(() => x.add(x.mean([2, 3], true)).mul(0.5));
    const l0 = sgdStep(m, x, target, 0.05);
    const before = tf.memory().numTensors;
    const l1 = sgdStep(m, x, target, 0.05);
    assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
    const l2 = sgdStep(m, x, target, 0.05);
    assert.ok(l1 < l0 && l2 < l1, `loss did not decrease: ${l0} -> ${l1} -> ${l2}`);
    tf.dispose([x, target]);
  } finally {
    m.dispose();
  }
});

test('STFAN per-frame training (detached state, one update per frame) leaks no tensors', () => {
  const m = create(4);
  const vars = Object.values(m.params);
  try {
    const clip = tf.randomUniform([1, 3, 8, 8, 3], 0, 1, 'float32', 2);
    const gt = tf.randomUniform([1, 3, 8, 8, 3], 0, 1, 'float32', 3);
    const frames = tf.unstack(clip, 1);
    const gts = tf.unstack(gt, 1);
    const runClip = (): void => {
      let lastBlur = frames[0]!;
      let lastOutput = frames[0]!.clone();
      let lastFeature: Tensor | null = null;
      frames.forEach((blur, i) => {
        let out: { output: Tensor; feature: Tensor } | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const r = m.cell(m.params, { blur, lastBlur, lastOutput, lastFeature });
          out = { output: tf.keep(r.output), feature: tf.keep(r.feature) };
          return tf.mean(tf.abs(tf.sub(r.output, gts[i]!))) as Scalar;
        }, vars);
        tf.tidy(() => {
          for (const v of vars) v.assign(v.sub(grads[v.name]!.mul(0.01)));
        });
        tf.dispose([value, grads, lastOutput]);
        if (lastFeature !== null) lastFeature.dispose();
        const o = out as unknown as { output: Tensor; feature: Tensor };
        lastBlur = blur;
        lastOutput = o.output;
        lastFeature = o.feature;
      });
      tf.dispose([lastOutput, lastFeature as Tensor | null].filter((t): t is Tensor => t !== null));
    };
    runClip(); // warm-up
    const before = tf.memory().numTensors;
    runClip();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([clip, gt, ...frames, ...gts]);
  } finally {
    m.dispose();
  }
});
