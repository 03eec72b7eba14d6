import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { Rng } from '../src/util/rng.ts';
import { epochBatches } from '../src/data/loader.ts';
import { bsdDataset, dvdDataset, folderDataset, goproDataset, redsDataset } from '../src/data/readers.ts';
import { applyPlan, hflip, planAugment, randomCrop, rot90, temporalReverse, transpose, vflip } from '../src/data/augment.ts';
import type { AugmentSpec } from '../src/data/augment.ts';
import { clipFrames, H, removeDir, sourceAt, tempDir, W, writeBsd, writeDvd, writeFolder, writeGopro, writePng16, writeReds } from './helpers/data.ts';

let root = '';
const gopro = () => path.join(root, 'GOPRO_Large', 'train');
const reds = () => ({ rootGt: path.join(root, 'REDS', 'train', 'train_sharp'), rootInput: path.join(root, 'REDS', 'train', 'train_blur') });
const bsd = () => path.join(root, 'BSD_3ms24ms', 'train');
const dvd = () => path.join(root, 'DVD', 'test');
const folder = () => path.join(root, 'frames');
const quiet = { warn: (m: string) => assert.fail(`unexpected warning: ${m}`) };

before(async () => {
  root = await tempDir('readers');
  await writeGopro(gopro(), { GOPR0001_11_00: 6, GOPR0002_11_00: 4 });
  await writeReds(reds().rootGt, reds().rootInput, { '000': 9, '001': 6 });
  await writeBsd(bsd(), { '000': 14 });
  await writeDvd(dvd(), { '720p_240fps_2': 100 });
  await writeFolder(folder(), 5);
});
after(() => removeDir(root));

test('GoPro: blur inputs, sharp ground truth, windows per video, numbering from 000047', async () => {
  const ds = await goproDataset({ root: gopro(), sampling: 'n_c', numFrames: 3 }, quiet);
  assert.equal(ds.name, 'gopro');
  assert.equal(ds.length, 4 + 2);
  assert.deepEqual(ds.videos, [
    { name: 'GOPR0001_11_00', frames: 6, samples: 4, skipped: 0 },
    { name: 'GOPR0002_11_00', frames: 4, samples: 2, skipped: 0 },
  ]);
  assert.match(ds.describe(), /gopro: 6 samples from 2 videos \(n_c, numFrames 3, interval 1, overlapping\)\n {2}GOPR0001_11_00: 6 frames, 4 samples/);
  const s = await ds.get(0, Rng.seeded(0));
  assert.equal(s.video, 'GOPR0001_11_00');
  assert.deepEqual(s.frames, ['000048']);
  assert.deepEqual(s.inputShape, [3, H, W, 3]);
  assert.deepEqual(s.gtShape, [1, H, W, 3]);
  assert.deepEqual(clipFrames(s.input, s.inputShape), [0, 1, 2]);
  assert.deepEqual(clipFrames(s.gt, s.gtShape), [1]);
  assert.deepEqual(sourceAt(s.input, s.inputShape, 2, 7, 11), { frame: 2, kind: 'blur', y: 7, x: 11 });
  assert.deepEqual(sourceAt(s.gt, s.gtShape, 0, 11, 15), { frame: 1, kind: 'sharp', y: 11, x: 15 });
  // Exact float conversion: byte / 255.
  assert.equal(s.input[2], Math.fround(100 / 255));
  const last = await ds.get(5, Rng.seeded(0));
  assert.equal(last.video, 'GOPR0002_11_00');
  assert.deepEqual(last.frames, ['000049']);
  assert.deepEqual(ds.clip(5), { video: 'GOPR0002_11_00', input: ['000048', '000049', '000050'], gt: ['000049'] });
  await assert.rejects(ds.get(6, Rng.seeded(0)), /gopro: sample index 6 out of range \[0, 6\)/);
});

test('video folders may be symbolic links', async () => {
  const linked = path.join(root, 'linked');
  fs.mkdirSync(linked);
  fs.symlinkSync(path.join(gopro(), 'GOPR0002_11_00'), path.join(linked, 'GOPR0002_11_00'), 'dir');
  const ds = await goproDataset({ root: linked, numFrames: 3 }, quiet);
  assert.deepEqual(ds.videos.map((v) => [v.name, v.samples]), [['GOPR0002_11_00', 2]]);
});

test('GoPro useGamma reads blur_gamma', async () => {
  const ds = await goproDataset({ root: gopro(), useGamma: true, name: 'gopro-gamma' }, quiet);
  assert.equal(ds.name, 'gopro-gamma');
  assert.equal(ds.length, 10); // numFrames 1: every frame
  const s = await ds.get(3, Rng.seeded(0));
  assert.equal(sourceAt(s.input, s.inputShape, 0, 0, 0).kind, 'gamma');
  assert.equal(sourceAt(s.gt, s.gtShape, 0, 0, 0).kind, 'sharp');
});

test('DVD (JPEG): n_c and dvd_test', async () => {
  const nc = await dvdDataset({ root: dvd(), numFrames: 5 }, quiet);
  assert.equal(nc.length, 96);
  const at10 = nc.clip(8);
  assert.deepEqual(at10, { video: '720p_240fps_2', input: ['00008', '00009', '00010', '00011', '00012'], gt: ['00010'] });
  const test30 = await dvdDataset({ root: dvd(), sampling: 'dvd_test', numFrames: 5 }, quiet);
  assert.equal(test30.length, 30);
  assert.deepEqual(test30.clip(29).gt, ['00097']);
  const s = await test30.get(4, Rng.seeded(0)); // anchor position 15
  assert.deepEqual(s.frames, ['00015']);
  assert.deepEqual(s.inputShape, [5, 8, 8, 3]);
  const r = (data: Float32Array, t: number) => data[t * 8 * 8 * 3]! * 255;
  for (let t = 0; t < 5; t++) assert.ok(Math.abs(r(s.input, t) - 2 * (13 + t)) <= 2, `frame ${t}: R=${r(s.input, t)}`);
  assert.ok(Math.abs(r(s.gt, 0) - 30) <= 2);
  assert.ok(Math.abs(s.input[1]! * 255 - 200) <= 2, 'input is the blurry folder');
  assert.ok(Math.abs(s.gt[1]! * 255 - 50) <= 2, 'ground truth is GT');
});

test('REDS: separate roots; n_n without overlap; n_l and n_r with an interval', async () => {
  const nn = await redsDataset({ ...reds(), sampling: 'n_n', numFrames: 3, overlapping: false }, quiet);
  assert.deepEqual(nn.videos.map((v) => v.samples), [3, 2]);
  const s = await nn.get(1, Rng.seeded(0));
  assert.deepEqual(s.frames, ['00000003', '00000004', '00000005']);
  assert.deepEqual(clipFrames(s.input, s.inputShape), [3, 4, 5]);
  assert.deepEqual(clipFrames(s.gt, s.gtShape), [3, 4, 5]);
  assert.equal(sourceAt(s.gt, s.gtShape, 2, 0, 0).kind, 'sharp');

  const nr = await redsDataset({ ...reds(), sampling: 'n_r', numFrames: 3, interval: 2 }, quiet);
  assert.deepEqual(nr.videos.map((v) => v.samples), [5, 2]);
  const r0 = await nr.get(0, Rng.seeded(0));
  assert.deepEqual(clipFrames(r0.input, r0.inputShape), [0, 2, 4]);
  assert.deepEqual(r0.frames, ['00000004']);
  const nl = await redsDataset({ ...reds(), sampling: 'n_l', numFrames: 3, interval: 2 }, quiet);
  const l5 = await nl.get(5, Rng.seeded(0));
  assert.equal(l5.video, '001');
  assert.deepEqual(clipFrames(l5.input, l5.inputShape), [0, 2, 4]);
  assert.deepEqual(l5.frames, ['00000000']);

  const whole = await redsDataset({ ...reds(), sampling: 'video' }, quiet);
  assert.deepEqual(whole.videos.map((v) => v.samples), [1, 1]);
  assert.match(whole.describe(), /reds: 2 samples from 2 videos \(video: one sample per video\)/);
  const w1 = await whole.get(1, Rng.seeded(0));
  assert.equal(w1.video, '001');
  assert.deepEqual(clipFrames(w1.input, w1.inputShape), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(clipFrames(w1.gt, w1.gtShape), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(w1.frames, ['00000000', '00000001', '00000002', '00000003', '00000004', '00000005']);
});

test('BSD: strcnn windows (n=8, 14 frames)', async () => {
  const ds = await bsdDataset({ root: bsd(), sampling: 'strcnn', numFrames: 8 }, quiet);
  assert.equal(ds.length, 7);
  const s = await ds.get(0, Rng.seeded(0));
  assert.deepEqual(clipFrames(s.input, s.inputShape), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(clipFrames(s.gt, s.gtShape), [2, 3, 4, 5]);
  assert.deepEqual(s.frames, ['00002', '00003', '00004', '00005']);
  assert.equal(sourceAt(s.input, s.inputShape, 0, 3, 3).kind, 'blur');
});

test('folder (inference): no ground truth, frames name the targets', async () => {
  const ds = await folderDataset({ root: folder(), sampling: 'n_c', numFrames: 3 }, quiet);
  assert.equal(ds.name, 'folder');
  assert.equal(ds.length, 3);
  const s = await ds.get(2, Rng.seeded(0));
  assert.equal(s.video, 'frames');
  assert.deepEqual(s.frames, ['00003']);
  assert.deepEqual(clipFrames(s.input, s.inputShape), [2, 3, 4]);
  assert.equal(s.gt.length, 0);
  assert.deepEqual(s.gtShape, [0, H, W, 3]);
  // Overlapping windows reach the last frame (the original dropped the last window).
  const nn = await folderDataset({ root: folder(), sampling: 'n_n', numFrames: 2 }, quiet);
  assert.deepEqual(nn.clip(nn.length - 1).input, ['00003', '00004']);
  // Non-overlapping windows are all full length (the original could end on a short one).
  const tiles = await folderDataset({ root: folder(), sampling: 'n_n', numFrames: 2, overlapping: false }, quiet);
  assert.deepEqual([0, 1].map((i) => tiles.clip(i).input), [['00000', '00001'], ['00002', '00003']]);
});

test('gray, RGBA and 16-bit frames decode to RGB in [0, 1]', async () => {
  const dir = path.join(root, 'formats');
  fs.mkdirSync(dir);
  const gray = Buffer.from(Array.from({ length: 4 * 2 }, (_, i) => i * 30));
  await sharp(gray, { raw: { width: 4, height: 2, channels: 1 } }).toColourspace('b-w').png().toFile(path.join(dir, '00000.png'));
  const rgba = Buffer.from(Array.from({ length: 4 * 2 * 4 }, (_, i) => (i * 7) % 256));
  await sharp(rgba, { raw: { width: 4, height: 2, channels: 4 } }).png().toFile(path.join(dir, '00001.png'));
  const wide = Array.from({ length: 4 * 2 * 3 }, (_, i) => i * 2731);
  await writePng16(path.join(dir, '00002.png'), 4, 2, wide);
  const ds = await folderDataset({ root: dir }, quiet);
  const [g, a, w] = await Promise.all([0, 1, 2].map((i) => ds.get(i, Rng.seeded(0))));
  for (const s of [g!, a!, w!]) assert.deepEqual(s.inputShape, [1, 2, 4, 3]);
  for (let p = 0; p < 8; p++) for (let c = 0; c < 3; c++) assert.equal(g!.input[p * 3 + c], Math.fround(gray[p]! / 255));
  for (let p = 0; p < 8; p++) for (let c = 0; c < 3; c++) assert.equal(a!.input[p * 3 + c], Math.fround(rgba[p * 4 + c]! / 255));
  for (let i = 0; i < wide.length; i++) assert.equal(w!.input[i], Math.fround(wide[i]! / 65535));
});

const recipe: AugmentSpec[] = [randomCrop([5, 7]), hflip(), vflip(), temporalReverse(), rot90()];

test('augmentation: one decision for every frame of the input and the ground truth', async () => {
  const ds = await redsDataset({ ...reds(), sampling: 'n_n', numFrames: 3, augment: recipe }, quiet);
  const seen = new Set<string>();
  for (let i = 0; i < ds.length; i++) {
    const s = await ds.get(i, Rng.derive(1, `sample:0:${i}`));
    const [t, h, w] = s.inputShape;
    assert.deepEqual(s.gtShape, s.inputShape);
    assert.ok((h === 5 && w === 7) || (h === 7 && w === 5));
    const ids = ds.clip(i).gt;
    const reversed = s.frames[0] !== ids[0];
    assert.deepEqual(s.frames, reversed ? [...ids].reverse() : ids);
    const frames = clipFrames(s.input, s.inputShape);
    assert.deepEqual(frames.map((f) => String(f).padStart(8, '0')), s.frames);
    for (let f = 0; f < t; f++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const a = sourceAt(s.input, s.inputShape, f, y, x);
          const b = sourceAt(s.gt, s.gtShape, f, y, x);
          const first = sourceAt(s.input, s.inputShape, 0, y, x);
          assert.equal(a.kind, 'blur');
          assert.equal(b.kind, 'sharp');
          assert.deepEqual([b.frame, b.y, b.x], [a.frame, a.y, a.x], 'gt aligned with input');
          assert.deepEqual([a.y, a.x], [first.y, first.x], 'same crop/flip on every frame');
        }
      }
    }
    seen.add(`${h}x${w}:${JSON.stringify(sourceAt(s.input, s.inputShape, 0, 0, 0))}:${reversed}`);
  }
  assert.ok(seen.size > 5, 'draws differ between samples');
});

test('augmentation: same seed, same sample; decoding only the crop equals augmenting full frames', async () => {
  const ds = await goproDataset({ root: gopro(), sampling: 'n_c', numFrames: 3, augment: [hflip(), randomCrop([4, 6]), transpose(), vflip(), temporalReverse()] }, quiet);
  const again = await goproDataset({ root: gopro(), sampling: 'n_c', numFrames: 3, augment: [hflip(), randomCrop([4, 6]), transpose(), vflip(), temporalReverse()] }, quiet);
  const plain = await goproDataset({ root: gopro(), sampling: 'n_c', numFrames: 3 }, quiet);
  for (let i = 0; i < ds.length; i++) {
    for (const seed of [3, 4, 5]) {
      const a = await ds.get(i, Rng.seeded(seed));
      assert.deepEqual(await again.get(i, Rng.seeded(seed)), a);
      const full = await plain.get(i, Rng.seeded(0));
      const plan = planAugment([hflip(), randomCrop([4, 6]), transpose(), vflip(), temporalReverse()], Rng.seeded(seed), H, W);
      assert.deepEqual(a.input, applyPlan(full.input, full.inputShape, plan).data);
      assert.deepEqual(a.gt, applyPlan(full.gt, full.gtShape, plan).data);
      assert.deepEqual(a.inputShape, [3, plan.height, plan.width, 3]);
    }
  }
});

test('memoryCache: bit-identical samples, decoded once (later reads need no file)', async () => {
  const dir = path.join(root, 'memory-cache');
  await writeGopro(dir, { S: 5 });
  const augment = [randomCrop([4, 6]), hflip(), transpose(), temporalReverse()];
  const cached = await goproDataset({ root: dir, numFrames: 3, augment, memoryCache: true }, quiet);
  const plain = await goproDataset({ root: dir, numFrames: 3, augment }, quiet);
  const whole = await goproDataset({ root: dir, numFrames: 3, memoryCache: true }, quiet);
  const plainWhole = await goproDataset({ root: dir, numFrames: 3 }, quiet);
  for (let i = 0; i < cached.length; i++) {
    for (const seed of [1, 2, 3]) assert.deepEqual(await cached.get(i, Rng.seeded(seed)), await plain.get(i, Rng.seeded(seed)));
    assert.deepEqual(await whole.get(i, Rng.seeded(0)), await plainWhole.get(i, Rng.seeded(0)));
  }
  const expected = await plain.get(1, Rng.seeded(9));
  fs.rmSync(path.join(dir, 'S', 'blur'), { recursive: true });
  assert.deepEqual(await cached.get(1, Rng.seeded(9)), expected);
  await assert.rejects(plain.get(1, Rng.seeded(9)), /cannot decode .*blur/);
});

test('the loader batches a reader; crops are the same whatever the batch size', async () => {
  const ds = await goproDataset({ root: gopro(), numFrames: 3, augment: [randomCrop(4), hflip()] }, quiet);
  const collect = async (batchSize: number) => {
    const out: Float32Array[] = [];
    for await (const b of epochBatches(ds, { batchSize, shuffle: true, seed: 7, dropLast: false }, 0)) {
      assert.deepEqual(b.inputShape.slice(1), [3, 4, 4, 3]);
      const n = b.inputShape.slice(1).reduce((x, y) => x * y, 1);
      for (let k = 0; k < b.inputShape[0]; k++) out.push(b.input.slice(k * n, (k + 1) * n));
    }
    return out;
  };
  const [one, four] = [await collect(1), await collect(4)];
  assert.equal(one.length, ds.length);
  assert.deepEqual(one, four);
});

test('transform hook runs after the augmentation specs', async () => {
  const ds = await folderDataset({ root: folder() }, { ...quiet, transform: (s) => ({ ...s, video: `${s.video}!` }) });
  assert.equal((await ds.get(0, Rng.seeded(0))).video, 'frames!');
});

test('index cache: reused while the listing is unchanged, rebuilt when files change', async () => {
  const dir = path.join(root, 'cache-reds');
  const rootGt = path.join(dir, 'sharp');
  const rootInput = path.join(dir, 'blur');
  await writeReds(rootGt, rootInput, { a: 3 });
  const cacheFile = path.join(dir, 'cache', 'index.json');
  const first = await redsDataset({ rootGt, rootInput, cacheFile }, quiet);
  const cached = JSON.parse(fs.readFileSync(cacheFile, 'utf8'));
  assert.deepEqual(cached.videos, first.index.videos);
  assert.equal(cached.videos[0].frames[0].width, W);
  // Doctor the cache: a reused entry shows it.
  cached.videos[0].frames[0].width = 99;
  fs.writeFileSync(cacheFile, JSON.stringify(cached));
  const second = await redsDataset({ rootGt, rootInput, cacheFile }, quiet);
  assert.equal(second.index.videos[0]!.frames[0]!.width, 99);
  // A new frame changes the listing: the video is indexed again from the headers.
  await writeReds(rootGt, rootInput, { a: 4 });
  const third = await redsDataset({ rootGt, rootInput, cacheFile }, quiet);
  assert.equal(third.index.videos[0]!.frames.length, 4);
  assert.equal(third.index.videos[0]!.frames[0]!.width, W);
  // A cache of another dataset is ignored.
  const other = await goproDataset({ root: gopro(), cacheFile }, quiet);
  assert.equal(other.index.videos.length, 2);
});
