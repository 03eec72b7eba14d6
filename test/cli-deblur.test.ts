// `simdeblur deblur` end to end, in this process: an image model and a video model (tiny, with
// random weights, written as checkpoint directories) on an image, a folder of frames and a
// video, whole and tiled; the outputs are checked against running the model directly; every
// documented error exits non-zero with its message and leaves nothing in --out.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { tf, type Tensor } from '../src/runtime/index.ts';
import { datasets, experiment, losses, models, optim, augment } from '../src/index.ts';
import { buildModel } from '../src/models/define.ts';
import { stateDict } from '../src/models/model.ts';
import { writeSafetensors } from '../src/io/safetensors.ts';
import { ffmpeg } from '../src/io/video.ts';
import { makeVideo, pattern } from './helpers/video.ts';
import { tempDir } from './helpers/engine.ts';
import { cli } from './helpers/cli.ts';

const root = tempDir('simdeblur-deblur-');
const ckpt = { image: path.join(root, 'nafnet'), video: path.join(root, 'dbn') };
const specs = {
  image: models.nafnet({ imgChannels: 3, width: 4, middleBlkNum: 1, encBlkNums: [1, 1], decBlkNums: [1, 1] }),
  video: models.dbn({ numFrames: 5, innerChannels: 4 }),
};
const inputs = { image: path.join(root, 'in', 'photo.png'), folder: path.join(root, 'in', 'seq'), video: path.join(root, 'in', 'clip.mp4') };

/** A checkpoint directory as training writes one: experiment.json and weights.safetensors (PyTorch layout). */
function writeCheckpoint(dir: string, model: typeof specs.image | typeof specs.video, numFrames: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const exp = experiment({
    name: path.basename(dir),
    data: { train: datasets.gopro({ root: 'nowhere', numFrames }), val: datasets.gopro({ root: 'nowhere', numFrames }), batchSize: 1, augment: [augment.crop({ size: [16, 16] })] },
    model,
    loss: losses.charbonnier(),
    optimizer: optim.adam({ lr: 1e-3 }),
    run: { iterations: 1 },
    validation: { every: 1 },
    checkpoint: { every: 1 },
  });
  fs.writeFileSync(path.join(dir, 'experiment.json'), JSON.stringify(exp));
  const m = buildModel(model, 3);
  writeSafetensors(path.join(dir, 'weights.safetensors'), stateDict(m, 'pytorch'), { format: 'pt', layout: 'pytorch', model: m.name });
  m.dispose();
}

/** Random smooth RGB bytes. */
function picture(w: number, h: number, seed: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let i = 0; i < out.length; i++) out[i] = (Math.sin(i * 0.37 + seed) * 90 + 128 + ((i * 7919 + seed * 31) % 23)) & 255;
  return out;
}

const png = (file: string, w: number, h: number, seed: number) => sharp(Buffer.from(picture(w, h, seed)), { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);

before(async () => {
  writeCheckpoint(ckpt.image, specs.image, 1);
  writeCheckpoint(ckpt.video, specs.video, 5);
  fs.mkdirSync(inputs.folder, { recursive: true });
  // Not multiples of 8: the models pad and crop.
  await png(inputs.image, 37, 29, 1);
  // Natural order: f2 before f10.
  for (const [i, name] of ['f1', 'f2', 'f10', 'f11', 'f3', 'f4'].entries()) await png(path.join(inputs.folder, `${name}.png`), 30, 22, i + 2);
  const ff = await ffmpeg();
  makeVideo(ff, inputs.video, Array.from({ length: 7 }, (_, i) => pattern(i, 34, 26)), 34, 26, '25', ['-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv444p']);
});


const readRgb = async (file: string): Promise<{ data: Float32Array; width: number; height: number }> => {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: Float32Array.from(data, (v) => v / 255), width: info.width, height: info.height };
};

/** The model run directly on frames `window` of `frames` (float RGB), clamped: [H, W, 3] values. */
function direct(spec: typeof specs.image | typeof specs.video, frames: Float32Array[], w: number, h: number): Float32Array {
  const m = buildModel(spec, 3);
  try {
    return tf.tidy(() => {
      const x = tf.tensor5d(Float32Array.from(frames.flatMap((f) => [...f])), [1, frames.length, h, w, 3]);
      const y = m.apply(m.params, x, { training: false }) as Tensor;
      return tf.clipByValue(y, 0, 1).dataSync() as Float32Array;
    });
  } finally {
    m.dispose();
  }
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('an image model restores an image, a folder and a video; outputs keep their names and match the model', async () => {
  const out = path.join(root, 'out-image');
  const r = await cli(['deblur', inputs.image, inputs.folder, inputs.video, '--out', out, '--checkpoint', ckpt.image, '--json']);
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out.trim().split('\n').pop()!) as { frames: number; msPerFrame: number; peakRssMb: number; outputs: string[] };
  assert.equal(summary.frames, 1 + 6 + 7);
  assert.ok(summary.msPerFrame > 0 && summary.peakRssMb > 0);
  assert.deepEqual(fs.readdirSync(out).sort(), ['clip.mp4', 'photo.png', 'seq']);
  assert.deepEqual(fs.readdirSync(path.join(out, 'seq')).sort(), ['f1.png', 'f10.png', 'f11.png', 'f2.png', 'f3.png', 'f4.png']);
  // The image: the model's output on it, to 8-bit rounding.
  const input = await readRgb(inputs.image);
  const got = await readRgb(path.join(out, 'photo.png'));
  assert.deepEqual([got.width, got.height], [37, 29]);
  assert.ok(maxDiff(got.data, direct(specs.image, [input.data], 37, 29)) <= 0.5 / 255 + 1e-6);
  // The video: same frame count and frame rate.
  const [video] = await import('../src/infer/frames.ts').then((f) => f.openInputs([path.join(out, 'clip.mp4')]));
  assert.equal(video!.count, 7);
  assert.equal(video!.fps, 25);
  assert.deepEqual([video!.width, video!.height], [34, 26]);
});

test('a video model sees mirrored 5-frame windows in natural frame order; tiled output stays close to whole', async () => {
  const out = path.join(root, 'out-video');
  const r = await cli(['deblur', inputs.folder, '--out', out, '--checkpoint', ckpt.video]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /seq -> .*seq \(6 frames/);
  const order = ['f1', 'f2', 'f3', 'f4', 'f10', 'f11'];
  const frames = await Promise.all(order.map((n) => readRgb(path.join(inputs.folder, `${n}.png`))));
  // Frame 0's window is frames 2, 1, 0, 1, 2; frame f3 (position 2) sees positions 0..4.
  for (const [pos, window] of [[0, [2, 1, 0, 1, 2]], [2, [0, 1, 2, 3, 4]], [5, [3, 4, 5, 4, 3]]] as const) {
    const want = direct(specs.video, window.map((p) => frames[p]!.data), 30, 22);
    const got = await readRgb(path.join(out, 'seq', `${order[pos]}.png`));
    assert.ok(maxDiff(got.data, want) <= 0.5 / 255 + 1e-6, `frame ${order[pos]}`);
  }
  const tiled = path.join(root, 'out-video-tiled');
  const t = await cli(['deblur', inputs.folder, inputs.image, inputs.video, '--out', tiled, '--checkpoint', ckpt.video, '--tile', '16', '--overlap', '6', '--json']);
  assert.equal(t.code, 0, t.err);
  for (const n of order) {
    const a = await readRgb(path.join(out, 'seq', `${n}.png`));
    const b = await readRgb(path.join(tiled, 'seq', `${n}.png`));
    const mse = a.data.reduce((s, v, i) => s + (v - b.data[i]!) ** 2, 0) / a.data.length;
    assert.ok(10 * Math.log10(1 / Math.max(mse, 1e-12)) > 30, `${n}: tiled differs from whole by more than 30 dB PSNR`);
  }
  assert.ok(fs.existsSync(path.join(tiled, 'clip.mp4')) && fs.existsSync(path.join(tiled, 'photo.png')));
});

test('--gt scores every frame; --side-by-side writes input | output | gt', async () => {
  const out = path.join(root, 'out-gt');
  // The blurry frames as their own ground truth: the input PSNR is infinite, the output's finite.
  const r = await cli(['deblur', inputs.folder, '--out', out, '--checkpoint', ckpt.image, '--gt', path.join(root, 'in'), '--side-by-side', '--json']);
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out.trim().split('\n').pop()!) as { psnr: number; ssim: number; inputPsnr: number };
  assert.ok(Number.isFinite(s.psnr) && s.ssim > 0 && s.ssim <= 1, JSON.stringify(s));
  const side = await sharp(path.join(out, 'side-by-side', 'seq', 'f1.png')).metadata();
  assert.deepEqual([side.width, side.height], [90, 22]);
});

test('--model NAME --weights FILE: a zoo model with a weights file; --set model.* options', async () => {
  const out = path.join(root, 'out-model');
  const file = path.join(ckpt.video, 'weights.safetensors');
  const r = await cli(['deblur', inputs.image, '--out', out, '--model', 'dbn', '--set', 'model.innerChannels=4', '--weights', file]);
  assert.equal(r.code, 0, r.err);
  assert.ok(fs.existsSync(path.join(out, 'photo.png')));
});

/** Runs a failing command: its status, and that --out holds nothing. */
async function fails(args: string[], out: string, code: number, message: RegExp): Promise<void> {
  const r = await cli([...args, '--out', out]);
  assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
  assert.match(r.err, message);
  assert.deepEqual(fs.existsSync(out) ? fs.readdirSync(out, { recursive: true }) : [], [], `${out} is not empty`);
}

test('bad inputs, weights and names: clear errors, non-zero exits, nothing half-written', async () => {
  const bad = path.join(root, 'bad');
  fs.mkdirSync(bad, { recursive: true });
  const garbage = path.join(bad, 'garbage.png');
  fs.writeFileSync(garbage, 'not an image');
  const mixed = path.join(bad, 'mixed');
  fs.mkdirSync(mixed);
  await png(path.join(mixed, 'a1.png'), 20, 20, 1);
  await png(path.join(mixed, 'a2.png'), 24, 20, 2);
  const empty = path.join(bad, 'empty.mp4');
  fs.writeFileSync(empty, '');
  const out = (n: string) => path.join(root, `out-bad-${n}`);
  await fails(['deblur', garbage, '--checkpoint', ckpt.image], out('garbage'), 1, /garbage\.png/);
  await fails(['deblur', mixed, '--checkpoint', ckpt.image], out('mixed'), 1, /a2\.png is 24x20.*20x20/);
  await fails(['deblur', empty, '--checkpoint', ckpt.image], out('empty'), 1, /empty\.mp4/);
  // Weights of another model: the mis-shaped and missing names are listed.
  await fails(['deblur', inputs.image, '--model', 'dbn', '--set', 'model.innerChannels=8', '--weights', path.join(ckpt.video, 'weights.safetensors')], out('shape'), 1, /shape mismatch for '[^']+'/);
  // Renamed keys: the closest expected name is suggested.
  const renamed = path.join(bad, 'renamed.safetensors');
  const m = buildModel(specs.video, 3);
  const sd = stateDict(m, 'pytorch');
  m.dispose();
  writeSafetensors(renamed, Object.fromEntries(Object.entries(sd).map(([k, v]) => [`net.${k}`, v])), { format: 'pt', layout: 'pytorch' });
  await fails(['deblur', inputs.image, '--model', 'dbn', '--set', 'model.innerChannels=4', '--weights', renamed], out('renamed'), 1, /unexpected key 'net\.([^']+)' \(did you mean \1\?\)/);
  await fails(['deblur', inputs.image, '--model', 'dbnn', '--weights', renamed], out('name'), 2, /dbnn.*did you mean dbn/);
  await fails(['deblur', inputs.image, '--model', 'dbn', '--set', 'model.innerChanels=4', '--weights', renamed], out('option'), 2, /innerChanels.*did you mean innerChannels/);
  // A frame that fails half-way (its ground truth is missing) leaves no partial folder.
  const gt = path.join(bad, 'gt');
  fs.mkdirSync(gt);
  for (const n of ['f1', 'f2']) fs.copyFileSync(path.join(inputs.folder, `${n}.png`), path.join(gt, `${n}.png`));
  await fails(['deblur', inputs.folder, '--checkpoint', ckpt.image, '--gt', gt], out('gt'), 1, /no ground truth for frame f3/);
  // Usage errors.
  await fails(['deblur', inputs.image, '--weights', renamed], out('usage'), 2, /--weights needs --model/);
  await fails(['deblur', inputs.image, '--checkpoint', ckpt.image, '--tile', '16', '--overlap', '16'], out('tile'), 2, /--overlap \(16\) must be smaller than --tile \(16\)/);
  await fails(['deblur', inputs.image, '--checkpoint', ckpt.video, '--tlc'], out('tlc'), 2, /--tlc: model dbn has no global operation/);
});

test('no weights option: the shipped demonstration models, the image one for images and the video one for videos', async () => {
  const out = path.join(root, 'out-default');
  const r = await cli(['deblur', inputs.image, inputs.video, '--out', out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /model: nafnet from demo-nafnet \(shipped demonstration model\)/);
  assert.match(r.err, /model: dbn from demo-dbn \(shipped demonstration model\)/);
  assert.deepEqual(fs.readdirSync(out).sort(), ['clip.mp4', 'photo.png']);
});

test('stopping mid-input (Ctrl-C aborts the signal) leaves no partial output of that input', async () => {
  const { fromExperiment, readExperiment } = await import('../src/infer/load.ts');
  const { loadRestorer } = await import('../src/infer/restorer.ts');
  const { deblurSource } = await import('../src/infer/deblur.ts');
  const { openInputs } = await import('../src/infer/frames.ts');
  const restorer = loadRestorer(fromExperiment(readExperiment(path.join(ckpt.video, 'experiment.json')), ckpt.video, { ema: false }));
  const out = path.join(root, 'out-stopped');
  fs.mkdirSync(out);
  const stop = new AbortController();
  const before = tf.memory().numTensors;
  try {
    for (const input of [inputs.folder, inputs.video]) {
      const [source] = await openInputs([input]);
      await assert.rejects(deblurSource(restorer, source!, { outDir: out, signal: stop.signal, onFrame: (_, done) => done === 2 && stop.abort(new Error('interrupted')) }), /interrupted/);
      assert.deepEqual(fs.readdirSync(out), []);
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    }
  } finally {
    restorer.dispose();
  }
});
