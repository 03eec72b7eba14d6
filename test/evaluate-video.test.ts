// Evaluation over whole videos ('video' sampling): a recurrent strategy's state runs through
// every frame of a video, each restored frame is scored once under its own name, and the
// metrics (computed a few frames at a time) equal those of the whole result at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { tf } from '../src/runtime/index.ts';
import type { Tensor, Tensor4D } from '../src/runtime/index.ts';
import { Rng } from '../src/util/rng.ts';
import { goproDataset } from '../src/data/readers.ts';
import { evaluate } from '../src/engine/evaluate.ts';
import type { Strategy } from '../src/engine/strategy.ts';
import type { Model } from '../src/models/model.ts';
import { psnrPerImage, ssimPerImage } from '../src/metrics/index.ts';
import { removeDir, tempDir, writeGopro } from './helpers/data.ts';

let root = '';
before(async () => {
  root = await tempDir('evaluate-video');
  await writeGopro(path.join(root, 'test'), { A: 11, B: 4 });
});
after(() => removeDir(root));

/** Frames 1..T-1 of a clip, each the average of its input frame and the previous result. */
function runningBlend(input: Tensor): Tensor4D[] {
  const [b, t, h, w, c] = input.shape as [number, number, number, number, number];
  const frame = (i: number) => tf.reshape(tf.slice(input, [0, i, 0, 0, 0], [b, 1, h, w, c]), [b, h, w, c]) as Tensor4D;
  const outs: Tensor4D[] = [];
  let prev = frame(0);
  for (let i = 1; i < t; i++) {
    prev = tf.mul(tf.add(frame(i), prev), 0.5) as Tensor4D;
    outs.push(prev);
  }
  return outs;
}

const blend: Strategy = {
  name: 'runningBlend',
  forward(_model, _params, input, gt) {
    const [b, t, h, w, c] = gt.shape as [number, number, number, number, number];
    const out = tf.reshape(tf.stack(runningBlend(input), 1), [b * (t - 1), h, w, c]) as Tensor4D;
    const target = tf.reshape(tf.slice(gt, [0, 1, 0, 0, 0], [b, t - 1, h, w, c]), [b * (t - 1), h, w, c]) as Tensor4D;
    return [{ out, gt: target, frames: [1, t] }];
  },
};

test("'video' sampling: the recurrence runs through each whole video; every restored frame scored once", async () => {
  const ds = await goproDataset({ root: path.join(root, 'test'), sampling: 'video' });
  const noModel = { params: {} } as unknown as Model;
  const before = tf.memory().numTensors;
  const r = await evaluate(noModel, {}, blend, ds, { batchSize: 1, saveImages: 2 });
  assert.equal(tf.memory().numTensors, before);

  // Expected: the whole video at once, by hand.
  const want: Record<string, { psnr: number[]; ssim: number[]; input: number[] }> = {};
  for (let i = 0; i < ds.length; i++) {
    const s = await ds.get(i, Rng.seeded(0));
    const [t, h, w] = s.inputShape;
    want[s.video] = tf.tidy(() => {
      const gt = tf.tensor4d(s.gt, [t, h, w, 3]).slice(1, t - 1);
      const blurry = tf.tensor4d(s.input, [t, h, w, 3]).slice(1, t - 1);
      const out = tf.concat(runningBlend(tf.tensor(s.input, [1, ...s.inputShape])), 0);
      return { psnr: Array.from(psnrPerImage(gt, out).dataSync()), ssim: Array.from(ssimPerImage(gt, out).dataSync()), input: Array.from(psnrPerImage(gt, blurry).dataSync()) };
    });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const all = (k: 'psnr' | 'ssim' | 'input') => Object.values(want).flatMap((v) => v[k]);
  assert.equal(r.frames, 10 + 3);
  assert.deepEqual(Object.keys(r.perVideo), ['A', 'B']);
  for (const v of ['A', 'B']) {
    assert.equal(r.perVideo[v]!.frames, want[v]!.psnr.length);
    assert.ok(Math.abs(r.perVideo[v]!.psnr - mean(want[v]!.psnr)) < 1e-9, v);
    assert.ok(Math.abs(r.perVideo[v]!.ssim - mean(want[v]!.ssim)) < 1e-9, v);
  }
  assert.ok(Math.abs(r.psnr - mean(all('psnr'))) < 1e-9);
  assert.ok(Math.abs(r.inputPsnr! - mean(all('input'))) < 1e-9);
  // Side-by-side images are named after the restored frames (frame 0 has no result).
  assert.deepEqual(r.images.map((im) => im.name), ['A/000048', 'A/000049']);

  // Short clips restart the recurrence at every clip: other results, and fewer frames scored.
  const clips = await goproDataset({ root: path.join(root, 'test'), sampling: 'n_n', numFrames: 3, overlapping: false });
  const short = await evaluate(noModel, {}, blend, clips, { batchSize: 1, saveImages: 0 });
  assert.equal(short.frames, 3 * 2 + 1 * 2);
  assert.notEqual(short.psnr, r.psnr);
});
