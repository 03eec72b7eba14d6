import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  decodeVideo,
  ffmpeg,
  FfmpegError,
  FfmpegNotFoundError,
  locateFfmpeg,
  parseFrameRate,
  probeVideo,
  VideoEncoder,
} from '../src/io/video.ts';
import { byteDiff, makeVideo, pattern } from './helpers/video.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'video-test-'));
}

/** The ffmpeg the tests use: whatever the package finds (PATH, or the optional npm package). */
const ff = await ffmpeg();

const W = 64;
const H = 48;
const clip = Array.from({ length: 12 }, (_, i) => pattern(i, W, H));

test('parseFrameRate reads the rates ffmpeg prints as exact rationals', () => {
  assert.deepEqual(parseFrameRate('25'), { fps: 25, rational: '25/1' });
  assert.deepEqual(parseFrameRate('29.97'), { fps: 30000 / 1001, rational: '30000/1001' });
  assert.deepEqual(parseFrameRate('23.98'), { fps: 24000 / 1001, rational: '24000/1001' });
  assert.deepEqual(parseFrameRate('59.94'), { fps: 60000 / 1001, rational: '60000/1001' });
  assert.deepEqual(parseFrameRate('12.50'), { fps: 12.5, rational: '25/2' });
  assert.deepEqual(parseFrameRate('1k'), { fps: 1000, rational: '1000/1' });
  assert.deepEqual(parseFrameRate('0.5000'), { fps: 0.5, rational: '1/2' });
  assert.equal(parseFrameRate('0'), undefined);
  assert.equal(parseFrameRate('fps'), undefined);
});

test('locateFfmpeg: SIMDEBLUR_FFMPEG first (an error when it names nothing), then PATH, then the npm package', async () => {
  const dir = tempDir();
  try {
    // An explicit setting is used as given, and a wrong one is reported, not skipped.
    assert.deepEqual(await locateFfmpeg({ SIMDEBLUR_FFMPEG: ff.path, PATH: '' }, () => undefined), { path: ff.path, source: 'env' });
    const missing = path.join(dir, 'nope', 'ffmpeg');
    await assert.rejects(locateFfmpeg({ SIMDEBLUR_FFMPEG: missing, PATH: path.dirname(ff.path) }, () => ff.path), (e: Error) => {
      assert.ok(e instanceof FfmpegNotFoundError);
      assert.match(e.message, new RegExp(`SIMDEBLUR_FFMPEG=${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not an executable file`));
      assert.match(e.message, /system package manager/);
      assert.match(e.message, /npm install @ffmpeg-installer\/ffmpeg/);
      return true;
    });
    await assert.rejects(locateFfmpeg({ SIMDEBLUR_FFMPEG: 'ffmpeg-nowhere', PATH: dir }, () => ff.path), /SIMDEBLUR_FFMPEG=ffmpeg-nowhere is not a command on PATH/);

    // PATH: a folder holding an executable named ffmpeg.
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(ff.path, path.join(bin, 'ffmpeg'));
    assert.deepEqual(await locateFfmpeg({ PATH: [path.join(dir, 'empty'), bin].join(path.delimiter) }, () => undefined), { path: path.join(bin, 'ffmpeg'), source: 'path' });
    // A bare command name in SIMDEBLUR_FFMPEG is looked up on PATH.
    assert.equal((await locateFfmpeg({ SIMDEBLUR_FFMPEG: 'ffmpeg', PATH: bin }, () => undefined)).path, path.join(bin, 'ffmpeg'));
    // A file named ffmpeg that is not executable does not count.
    const noexec = path.join(dir, 'noexec');
    fs.mkdirSync(noexec);
    fs.writeFileSync(path.join(noexec, 'ffmpeg'), 'not a program');
    assert.deepEqual(await locateFfmpeg({ PATH: noexec }, () => ff.path), { path: ff.path, source: 'package' });

    await assert.rejects(locateFfmpeg({ PATH: noexec }, () => undefined), (e: Error) => {
      assert.ok(e instanceof FfmpegNotFoundError);
      assert.match(e.message, /ffmpeg was not found/);
      assert.match(e.message, /image files and frame folders do not/);
      assert.match(e.message, /set SIMDEBLUR_FFMPEG/);
      return true;
    });

    // Something that runs but is not ffmpeg.
    const fake = path.join(dir, 'fake-ffmpeg');
    fs.writeFileSync(fake, '#!/bin/sh\necho "no such thing" >&2\nexit 3\n', { mode: 0o755 });
    await assert.rejects(ffmpeg({ SIMDEBLUR_FFMPEG: fake }), (e: Error) => e instanceof FfmpegNotFoundError && /does not run as ffmpeg: exit code 3: no such thing/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('probeVideo and decodeVideo: size, exact rate, counted frames, and the pixels of a lossless clip', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'clip.mkv');
    makeVideo(ff, file, clip, W, H, '30000/1001', ['-c:v', 'ffv1']);
    const info = await probeVideo(ff, file);
    assert.deepEqual(info, { width: W, height: H, frames: 12, fps: 30000 / 1001, fpsRational: '30000/1001', codec: 'ffv1' });
    const frames: Uint8Array[] = [];
    for await (const f of decodeVideo(ff, file, info)) frames.push(f);
    assert.equal(frames.length, 12);
    frames.forEach((f, i) => assert.deepEqual(f, clip[i], `frame ${i}`));
    // Frames are separate buffers, not one reused.
    assert.notEqual(frames[0]!.buffer, frames[1]!.buffer);

    // Odd sizes and integer rates.
    const odd = path.join(dir, 'odd.avi');
    const oddFrames = Array.from({ length: 3 }, (_, i) => pattern(i, 33, 17));
    makeVideo(ff, odd, oddFrames, 33, 17, '25', ['-c:v', 'ffv1']);
    const oddInfo = await probeVideo(ff, odd);
    assert.deepEqual([oddInfo.width, oddInfo.height, oddInfo.frames, oddInfo.fpsRational], [33, 17, 3, '25/1']);
    let n = 0;
    for await (const f of decodeVideo(ff, odd, oddInfo)) assert.deepEqual(f, oddFrames[n++]);
    assert.equal(n, 3);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('probeVideo errors name the file: empty, truncated, no video stream, no frames', async () => {
  const dir = tempDir();
  try {
    const empty = path.join(dir, 'empty.mp4');
    fs.writeFileSync(empty, '');
    await assert.rejects(probeVideo(ff, empty), (e: Error) => e instanceof FfmpegError && e.file === empty && e.message.startsWith(`cannot read video ${empty}: ffmpeg exited with code 1:`) && /Invalid data/.test(e.message));

    // An MP4 whose index (moov, written last) is cut off.
    const whole = path.join(dir, 'whole.mp4');
    makeVideo(ff, whole, clip, W, H, '25', ['-c:v', 'mpeg4']);
    const cut = path.join(dir, 'cut.mp4');
    const bytes = fs.readFileSync(whole);
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    await assert.rejects(probeVideo(ff, cut), (e: Error) => e instanceof FfmpegError && e.message.includes(cut) && /moov atom not found/.test(e.stderr));

    const audio = path.join(dir, 'sound.mka');
    const r = (await import('node:child_process')).spawnSync(ff.path, ['-v', 'error', '-y', '-f', 's16le', '-ar', '8000', '-ac', '1', '-i', 'pipe:0', audio], { input: Buffer.alloc(16000) });
    assert.equal(r.status, 0, r.stderr.toString());
    await assert.rejects(probeVideo(ff, audio), (e: Error) => e instanceof FfmpegError && e.message === `${audio} has no video stream`);

    const none = path.join(dir, 'none.avi');
    makeVideo(ff, none, [clip[0]!], W, H, '25', ['-frames:v', '0', '-c:v', 'ffv1']);
    await assert.rejects(probeVideo(ff, none), (e: Error) => e instanceof FfmpegError && e.message.startsWith(`video ${none} has no frames`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('decodeVideo: a consumer that stops early leaves no ffmpeg running', async () => {
  const dir = tempDir();
  try {
    // Far more than the pipe holds, so ffmpeg is still writing when the consumer stops.
    const file = path.join(dir, 'long.mkv');
    const frames = Array.from({ length: 240 }, (_, i) => pattern(i, W, H));
    makeVideo(ff, file, frames, W, H, '25', ['-c:v', 'ffv1']);
    let child: ChildProcess | undefined;
    let seen = 0;
    for await (const f of decodeVideo(ff, file, { width: W, height: H }, { onSpawn: (c) => (child = c) })) {
      assert.deepEqual(f, frames[seen]);
      if (++seen === 2) break;
    }
    assert.ok(child?.pid !== undefined);
    // The generator's clean-up has already waited for the exit: ffmpeg is gone, killed, or ended
    // on its own by the closed pipe when that came first (a race on a loaded machine).
    assert.ok(child.signalCode !== null || child.exitCode !== null, 'ffmpeg had not ended when the loop returned');
    assert.throws(() => process.kill(child!.pid!, 0), (e: NodeJS.ErrnoException) => e.code === 'ESRCH');

    // A consumer that throws: same.
    let thrown: ChildProcess | undefined;
    await assert.rejects(async () => {
      for await (const _ of decodeVideo(ff, file, { width: W, height: H }, { onSpawn: (c) => (thrown = c) })) throw new Error('consumer failed');
    }, /consumer failed/);
    assert.ok(thrown !== undefined && (thrown.exitCode !== null || thrown.signalCode !== null));

    // A wrong frame size is found at the end (the bytes do not divide into frames).
    await assert.rejects(async () => {
      for await (const _ of decodeVideo(ff, file, { width: W + 1, height: H })) void _;
    }, /last frame is incomplete/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('VideoEncoder: an MP4 with every frame at the given rate, even-padded, renamed into place at finish', async () => {
  const dir = tempDir();
  try {
    const out = path.join(dir, 'out', 'clip.mp4');
    const w = 65;
    const h = 47;
    const frames = Array.from({ length: 12 }, (_, i) => pattern(i, w, h));
    const enc = await VideoEncoder.start(ff, out, { width: w, height: h, fps: '30000/1001' });
    for (const f of frames) await enc.write(f);
    // Nothing at the target until finish; only the temporary file beside it.
    assert.equal(fs.existsSync(out), false);
    assert.match(fs.readdirSync(path.dirname(out)).join(), /^clip\.mp4\.tmp-\d+-\d+$/);
    assert.equal(await enc.finish(), out);
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['clip.mp4']);

    const info = await probeVideo(ff, out);
    assert.deepEqual([info.width, info.height, info.frames, info.fpsRational, info.codec], [w + 1, h + 1, 12, '30000/1001', ff.libx264 ? 'h264' : 'mpeg4']);
    let i = 0;
    for await (const f of decodeVideo(ff, out, info)) {
      // The picture is the top-left w x h of the padded frame; lossy (4:2:0), so within a tolerance
      // (measured: mean 1.4-1.8, max 6-9 levels of 255).
      const crop = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++) crop.set(f.subarray(y * (w + 1) * 3, (y * (w + 1) + w) * 3), y * w * 3);
      const d = byteDiff(crop, frames[i++]!);
      assert.ok(d.mean < 2.5 && d.max < 20, `frame ${i}: abs error mean ${d.mean}, max ${d.max}`);
    }
    assert.equal(i, 12);

    // Where libx264 is missing: mpeg4, same count and rate.
    const fallback = path.join(dir, 'out', 'mpeg4.mp4');
    const enc4 = await VideoEncoder.start({ ...ff, libx264: false }, fallback, { width: w, height: h, fps: '25' });
    for (const f of frames) await enc4.write(f);
    await enc4.finish();
    const info4 = await probeVideo(ff, fallback);
    assert.deepEqual([info4.width, info4.height, info4.frames, info4.fpsRational, info4.codec], [w + 1, h + 1, 12, '25/1', 'mpeg4']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('VideoEncoder: abort kills ffmpeg and removes the temporary file; an ffmpeg failure names the file', async () => {
  const dir = tempDir();
  try {
    const out = path.join(dir, 'clip.mp4');
    fs.writeFileSync(out, 'previous');
    const enc = await VideoEncoder.start(ff, out, { width: W, height: H, fps: '25' });
    for (const f of clip.slice(0, 3)) await enc.write(f);
    await enc.abort();
    await enc.abort();
    assert.deepEqual(fs.readdirSync(dir), ['clip.mp4']);
    assert.equal(fs.readFileSync(out, 'utf8'), 'previous');
    await assert.rejects(enc.write(clip[0]!), /write after abort/);

    const bad = await VideoEncoder.start(ff, path.join(dir, 'bad.mp4'), { width: W, height: H, fps: 'not-a-rate' });
    await assert.rejects(
      (async () => {
        for (const f of clip) await bad.write(f);
        await bad.finish();
      })(),
      (e: Error) => e instanceof FfmpegError && e.message.startsWith(`cannot encode video ${path.join(dir, 'bad.mp4')}: ffmpeg exited with code 1:`) && e.stderr.length > 0,
    );
    assert.deepEqual(fs.readdirSync(dir), ['clip.mp4']);
    await assert.rejects(bad.write(new Uint8Array(5)), /write after end|bytes, expected/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
