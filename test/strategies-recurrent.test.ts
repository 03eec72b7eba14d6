// The recurrent strategies optimise once per time step, each step starting from the previous
// step's (gradient-free) state, as the original's STFANRNNArch and PVDNetArch do. Each test
// replays the expected sequence of SGD updates by hand on a twin model and compares weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Scalar, Tensor, Variable } from '../src/runtime/index.ts';
import { stfan, type StfanModel } from '../src/models/stfan.ts';
import { pvdnet } from '../src/models/pvdnet.ts';
import type { Model } from '../src/models/model.ts';
import { sgd } from '../src/optim/sgd.ts';
import { mse } from '../src/losses/index.ts';
import { trainStep } from '../src/engine/step.ts';
import { frameAt } from '../src/engine/strategy.ts';
import { stfanRecurrent } from '../src/engine/strategies/stfan.ts';
import { pvdnetRecurrent } from '../src/engine/strategies/pvdnet.ts';
import type { Batch } from '../src/data/loader.ts';
import { Rng } from '../src/util/rng.ts';
import { smallSetup } from './helpers/engine.ts';
import { withoutFlowWarning } from './helpers/fixtures.ts';

const LR = 0.05;

function clipBatch(shape: [number, number, number, number, number], seed: number): Batch {
  const rng = Rng.seeded(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const input = rng.uniformArray(n, 0, 1);
  // A sharp target near the input, so losses are small but not zero.
  const gt = Float32Array.from(input, (v, i) => Math.min(1, Math.max(0, v + 0.1 * Math.sin(i))));
  return { input, inputShape: shape, gt, gtShape: shape, samples: Array.from({ length: shape[0] }, (_, b) => ({ video: `v${b}`, frames: Array.from({ length: shape[1] }, (_, t) => `${t}`) })) };
}

/** One hand-made SGD update of `model` on `loss()`; returns the loss value. */
function sgdUpdate(model: Model, loss: () => Scalar): number {
  const { value, grads } = tf.variableGrads(loss, Object.values(model.params) as Variable[]);
  const v = value.dataSync()[0]!;
  for (const p of Object.values(model.params)) {
    const g = grads[p.name];
    if (g) p.assign(tf.tidy(() => p.sub(g.mul(LR))));
  }
  tf.dispose([value, ...Object.values(grads)]);
  return v;
}

function maxParamDiff(a: Model, b: Model): number {
  let worst = 0;
  for (const [k, v] of Object.entries(a.params)) {
    const d = tf.tidy(() => tf.max(tf.abs(v.sub(b.params[k]!))).dataSync()[0]!);
    worst = Math.max(worst, d);
  }
  return worst;
}

function maxChange(model: Model, before: Record<string, Float32Array>): number {
  let worst = 0;
  for (const [k, v] of Object.entries(model.params)) {
    const now = v.dataSync();
    before[k]!.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - now[i]!))));
  }
  return worst;
}

const snapshot = (m: Model): Record<string, Float32Array> => Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Float32Array.from(v.dataSync())]));

test('stfanRecurrent: one SGD step per frame from the detached previous output and features', () => {
  const shape: [number, number, number, number, number] = [1, 3, 16, 16, 3];
  const batch = clipBatch(shape, 3);
  const trained = stfan.create({}, 5);
  const twin = stfan.create({}, 5) as StfanModel;
  const setup = smallSetup({ model: trained, strategy: stfanRecurrent, optimizer: sgd(), loss: [{ name: 'mse', weight: 1, fn: mse() }] });
  const before = snapshot(trained);
  const count = tf.memory().numTensors;
  const r = trainStep(setup, batch, LR, Rng.seeded(0));
  assert.equal(tf.memory().numTensors, count, 'a recurrent step leaves no tensors behind');
  assert.ok(r.applied);
  assert.ok(maxChange(trained, before) > 1e-4, 'the weights moved');

  const input = tf.tensor(batch.input, shape);
  const gt = tf.tensor(batch.gt, shape);
  let lastOutput: Tensor = frameAt(input, 0);
  let lastFeature: Tensor | null = null;
  let total = 0;
  for (let i = 0; i < shape[1]; i++) {
    let out!: Tensor;
    let feature!: Tensor;
    const [lo, lf] = [lastOutput, lastFeature];
    total += sgdUpdate(twin, () => {
      const c = twin.cell(twin.params, { blur: frameAt(input, i), lastBlur: frameAt(input, Math.max(0, i - 1)), lastOutput: lo, lastFeature: lf });
      out = tf.keep(c.output);
      feature = tf.keep(c.feature);
      return tf.losses.meanSquaredError(frameAt(gt, i), c.output) as Scalar;
    });
    tf.dispose([lo, ...(lf ? [lf] : [])]);
    [lastOutput, lastFeature] = [out, feature];
  }
  tf.dispose([input, gt, lastOutput, ...(lastFeature ? [lastFeature] : [])]);
  assert.ok(Math.abs(r.loss - total) < 1e-5 * Math.max(1, total), `loss is the sum over frames: ${r.loss} vs ${total}`);
  assert.ok(maxParamDiff(trained, twin) < 1e-5, `weights equal the hand-made per-frame updates (max diff ${maxParamDiff(trained, twin)})`);
  trained.dispose();
  twin.dispose();
});

test('stfanRecurrent: evaluation runs the whole clip; shapes are checked', () => {
  const model = stfan.create({}, 2);
  const x = tf.randomUniform([1, 2, 8, 8, 3], 0, 1, 'float32', 1);
  const pairs = stfanRecurrent.forward(model, model.params, x, x, false);
  assert.deepEqual(pairs[0]!.out.shape, [2, 8, 8, 3]);
  const one = tf.slice(x, [0, 0, 0, 0, 0], [1, 1, 8, 8, 3]);
  assert.throws(() => stfanRecurrent.recurrence!.steps(x, one), /ground truth \[1,1,8,8,3\] must have the input's shape \[1,2,8,8,3\]/);
  tf.dispose([...pairs.flatMap((p) => [p.out, p.gt]), x, one]);
  model.dispose();
});

test('pvdnetRecurrent: [-1, 1] frames, one SGD step per frame 1..T-2 from the previous output', () => {
  const shape: [number, number, number, number, number] = [1, 4, 64, 64, 3];
  const batch = clipBatch(shape, 4);
  const trained = withoutFlowWarning(() => pvdnet.create({ fixBimnet: true }, 6));
  const twin = withoutFlowWarning(() => pvdnet.create({ fixBimnet: true }, 6));
  const setup = smallSetup({ model: trained, strategy: pvdnetRecurrent, optimizer: sgd(), loss: [{ name: 'mse', weight: 1, fn: mse() }] });
  const count = tf.memory().numTensors;
  const r = trainStep(setup, batch, LR, Rng.seeded(0));
  assert.equal(tf.memory().numTensors, count);
  assert.ok(r.applied);

  const signed = tf.tidy(() => tf.tensor(batch.input, shape).mul(2).sub(1));
  const gtSigned = tf.tidy(() => tf.tensor(batch.gt, shape).mul(2).sub(1));
  let prev: Tensor = frameAt(signed, 0);
  let total = 0;
  for (let i = 1; i <= shape[1] - 2; i++) {
    let out!: Tensor;
    const p = prev;
    total += sgdUpdate(twin, () => {
      const o = twin.apply(twin.params, [tf.slice(signed, [0, i - 1, 0, 0, 0], [1, 3, 64, 64, 3]), p], { training: true }) as Tensor;
      out = tf.keep(o);
      return tf.losses.meanSquaredError(frameAt(gtSigned, i), o) as Scalar;
    });
    p.dispose();
    prev = out;
  }
  tf.dispose([signed, gtSigned, prev]);
  assert.ok(Math.abs(r.loss - total) < 1e-5 * Math.max(1, total), `loss is the sum over frames 1..T-2: ${r.loss} vs ${total}`);
  assert.ok(maxParamDiff(trained, twin) < 1e-5, `weights equal the hand-made updates (max diff ${maxParamDiff(trained, twin)})`);

  // Evaluation: outputs back in [0, 1], frames 1..T-2 of each sample.
  const x = tf.tensor(batch.input, shape);
  const [pair] = pvdnetRecurrent.forward(trained, trained.params, x, x, false);
  assert.deepEqual(pair!.out.shape, [2, 64, 64, 3]);
  assert.deepEqual(pair!.frames, [1, 3]);
  const gtMid = tf.tidy(() => tf.max(tf.abs(pair!.gt.sub(tf.slice(x, [0, 1, 0, 0, 0], [1, 2, 64, 64, 3]).reshape([2, 64, 64, 3])))).dataSync()[0]!);
  assert.equal(gtMid, 0, 'the targets are the [0, 1] frames 1..T-2');
  tf.dispose([x, pair!.out, pair!.gt]);
  assert.throws(() => pvdnetRecurrent.recurrence!.steps(tf.zeros([1, 2, 64, 64, 3]), tf.zeros([1, 2, 64, 64, 3])), /at least 3 frames/);
  trained.dispose();
  twin.dispose();
});
