import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { synthesize, MANIFEST, type SynthOptions, type SynthProgress } from '../src/synth/synthesize.ts';
import type { LayoutName } from '../src/synth/layout.ts';
import { bsdDataset, dvdDataset, goproDataset, redsDataset } from '../src/data/readers.ts';
import type { Dataset } from '../src/data/dataset.ts';
import { Rng } from '../src/util/rng.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-dataset-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const fresh = (label: string) => path.join(tmp, `${label}-${counter++}`);

const base = { videos: 1, frames: 2, width: 40, height: 32, seed: 7 } as const;

/** Every file below `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

function bytesOf(dir: string): Map<string, Buffer> {
  return new Map(tree(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
}

async function pixels(file: string): Promise<Uint8Array> {
  return new Uint8Array(await sharp(file).raw().toBuffer());
}

test('layouts: exact paths of every benchmark, both splits', async () => {
  const expected: Record<LayoutName, string[]> = {
    gopro: ['GOPR0000_synth', 'GOPR0001_synth'].flatMap((v) =>
      ['train', 'test'].flatMap((s) => ['blur', 'blur_gamma', 'sharp'].flatMap((d) => ['000001.png', '000002.png'].map((f) => `${s}/${v}/${d}/${f}`))),
    ),
    dvd: ['quantitative_datasets', 'test'].flatMap((s) => ['synth_000', 'synth_001'].flatMap((v) => ['GT', 'input'].flatMap((d) => ['00000.jpg', '00001.jpg'].map((f) => `${s}/${v}/${d}/${f}`)))),
    reds: ['train', 'val'].flatMap((s) => [`${s}_blur`, `${s}_sharp`].flatMap((d) => ['000', '001'].flatMap((v) => ['00000000.png', '00000001.png'].map((f) => `${s}/${d}/${v}/${f}`)))),
    bsd: ['train', 'valid'].flatMap((s) => ['000', '001'].flatMap((v) => ['Blur', 'Sharp'].flatMap((d) => ['00000000.png', '00000001.png'].map((f) => `${s}/${v}/${d}/RGB/${f}`)))),
  };
  for (const layout of ['gopro', 'dvd', 'reds', 'bsd'] as const) {
    const out = fresh(layout);
    const result = await synthesize({ ...base, videos: 2, layout, out });
    assert.deepEqual(tree(out), [...expected[layout], MANIFEST].sort(), layout);
    assert.equal(result.written, expected[layout].length);
    assert.deepEqual(
      result.splits.map((s) => s.split),
      ['train', 'test'],
    );
  }
  // DVD is JPEG; the others PNG.
  const dvd = fresh('dvd-format');
  await synthesize({ ...base, layout: 'dvd', out: dvd, split: 'test' });
  assert.deepEqual(tree(dvd).filter((f) => f !== MANIFEST).length, 4);
  const head = fs.readFileSync(path.join(dvd, 'test/synth_000/input/00000.jpg')).subarray(0, 2);
  assert.deepEqual([...head], [0xff, 0xd8]);
});

test('determinism: the same seed gives identical bytes, another seed other frames', async () => {
  const opts = { ...base, layout: 'gopro', split: 'train', noise: 0.01, shotNoise: 0.001 } satisfies Omit<SynthOptions, 'out'>;
  const a = fresh('det');
  const b = fresh('det');
  const c = fresh('det');
  await synthesize({ ...opts, out: a });
  await synthesize({ ...opts, out: b });
  await synthesize({ ...opts, seed: 8, out: c });
  const [ba, bb, bc] = [bytesOf(a), bytesOf(b), bytesOf(c)];
  assert.deepEqual([...ba.keys()], [...bb.keys()]);
  for (const [f, bytes] of ba) assert.ok(bytes.equals(bb.get(f)!), `${f} differs between identical runs`);
  const frame = 'train/GOPR0000_synth/sharp/000001.png';
  assert.ok(!ba.get(frame)!.equals(bc.get(frame)!));
});

test('content: sharp frames are clean, blurred ones differ by model, noise only on inputs', async () => {
  const clean = fresh('clean');
  const noisy = fresh('noisy');
  const moving = { ...base, motion: { speed: 5 } };
  await synthesize({ ...moving, layout: 'gopro', split: 'train', out: clean });
  await synthesize({ ...moving, layout: 'gopro', split: 'train', out: noisy, noise: 0.05 });
  const f = (root: string, d: string) => pixels(path.join(root, 'train/GOPR0000_synth', d, '000002.png'));
  assert.deepEqual(await f(noisy, 'sharp'), await f(clean, 'sharp'));
  const [blur, blurNoisy, gamma] = await Promise.all([f(clean, 'blur'), f(noisy, 'blur'), f(clean, 'blur_gamma')]);
  const meanAbs = (x: Uint8Array, y: Uint8Array) => x.reduce((s, v, i) => s + Math.abs(v - y[i]!), 0) / x.length;
  assert.ok(meanAbs(blur, blurNoisy) > 5, 'noise sigma 0.05 should change pixels by several levels');
  assert.ok(meanAbs(blur, gamma) > 0.2, 'gamma (linear light) and plain averaging should differ');
  // JPEG artefacts on PNG layouts when a quality is given.
  const jpeg = fresh('jpeg');
  await synthesize({ ...moving, layout: 'gopro', split: 'train', out: jpeg, jpegQuality: 20 });
  assert.deepEqual(await f(jpeg, 'sharp'), await f(clean, 'sharp'));
  assert.ok(meanAbs(await f(jpeg, 'blur'), blur) > 0.5);
});

test('resume: files present are kept, missing ones rewritten identically, stale temporaries removed', async () => {
  const out = fresh('resume');
  const opts = { ...base, layout: 'bsd', out, split: 'train' } as const;
  await synthesize(opts);
  const before = bytesOf(out);
  const victim = 'train/000/Blur/RGB/00000001.png';
  fs.rmSync(path.join(out, victim));
  // A leftover of an interrupted write by a process that no longer exists.
  const stale = path.join(out, 'train/000/Blur/RGB/00000001.png.tmp-2147483646-3');
  fs.writeFileSync(stale, 'partial');
  const events: SynthProgress[] = [];
  const r = await synthesize({ ...opts, onProgress: (p) => events.push(p) });
  assert.equal(r.written, 1);
  assert.equal(r.skippedFrames, 1);
  assert.ok(!fs.existsSync(stale));
  const after = bytesOf(out);
  assert.deepEqual([...after.keys()], [...before.keys()]);
  for (const [f, bytes] of before) assert.ok(bytes.equals(after.get(f)!), f);
  assert.deepEqual(
    events.map((e) => [e.frame, e.done, e.total, e.skipped]),
    [
      [0, 1, 2, true],
      [1, 2, 2, false],
    ],
  );
  // Other settings into the same folder are refused, naming the difference.
  await assert.rejects(synthesize({ ...opts, frames: 3 }), /other settings.*frames/);
  // The other split may be added later.
  const t = await synthesize({ ...opts, split: 'test' });
  assert.equal(t.written, 4);
});

test('option errors are reported before anything is written', async () => {
  const out = fresh('bad');
  const bad: Array<[Partial<SynthOptions>, RegExp]> = [
    [{ layout: 'vimeo' as LayoutName }, /layout must be one of gopro, dvd, reds, bsd/],
    [{ videos: 0 }, /videos must be a positive integer/],
    [{ width: 12.5 }, /width/],
    [{ subFrames: 4 }, /odd/],
    [{ exposure: 0 }, /exposure/],
    [{ noise: -0.1 }, /noise/],
    [{ jpegQuality: 101 }, /JPEG quality/],
    [{ seed: -1 }, /seed/],
    [{ split: 'val' as 'test' }, /split/],
  ];
  for (const [o, re] of bad) await assert.rejects(synthesize({ ...base, layout: 'gopro', out, ...o }), re);
  await assert.rejects(synthesize({ ...base, layout: 'gopro', out, images: fresh('empty') }), /source images/);
  assert.ok(!fs.existsSync(out));
});

test('the benchmark readers load what the synthesiser writes', async () => {
  const read = async (layout: LayoutName, open: (roots: { rootGt: string; rootInput?: string }) => Promise<Dataset>, sharpDir: (gt: string, video: string) => string) => {
    const out = fresh(`read-${layout}`);
    const r = await synthesize({ ...base, frames: 3, layout, out, split: 'test' });
    const roots = r.splits[0]!.roots;
    const ds = await open(roots);
    assert.equal(ds.length, 3, layout);
    const s = await ds.get(1, Rng.seeded(0));
    assert.deepEqual(s.inputShape, [1, base.height, base.width, 3]);
    // The reader's ground truth is the sharp file the synthesiser wrote.
    const name = fs.readdirSync(sharpDir(roots.rootGt, r.splits[0]!.videos[0]!)).sort()[1]!;
    const png = await pixels(path.join(sharpDir(roots.rootGt, r.splits[0]!.videos[0]!), name));
    assert.ok(s.gt.every((v, i) => Math.abs(v * 255 - png[i]!) < 1e-3), layout);
  };
  await read('gopro', (r) => goproDataset({ root: r.rootGt, useGamma: true }), (g, v) => path.join(g, v, 'sharp'));
  await read('dvd', (r) => dvdDataset({ root: r.rootGt }), (g, v) => path.join(g, v, 'GT'));
  await read('reds', (r) => redsDataset({ rootGt: r.rootGt, rootInput: r.rootInput! }), (g, v) => path.join(g, v));
  await read('bsd', (r) => bsdDataset({ root: r.rootGt }), (g, v) => path.join(g, v, 'Sharp', 'RGB'));
});
