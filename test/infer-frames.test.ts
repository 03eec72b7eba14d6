import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DataError } from '../src/data/image.ts';
import { InputsError, naturalCompare, openInputs, toRgb8, videoFrameName } from '../src/infer/frames.ts';
import { checkOutputs, outputPaths, sinkFor, writePng } from '../src/infer/sinks.ts';
import type { Frame, FrameSource } from '../src/infer/frames.ts';
import { ffmpeg, FfmpegNotFoundError, probeVideo } from '../src/io/video.ts';
import { writePng16 } from './helpers/data.ts';
import { byteDiff, makeVideo, pattern } from './helpers/video.ts';

const ff = await ffmpeg();

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'infer-frames-test-'));
}

/** An 8-bit RGB PNG whose pixel (x, y) is (seed, x, y). */
async function png(file: string, width: number, height: number, seed: number): Promise<void> {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) px.set([seed, x, y], (y * width + x) * 3);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(px, { raw: { width, height, channels: 3 } }).png().toFile(file);
}

async function collect(source: FrameSource): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of source.frames()) out.push(f);
  return out;
}

/** 8-bit RGB pixels of a PNG. */
async function pixels(file: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

function rejectsNaming(p: Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  return assert.rejects(p, (e: Error) => {
    assert.ok(e.message.includes(file), `"${e.message}" names ${file}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('naturalCompare: digit runs by value, then code point', () => {
  const names = ['frame10.png', 'frame2.png', 'frame1.png', 'frame01.png', 'frame.png', 'frame_2.png', 'a100b2', 'a100b10', 'B1', 'a99', '010', '9'];
  assert.deepEqual([...names].sort(naturalCompare), ['9', '010', 'B1', 'a99', 'a100b2', 'a100b10', 'frame.png', 'frame01.png', 'frame1.png', 'frame2.png', 'frame10.png', 'frame_2.png']);
  assert.equal(naturalCompare('x', 'x'), 0);
  assert.equal(videoFrameName(0), 'frame_000001');
  assert.equal(videoFrameName(1_234_567), 'frame_1234568');
});

test('image and folder sources: names, natural order, pixels, 16-bit, grey and alpha', async () => {
  const dir = tempDir();
  try {
    const seq = path.join(dir, 'seq');
    for (const [i, n] of [2, 10, 1].entries()) await png(path.join(seq, `frame${n}.png`), 5, 4, i);
    fs.writeFileSync(path.join(seq, 'notes.txt'), 'not a frame');
    fs.writeFileSync(path.join(seq, '.hidden.png'), 'ignored');
    await png(path.join(dir, 'shot.photo.jpg'), 6, 3, 9);

    const wide = path.join(dir, 'wide.png');
    await writePng16(wide, 2, 1, [65535, 0, 32768, 1, 2, 3]);
    const greyAlpha = path.join(dir, 'ga.png');
    await sharp(Buffer.from([0, 255, 51, 0, 255, 128]), { raw: { width: 3, height: 1, channels: 2 } }).png().toFile(greyAlpha);

    const [folder, image, w16, ga] = await openInputs([seq + path.sep, path.join(dir, 'shot.photo.jpg'), wide, greyAlpha]);
    assert.deepEqual(
      [folder, image].map((s) => ({ kind: s!.kind, name: s!.name, width: s!.width, height: s!.height, count: s!.count })),
      [
        { kind: 'folder', name: 'seq', width: 5, height: 4, count: 3 },
        { kind: 'image', name: 'shot.photo', width: 6, height: 3, count: 1 },
      ],
    );
    assert.equal(folder!.path, seq + path.sep);
    const frames = await collect(folder!);
    assert.deepEqual(frames.map((f) => f.name), ['frame1', 'frame2', 'frame10']);
    // frame1 was written third (seed 2): pixel (3, 2) is (2, 3, 2) / 255.
    const at = (f: Frame, x: number, y: number) => Array.from(f.rgb.subarray((y * f.width + x) * 3, (y * f.width + x) * 3 + 3));
    assert.deepEqual(at(frames[0]!, 3, 2), [2 / 255, 3 / 255, 2 / 255].map(Math.fround));
    assert.deepEqual(at(frames[2]!, 4, 1), [1 / 255, 4 / 255, 1 / 255].map(Math.fround));
    // Iterating again starts over.
    assert.deepEqual((await collect(folder!)).map((f) => f.name), ['frame1', 'frame2', 'frame10']);

    const [photo] = await collect(image!);
    assert.equal(photo!.name, 'shot.photo');
    assert.equal(photo!.rgb.length, 6 * 3 * 3);

    const [f16] = await collect(w16!);
    assert.deepEqual(Array.from(f16!.rgb), [1, 0, 32768 / 65535, 1 / 65535, 2 / 65535, 3 / 65535].map(Math.fround));
    const [fga] = await collect(ga!);
    assert.deepEqual(Array.from(fga!.rgb), [0, 0, 0, 51, 51, 51, 255, 255, 255].map((v) => Math.fround(v / 255)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('openInputs errors name the file: sizes, garbage, empty folder, extension, missing, duplicates; several at once', async () => {
  const dir = tempDir();
  try {
    const mixed = path.join(dir, 'mixed');
    await png(path.join(mixed, 'f1.png'), 8, 6, 0);
    await png(path.join(mixed, 'f2.png'), 8, 6, 0);
    await png(path.join(mixed, 'f10.png'), 8, 7, 0);
    await png(path.join(mixed, 'f11.png'), 9, 6, 0);
    await rejectsNaming(openInputs([mixed]), path.join(mixed, 'f10.png'), /is 8x7, but the folder's first frame f1\.png is 8x6/);

    const garbage = path.join(dir, 'garbage.png');
    fs.writeFileSync(garbage, 'definitely not a png');
    await assert.rejects(openInputs([garbage]), (e: Error) => e instanceof DataError && e.file === garbage && e.message.includes(garbage));
    const badFolder = path.join(dir, 'bad');
    await png(path.join(badFolder, 'a.png'), 4, 4, 0);
    fs.copyFileSync(garbage, path.join(badFolder, 'b.png'));
    await rejectsNaming(openInputs([badFolder]), path.join(badFolder, 'b.png'), /cannot read the image header/);

    const empty = path.join(dir, 'empty');
    fs.mkdirSync(path.join(empty, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(empty, 'readme.md'), 'no frames here');
    await rejectsNaming(openInputs([empty]), empty, /has no images/);

    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'x');
    await rejectsNaming(openInputs([text]), text, /unsupported extension \(\.txt\).*images .*\.png.*videos .*\.mp4/);
    const missing = path.join(dir, 'nope.png');
    await rejectsNaming(openInputs([missing]), missing, /does not exist/);

    const twins = path.join(dir, 'twins');
    await png(path.join(twins, 'a.png'), 4, 4, 0);
    await png(path.join(twins, 'a.jpg'), 4, 4, 0);
    await rejectsNaming(openInputs([twins]), twins, /a\.jpg and a\.png would both be written as a\.png/);

    // Every problem at once.
    await assert.rejects(openInputs([text, empty, missing]), (e: Error) => {
      assert.ok(e instanceof InputsError);
      assert.equal(e.errors.length, 3);
      for (const f of [text, empty, missing]) assert.ok(e.message.includes(f));
      assert.match(e.message, /^3 inputs cannot be used:\n {2}- /);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('video sources: probed size, rate and count; frames streamed with their names and pixels', async () => {
  const dir = tempDir();
  try {
    const W = 64;
    const H = 48;
    const clip = Array.from({ length: 12 }, (_, i) => pattern(i, W, H));
    const file = path.join(dir, 'Clip One.mkv');
    makeVideo(ff, file, clip, W, H, '30000/1001', ['-c:v', 'ffv1']);
    const [video] = await openInputs([file]);
    assert.deepEqual(
      { kind: video!.kind, name: video!.name, width: video!.width, height: video!.height, count: video!.count, fps: video!.fps, fpsRational: video!.fpsRational },
      { kind: 'video', name: 'Clip One', width: W, height: H, count: 12, fps: 30000 / 1001, fpsRational: '30000/1001' },
    );
    const frames = await collect(video!);
    assert.deepEqual(frames.map((f) => f.name), Array.from({ length: 12 }, (_, i) => `frame_${String(i + 1).padStart(6, '0')}`));
    frames.forEach((f, i) => assert.deepEqual(toRgb8(f), clip[i]));

    // Zero bytes, a cut-off MP4, a container with no frames.
    const empty = path.join(dir, 'empty.mp4');
    fs.writeFileSync(empty, '');
    await rejectsNaming(openInputs([empty]), empty, /cannot read video/);
    const mp4 = path.join(dir, 'whole.mp4');
    makeVideo(ff, mp4, clip, W, H, '25', ['-c:v', 'mpeg4']);
    const cut = path.join(dir, 'cut.mp4');
    const bytes = fs.readFileSync(mp4);
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    await rejectsNaming(openInputs([cut]), cut, /^cannot read video .*: ffmpeg exited with code \d+:\n {2}.*moov atom not found/);
    const none = path.join(dir, 'none.avi');
    makeVideo(ff, none, [clip[0]!], W, H, '25', ['-frames:v', '0', '-c:v', 'ffv1']);
    await assert.rejects(openInputs([none]), (e: Error) => e instanceof DataError && e.file === none && e.message.startsWith(`video ${none} has no frames`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('without ffmpeg only videos fail, with a message that says how to get one', async () => {
  const dir = tempDir();
  const saved = process.env.SIMDEBLUR_FFMPEG;
  try {
    const img = path.join(dir, 'a.png');
    await png(img, 4, 4, 0);
    const video = path.join(dir, 'clip.mp4');
    makeVideo(ff, video, [pattern(0, 16, 16)], 16, 16, '25', ['-c:v', 'mpeg4']);
    process.env.SIMDEBLUR_FFMPEG = path.join(dir, 'no-such-ffmpeg');
    const [source] = await openInputs([img]);
    assert.equal(source!.kind, 'image');
    await assert.rejects(openInputs([img, video]), (e: Error) => {
      assert.ok(e instanceof FfmpegNotFoundError);
      assert.ok(e.message.startsWith(`${video}: SIMDEBLUR_FFMPEG=${path.join(dir, 'no-such-ffmpeg')} is not an executable file`));
      assert.match(e.message, /system package manager.*npm install @ffmpeg-installer\/ffmpeg.*set SIMDEBLUR_FFMPEG/);
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env.SIMDEBLUR_FFMPEG;
    else process.env.SIMDEBLUR_FFMPEG = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A frame of `width` x `height` whose values are `f(i)`. */
function frame(name: string, width: number, height: number, f: (i: number) => number): Frame {
  return { name, width, height, rgb: Float32Array.from({ length: width * height * 3 }, (_, i) => f(i)) };
}

test('image and folder sinks: 8-bit rounded, clamped PNGs that appear only at finish; abort leaves nothing', async () => {
  const dir = tempDir();
  try {
    const src = path.join(dir, 'in');
    await png(path.join(src, 'pic.jpg'), 3, 1, 0);
    for (const n of [1, 2]) await png(path.join(src, 'seq', `f${n}.png`), 3, 1, n);
    const [image, folder] = await openInputs([path.join(src, 'pic.jpg'), path.join(src, 'seq')]);
    const out = path.join(dir, 'out');

    const values = [-0.2, 1.3, 0.5, 0.5 / 255, 1.5 / 255, NaN, 0, 1, 0.999];
    const imgSink = sinkFor(image!, out, { suffix: '_deblurred' });
    await imgSink.write(frame('pic', 3, 1, (i) => values[i]!));
    assert.equal(fs.existsSync(out), false);
    await assert.rejects(imgSink.write(frame('pic', 3, 1, () => 0)), /one frame/);
    assert.deepEqual(await imgSink.finish(), [path.join(out, 'pic_deblurred.png')]);
    const written = await pixels(path.join(out, 'pic_deblurred.png'));
    assert.deepEqual(Array.from(written.data), [0, 255, 128, 1, 2, 0, 0, 255, 255]);
    assert.deepEqual(fs.readdirSync(out), ['pic_deblurred.png']);

    const seqSink = sinkFor(folder!, out);
    await seqSink.write(frame('f1', 3, 1, () => 0.2));
    await seqSink.write(frame('f2', 3, 1, () => 0.4));
    // Only a temporary folder so far.
    assert.deepEqual(fs.readdirSync(out).filter((n) => !n.includes('.tmp-')).sort(), ['pic_deblurred.png']);
    await assert.rejects(seqSink.write(frame('f3', 4, 1, () => 0)), /f3 is 4x1, the first frame was 3x1/);
    assert.deepEqual(await seqSink.finish(), [path.join(out, 'seq')]);
    assert.deepEqual(fs.readdirSync(path.join(out, 'seq')), ['f1.png', 'f2.png']);
    assert.deepEqual(Array.from((await pixels(path.join(out, 'seq', 'f2.png'))).data), Array(9).fill(102));
    assert.deepEqual(fs.readdirSync(out).sort(), ['pic_deblurred.png', 'seq']);

    // A second run replaces the folder whole; an aborted one leaves the previous outputs alone.
    const again = sinkFor(folder!, out);
    await again.write(frame('f1', 3, 1, () => 1));
    assert.deepEqual(await again.finish(), [path.join(out, 'seq')]);
    assert.deepEqual(fs.readdirSync(path.join(out, 'seq')), ['f1.png']);
    const aborted = sinkFor(folder!, out);
    await aborted.write(frame('f1', 3, 1, () => 0));
    await aborted.abort();
    const abortedImage = sinkFor(image!, out, { suffix: '_deblurred' });
    await abortedImage.write(frame('pic', 3, 1, () => 0));
    await abortedImage.abort();
    assert.deepEqual(fs.readdirSync(out).sort(), ['pic_deblurred.png', 'seq']);
    assert.deepEqual(Array.from((await pixels(path.join(out, 'seq', 'f1.png'))).data), Array(9).fill(255));
    assert.deepEqual(Array.from((await pixels(path.join(out, 'pic_deblurred.png'))).data), [0, 255, 128, 1, 2, 0, 0, 255, 255]);

    // Into a new, empty output folder: abort leaves it empty.
    const fresh = path.join(dir, 'fresh');
    fs.mkdirSync(fresh);
    const s = sinkFor(folder!, fresh);
    await s.write(frame('f1', 3, 1, () => 0));
    await s.write(frame('f2', 3, 1, () => 0));
    await s.abort();
    assert.deepEqual(fs.readdirSync(fresh), []);
    await assert.rejects(sinkFor(folder!, fresh).finish(), /no frame was written/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('video sink: an MP4 with the same frame count and rate, frames kept on request; abort leaves the out dir empty', async () => {
  const dir = tempDir();
  try {
    const W = 64;
    const H = 48;
    const clip = Array.from({ length: 12 }, (_, i) => pattern(i, W, H));
    const file = path.join(dir, 'clip.mov');
    makeVideo(ff, file, clip, W, H, '30000/1001', ['-c:v', 'ffv1']);
    const [video] = await openInputs([file]);
    const out = path.join(dir, 'out');

    const sink = sinkFor(video!, out, { keepFrames: true });
    for await (const f of video!.frames()) await sink.write(f);
    assert.deepEqual(fs.existsSync(out) ? fs.readdirSync(out).filter((n) => !n.includes('.tmp-')) : [], []);
    assert.deepEqual(await sink.finish(), [path.join(out, 'clip.mp4'), path.join(out, 'clip')]);
    assert.deepEqual(fs.readdirSync(out).sort(), ['clip', 'clip.mp4']);
    assert.deepEqual(fs.readdirSync(path.join(out, 'clip')), Array.from({ length: 12 }, (_, i) => `${videoFrameName(i)}.png`));
    const kept = await pixels(path.join(out, 'clip', 'frame_000005.png'));
    assert.deepEqual(kept.data, clip[4]);

    const info = await probeVideo(ff, path.join(out, 'clip.mp4'));
    assert.deepEqual([info.width, info.height, info.frames, info.fpsRational], [W, H, 12, '30000/1001']);
    const [encoded] = await openInputs([path.join(out, 'clip.mp4')]);
    let i = 0;
    for await (const f of encoded!.frames()) assert.ok(byteDiff(toRgb8(f), clip[i++]!).mean < 2.5);
    assert.equal(i, 12);

    // Stopping part-way: nothing is left in a fresh output folder.
    const fresh = path.join(dir, 'fresh');
    const partial = sinkFor(video!, fresh, { keepFrames: true });
    let n = 0;
    for await (const f of video!.frames()) {
      await partial.write(f);
      if (++n === 5) break;
    }
    await partial.abort();
    assert.deepEqual(fs.readdirSync(fresh), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('outputs never replace an input, and two inputs never share an output', async () => {
  const dir = tempDir();
  try {
    await png(path.join(dir, 'a.png'), 4, 4, 0);
    await png(path.join(dir, 'other', 'a.jpg'), 4, 4, 0);
    await png(path.join(dir, 'seq', 'f1.png'), 4, 4, 0);
    const [a, a2, seq] = await openInputs([path.join(dir, 'a.png'), path.join(dir, 'other', 'a.jpg'), path.join(dir, 'seq')]);
    assert.deepEqual(outputPaths(a!, 'o', { suffix: '-x' }), [path.resolve('o', 'a-x.png')]);
    assert.throws(() => sinkFor(a!, dir), /output .*a\.png would replace the input/);
    assert.throws(() => sinkFor(seq!, dir), /output .*seq would replace the input/);
    assert.throws(() => checkOutputs([a!, a2!], path.join(dir, 'out')), /inputs .*a\.png and .*a\.jpg would both be written to .*a\.png/);
    checkOutputs([a!, seq!], path.join(dir, 'out'));
    // Beside the input is fine when the name differs.
    checkOutputs([a!, seq!], dir, { suffix: '_out' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writePng writes one frame, creating its folder', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'deep', 'er', 'x.png');
    await writePng(file, frame('x', 2, 1, (i) => i / 5));
    assert.deepEqual(Array.from((await pixels(file)).data), [0, 51, 102, 153, 204, 255]);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['x.png']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
