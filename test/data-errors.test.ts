import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Rng } from '../src/util/rng.ts';
import { DataError } from '../src/data/image.ts';
import { DatasetProblemsError, folderDataset, goproDataset, redsDataset } from '../src/data/readers.ts';
import { hflip, randomCrop } from '../src/data/augment.ts';
import { clipFrames, removeDir, tempDir, writeFolder, writeGopro, writePng, writeReds } from './helpers/data.ts';

let root = '';
let n = 0;
/** A fresh GoPro split with one 8-frame sequence `S` (frames 000000..000007). */
async function freshGopro(frames = 8): Promise<{ dir: string; sharp: (i: number) => string; blur: (i: number) => string }> {
  const dir = path.join(root, `gopro-${n++}`);
  await writeGopro(dir, { S: frames }, 0);
  const name = (i: number) => `${String(i).padStart(6, '0')}.png`;
  return { dir, sharp: (i) => path.join(dir, 'S', 'sharp', name(i)), blur: (i) => path.join(dir, 'S', 'blur', name(i)) };
}
/** Escapes a path for a RegExp. */
const re = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
const truncate = (file: string) => {
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(file, bytes.subarray(0, Math.max(40, Math.floor(bytes.length * 0.6))));
};
const collect = () => {
  const warnings: string[] = [];
  return { warnings, hooks: { warn: (m: string) => void warnings.push(m) } };
};

before(async () => {
  root = await tempDir('errors');
});
after(() => removeDir(root));

test('a sharp frame without its blurry frame names the missing file', async () => {
  const g = await freshGopro();
  fs.rmSync(g.blur(3));
  await assert.rejects(goproDataset({ root: g.dir }), (e: unknown) => {
    assert.ok(e instanceof DatasetProblemsError);
    assert.match(e.message, /gopro: 1 problem\(s\) in the data/);
    assert.match(e.message, re(`missing input frame ${g.blur(3)} (its ground truth ${g.sharp(3)} exists)`));
    assert.deepEqual(e.problems.length, 1);
    return true;
  });
});

test('a blurry frame without its sharp frame names both files', async () => {
  const g = await freshGopro();
  fs.rmSync(g.sharp(7));
  await assert.rejects(goproDataset({ root: g.dir }), re(`input frame ${g.blur(7)} has no ground truth ${g.sharp(7)}`));
  // With skipBad it is only reported: it spoils no sample.
  const { warnings, hooks } = collect();
  const ds = await goproDataset({ root: g.dir, skipBad: true }, hooks);
  assert.equal(ds.length, 7);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, re(g.blur(7)));
});

test('a blur/sharp size mismatch names both files and sizes', async () => {
  const g = await freshGopro();
  await writePng(g.blur(2), 2, 'blur', 10, 12);
  await assert.rejects(goproDataset({ root: g.dir }), re(`${g.blur(2)} is 10x12 (WxH) but its ground truth ${g.sharp(2)} is 16x12`));
});

test('frames of one video with different sizes are reported', async () => {
  const g = await freshGopro();
  await writePng(g.blur(5), 5, 'blur', 8, 8);
  await writePng(g.sharp(5), 5, 'sharp', 8, 8);
  await assert.rejects(goproDataset({ root: g.dir }), re(`${g.blur(5)} is 8x8 (WxH) but 000000.png of the same video is 16x12`));
});

test('an unreadable image names the file at index time', async () => {
  const g = await freshGopro();
  fs.writeFileSync(g.sharp(4), 'not an image');
  await assert.rejects(goproDataset({ root: g.dir }), re(`cannot read the image header of ${g.sharp(4)}`));
});

test('a truncated image: found on decode (naming the file), or at index time with verify: full', async () => {
  const g = await freshGopro();
  truncate(g.blur(1));
  const ds = await goproDataset({ root: g.dir });
  await assert.rejects(ds.get(1, Rng.seeded(0)), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.equal(e.file, g.blur(1));
    assert.match(e.message, re(`cannot decode ${g.blur(1)}: `));
    return true;
  });
  await assert.rejects(goproDataset({ root: g.dir, verify: 'full' }), re(`cannot decode ${g.blur(1)}`));
});

test('memoryCache: a truncated image fails every time it is read (a failure is not cached); skipBad skips it', async () => {
  const g = await freshGopro();
  truncate(g.blur(1));
  const ds = await goproDataset({ root: g.dir, memoryCache: true });
  for (let k = 0; k < 2; k++) await assert.rejects(ds.get(1, Rng.seeded(0)), re(`cannot decode ${g.blur(1)}: `));
  const { warnings, hooks } = collect();
  const skipping = await goproDataset({ root: g.dir, memoryCache: true, skipBad: true }, hooks);
  assert.deepEqual((await skipping.get(1, Rng.seeded(0))).frames, ['000002']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, re(`skipping sample 1 (S, frames 000001): cannot decode ${g.blur(1)}`));
});

test('empty folders, missing folders and missing roots are named', async () => {
  const g = await freshGopro();
  fs.mkdirSync(path.join(g.dir, 'T', 'sharp'), { recursive: true });
  fs.mkdirSync(path.join(g.dir, 'T', 'blur'), { recursive: true });
  fs.mkdirSync(path.join(g.dir, 'U', 'blur'), { recursive: true });
  fs.writeFileSync(path.join(g.dir, 'README.txt'), 'a stray file in the root is not a video');
  await assert.rejects(goproDataset({ root: g.dir }), (e: unknown) => {
    assert.ok(e instanceof DatasetProblemsError);
    assert.match(e.message, /gopro: 2 problem\(s\)/);
    assert.match(e.message, re(`no image files in ${path.join(g.dir, 'T', 'sharp')}`));
    assert.match(e.message, re(`missing ground-truth folder ${path.join(g.dir, 'U', 'sharp')}`));
    return true;
  });
  const { warnings, hooks } = collect();
  const ds = await goproDataset({ root: g.dir, skipBad: true }, hooks);
  assert.deepEqual(ds.videos.map((v) => [v.name, v.samples]), [['S', 8], ['T', 0], ['U', 0]]);
  assert.equal(warnings.length, 2);

  const missing = path.join(root, 'nowhere');
  await assert.rejects(goproDataset({ root: missing }), re(`gopro root ${missing} does not exist or is not a folder`));
  const empty = path.join(root, 'empty-frames');
  fs.mkdirSync(empty);
  await assert.rejects(folderDataset({ root: empty }), re(`no image files in ${empty}`));
  const gt = path.join(root, 'reds-gt');
  const input = path.join(root, 'reds-input');
  await writeReds(gt, input, { '000': 3 });
  fs.rmSync(path.join(input, '000'), { recursive: true });
  await assert.rejects(redsDataset({ rootGt: gt, rootInput: input }), re(`missing input folder ${path.join(input, '000')}`));
  await assert.rejects(redsDataset({ rootGt: gt, rootInput: path.join(root, 'no-input') }), /REDS input root .*no-input does not exist/);
});

test('a gap in the numbering is reported unless allowGaps', async () => {
  const g = await freshGopro();
  fs.rmSync(g.blur(4));
  fs.rmSync(g.sharp(4));
  await assert.rejects(goproDataset({ root: g.dir, numFrames: 3 }), re(`frame numbering in ${path.join(g.dir, 'S', 'sharp')} jumps from 000003.png to 000005.png`));
  const cacheFile = path.join(root, `gap-cache-${n}.json`);
  const ds = await goproDataset({ root: g.dir, numFrames: 3, allowGaps: true, cacheFile });
  assert.equal(ds.length, 5);
  assert.deepEqual(ds.clip(3).input, ['000003', '000005', '000006']);
  // The cache does not carry the allowGaps decision over.
  await assert.rejects(goproDataset({ root: g.dir, numFrames: 3, cacheFile }), /jumps from 000003.png to 000005.png/);
});

test('every problem is listed in one error', async () => {
  const g = await freshGopro();
  fs.rmSync(g.blur(1));
  fs.writeFileSync(g.sharp(6), 'junk');
  await assert.rejects(goproDataset({ root: g.dir }), (e: unknown) => {
    assert.ok(e instanceof DatasetProblemsError);
    assert.equal(e.problems.length, 2);
    assert.match(e.message, re(g.blur(1)));
    assert.match(e.message, re(g.sharp(6)));
    return true;
  });
});

test('skipBad at index time leaves out exactly the windows that touch a bad frame', async () => {
  const g = await freshGopro();
  fs.writeFileSync(g.blur(3), 'junk');
  const { warnings, hooks } = collect();
  const ds = await goproDataset({ root: g.dir, numFrames: 3, skipBad: true }, hooks);
  // Windows centred on 1..6; those with frame 3 (centres 2, 3, 4) are out.
  assert.deepEqual(ds.videos, [{ name: 'S', frames: 8, samples: 3, skipped: 3 }]);
  assert.deepEqual([0, 1, 2].map((i) => ds.clip(i).gt), [['000001'], ['000005'], ['000006']]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, re(`gopro: skipping bad data: cannot read the image header of ${g.blur(3)}`));
  assert.match(ds.describe(), /S: 8 frames, 3 samples, 3 skipped/);
});

test('skipBad at decode time: the next good sample, with the same random draws, deterministically', async () => {
  const g = await freshGopro();
  truncate(g.sharp(2));
  const augment = [randomCrop([4, 5]), hflip()];
  const { warnings, hooks } = collect();
  const ds = await goproDataset({ root: g.dir, skipBad: true, augment }, hooks);
  const reference = await goproDataset({ root: g.dir, augment: [randomCrop([4, 5]), hflip()] });
  assert.equal(ds.length, 8);
  // Sample 2 (gt frame 2) cannot be decoded whatever the crop: sample 3 stands in.
  const rng = Rng.seeded(42);
  const got = await ds.get(2, rng);
  assert.deepEqual(got.frames, ['000003']);
  assert.deepEqual(got, await reference.get(3, Rng.seeded(42)));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, re(`gopro: skipping sample 2 (S, frames 000002): cannot decode ${g.sharp(2)}`));
  // Asked again, same answer and no new warning; good samples are untouched.
  assert.deepEqual(await ds.get(2, Rng.seeded(42)), got);
  assert.equal(warnings.length, 1);
  assert.deepEqual(await ds.get(5, Rng.seeded(1)), await reference.get(5, Rng.seeded(1)));
  // Without skipBad the same sample fails, naming the file.
  await assert.rejects(reference.get(2, Rng.seeded(42)), re(g.sharp(2)));
});

test('skipBad wraps around, and gives up when nothing loads', async () => {
  const dir = path.join(root, 'frames-bad');
  await writeFolder(dir, 3);
  truncate(path.join(dir, '00002.png'));
  const { warnings, hooks } = collect();
  const ds = await folderDataset({ root: dir, skipBad: true }, hooks);
  const s = await ds.get(2, Rng.seeded(0));
  assert.deepEqual(s.frames, ['00000']);
  assert.deepEqual(clipFrames(s.input, s.inputShape), [0]);
  for (const f of ['00000.png', '00001.png']) truncate(path.join(dir, f));
  const worse = await folderDataset({ root: dir, skipBad: true }, hooks);
  await assert.rejects(worse.get(0, Rng.seeded(0)), /folder: every sample failed to load/);
  assert.ok(warnings.length >= 4);
});

test('configuration errors: a crop larger than the frames, no samples at all', async () => {
  const g = await freshGopro(4);
  await assert.rejects(goproDataset({ root: g.dir, augment: [randomCrop([13, 8])] }), re(`gopro: random crop 13x8 (HxW) does not fit in a 12x16 frame (${g.blur(0)} is 16x12 WxH)`));
  await assert.rejects(goproDataset({ root: g.dir, augment: [hflip(2)] }), /augment\[0\] \(hflip\): p must be a probability/);
  await assert.rejects(goproDataset({ root: g.dir, numFrames: 5 }), /gopro: no samples \(n_c, numFrames 5, interval 1, overlapping; a window spans 5 frames\)\. Videos: S \(4 frames\)/);
  await assert.rejects(goproDataset({ root: g.dir, numFrames: 4 }), /sampling 'n_c' needs an odd numFrames/);
  await assert.rejects(goproDataset({ root: g.dir, sampling: 'dvd_test', numFrames: 3 }), /gopro: sampling 'dvd_test' needs videos of at least 98 frames; S has 4/);
});

test('a frame replaced by one of another size after indexing is caught on decode', async () => {
  const g = await freshGopro(3);
  const cacheFile = path.join(g.dir, '..', `cache-${n}.json`);
  const ds = await goproDataset({ root: g.dir, cacheFile });
  await writePng(g.blur(1), 1, 'blur', 8, 6);
  await assert.rejects(ds.get(1, Rng.seeded(0)), re(`${g.blur(1)} changed since it was indexed: it is 8x6, the index says 16x12`));
});

test('a frame named outside its video\'s numbering is a problem naming it; skipBad leaves it out', async () => {
  const g = await freshGopro();
  const odd = (sub: string) => path.join(g.dir, 'S', sub, 'frame_x.png');
  await writePng(odd('sharp'), 9, 'sharp');
  await writePng(odd('blur'), 9, 'blur');
  await assert.rejects(goproDataset({ root: g.dir, numFrames: 3 }), (e: unknown) => {
    assert.ok(e instanceof DatasetProblemsError);
    assert.equal(e.problems.length, 1);
    assert.match(e.problems[0]!, re(`${odd('sharp')} does not fit the numbering of the other frames`));
    return true;
  });
  const { warnings, hooks } = collect();
  const ds = await goproDataset({ root: g.dir, numFrames: 3, skipBad: true }, hooks);
  // Left out of the video: the last window ends at 000007, not at frame_x.
  assert.deepEqual(ds.videos, [{ name: 'S', frames: 8, samples: 6, skipped: 0 }]);
  assert.deepEqual(ds.clip(5).input, ['000005', '000006', '000007']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, re(`gopro: skipping bad data: ${odd('sharp')}`));
  // The numbered frames are still checked for gaps.
  for (const f of [g.blur(4), g.sharp(4)]) fs.rmSync(f);
  await assert.rejects(goproDataset({ root: g.dir, numFrames: 3, skipBad: true }, hooks), /gopro: no samples/);
  assert.ok(warnings.some((w) => /jumps from 000003\.png to 000005\.png/.test(w)), warnings.join('\n'));
});

test('frame numbering with a prefix is recognised; a folder of unnumbered names is taken as it is', async () => {
  const numbered = path.join(root, `prefixed-${n++}`);
  for (let i = 1; i <= 4; i++) await writePng(path.join(numbered, `img_${String(i).padStart(3, '0')}.png`), i, 'blur');
  assert.equal((await folderDataset({ root: numbered, numFrames: 1 })).length, 4);
  await writePng(path.join(numbered, 'cover.png'), 0, 'blur');
  await assert.rejects(folderDataset({ root: numbered, numFrames: 1 }), re(`${path.join(numbered, 'cover.png')} does not fit the numbering`));
  fs.rmSync(path.join(numbered, 'cover.png'));
  fs.rmSync(path.join(numbered, 'img_003.png'));
  await assert.rejects(folderDataset({ root: numbered, numFrames: 1 }), /jumps from img_002\.png to img_004\.png/);
  const named = path.join(root, `named-${n++}`);
  for (const name of ['alpha', 'beta', 'gamma']) await writePng(path.join(named, `${name}.png`), 0, 'blur');
  assert.equal((await folderDataset({ root: named, numFrames: 1 })).length, 3);
});

test('truncated frames under verify: full say what is wrong, even when many are decoded at once', async () => {
  const g = await freshGopro();
  for (let i = 0; i < 8; i++) {
    truncate(g.blur(i));
    truncate(g.sharp(i));
  }
  await assert.rejects(goproDataset({ root: g.dir, verify: 'full' }), (e: unknown) => {
    assert.ok(e instanceof DatasetProblemsError);
    assert.equal(e.problems.length, 8);
    // One problem per frame: its blurry and its sharp file, each with its own reason.
    for (const p of e.problems) for (const part of p.split('; ')) assert.match(part, /^cannot decode \S+\.png: truncated or corrupt image data/);
    assert.doesNotMatch(e.message, /Unknown error/);
    return true;
  });
});

test('symbolic link loops are named as such: a frame, and a video folder (skipBad: a warning)', async () => {
  const g = await freshGopro();
  fs.rmSync(g.blur(2));
  fs.symlinkSync(g.blur(2), g.blur(2));
  await assert.rejects(goproDataset({ root: g.dir }), re(`cannot read the image header of ${g.blur(2)}: symbolic link loop`));
  fs.rmSync(g.blur(2));
  await writePng(g.blur(2), 2, 'blur');

  const loop = path.join(g.dir, 'L');
  fs.symlinkSync(loop, loop);
  await assert.rejects(goproDataset({ root: g.dir }), (e: unknown) => {
    assert.ok(e instanceof DatasetProblemsError);
    assert.deepEqual(e.problems, [`video folder ${loop} is a symbolic link loop`]);
    return true;
  });
  const { warnings, hooks } = collect();
  const ds = await goproDataset({ root: g.dir, skipBad: true }, hooks);
  assert.deepEqual(ds.videos.map((v) => [v.name, v.samples]), [['L', 0], ['S', 8]]);
  assert.deepEqual(warnings, [`gopro: skipping bad data: video folder ${loop} is a symbolic link loop`]);
  // A link to a folder is followed as before.
  fs.rmSync(loop);
  fs.symlinkSync(path.join(g.dir, 'S'), loop);
  assert.deepEqual((await goproDataset({ root: g.dir })).videos.map((v) => [v.name, v.samples]), [['L', 8], ['S', 8]]);
});
