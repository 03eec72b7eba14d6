// restoreFrames with the models whose inference is not one window per frame: recurrent models
// run once over the whole video (mirrored margins), PVDNet's strategy context, STFAN's 'video'
// sampling, and a pyramid model (multiScale) on a size its pyramid cannot halve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '../src/runtime/index.ts';
import { models } from '../src/index.ts';
import { buildModel, modelInference, modelSizeMultiple } from '../src/models/define.ts';
import { buildComponent, type ComponentSpec } from '../src/config/registry.ts';
import type { Strategy } from '../src/engine/strategy.ts';
import { restoreFrames, type Restorer } from '../src/infer/run.ts';
import { samplingDefaults } from '../src/data/sampling.ts';
import type { Frame } from '../src/infer/frames.ts';
import { withoutFlowWarning } from './helpers/fixtures.ts';

function restorer(spec: ComponentSpec): Restorer & { dispose(): void } {
  const inf = modelInference(spec);
  const model = withoutFlowWarning(() => buildModel(spec, 5));
  const strategy = buildComponent<Strategy>('strategy', inf.strategy);
  const multiple = Math.max(modelSizeMultiple(spec) ?? 1, strategy.sizeMultiple ?? 1);
  return { model, params: model.params, strategy, sizeMultiple: multiple, align: Math.max(multiple, inf.align), plan: { sampling: { ...samplingDefaults, ...inf.sampling }, context: strategy.context ?? 0, wholeVideo: inf.wholeVideo }, dispose: () => model.dispose() };
}

function clip(count: number, h: number, w: number): Frame[] {
  return Array.from({ length: count }, (_, i) => {
    const t = tf.randomUniform([h, w, 3], 0, 1, 'float32', 100 + i);
    const rgb = t.dataSync() as Float32Array;
    t.dispose();
    return { name: `f${i}`, width: w, height: h, rgb };
  });
}

async function run(r: Restorer, frames: Frame[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const before = tf.memory().numTensors;
  await restoreFrames(r, { count: frames.length, async *frames() { yield* frames; } }, async (f) => {
    assert.equal(f.index, out.length, 'frames arrive in order');
    out.push(f.rgb);
  });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  return out;
}

/** The model applied to the frames at `positions`, clamped, as one value array per output frame. */
function direct(r: Restorer, frames: Frame[], positions: readonly number[], apply: (x: Tensor) => Tensor): Float32Array[] {
  const { width: w, height: h } = frames[0]!;
  const y = tf.tidy(() => tf.clipByValue(apply(tf.tensor5d(Float32Array.from(positions.flatMap((p) => [...frames[p]!.rgb])), [1, positions.length, h, w, 3])), 0, 1));
  const data = y.dataSync() as Float32Array;
  const n = y.size / (h * w * 3);
  y.dispose();
  return Array.from({ length: n }, (_, i) => data.slice(i * h * w * 3, (i + 1) * h * w * 3));
}

const close = (a: Float32Array[], b: Float32Array[], tol = 1e-5) => {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(x.every((v, k) => Math.abs(v - b[i]![k]!) <= tol), `frame ${i} differs`));
};

test('ESTRNN runs once over the whole video, two mirrored frames of context at each end', async () => {
  const r = restorer(models.estrnn({ nFeatures: 2, nBlocks: 1, pastFrames: 2, futureFrames: 2 }));
  try {
    assert.equal(r.plan.wholeVideo, true);
    const frames = clip(6, 12, 16);
    const got = await run(r, frames);
    close(got, direct(r, frames, [2, 1, 0, 1, 2, 3, 4, 5, 4, 3], (x) => r.model.apply(r.params, x, { training: false }) as Tensor));
  } finally {
    r.dispose();
  }
});

test('IFIRNN (n_n, recurrent) restores every frame of a video longer than its validation clips in one run', async () => {
  const r = restorer(models.ifirnn({ innerChannels: 2, intraIters: 2 }));
  try {
    const frames = clip(14, 8, 12);
    close(await run(r, frames), direct(r, frames, [...frames.keys()], (x) => r.model.apply(r.params, x, { training: false }) as Tensor));
  } finally {
    r.dispose();
  }
});

test("PVDNet: the strategy's first and last frames are context, so the video is extended by one mirrored frame each end", async () => {
  const r = restorer(models.pvdnet());
  try {
    assert.equal(r.plan.context, 1);
    const frames = clip(4, 64, 64);
    const got = await run(r, frames);
    assert.equal(got.length, 4);
    const pos = [1, 0, 1, 2, 3, 2];
    const want = direct(r, frames, pos, (x) => r.strategy.forward(r.model, r.params, x, tf.zerosLike(x), false)[0]!.out);
    close(got, want);
  } finally {
    r.dispose();
  }
});

test('SRN through the multiScale strategy on a size its pyramid cannot halve: mirror-padded, cropped back', async () => {
  const r = restorer(models.srn({ innerChannels: 2 }));
  try {
    assert.equal(r.sizeMultiple, 16);
    const frames = clip(2, 19, 23);
    const got = await run(r, frames);
    assert.equal(got.length, 2);
    assert.equal(got[0]!.length, 19 * 23 * 3);
    assert.ok(got.every((f) => f.every(Number.isFinite)));
  } finally {
    r.dispose();
  }
});
