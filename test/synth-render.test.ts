import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Rng } from '../src/util/rng.ts';
import { defaultMotion, poseAt, randomTrajectory, subFrameTimes } from '../src/synth/trajectory.ts';
import { SubFrameAverager, addNoise, averageFrames, renderView, rgbImage, toBytes, viewAffine, type RgbImage } from '../src/synth/render.ts';
import { exposureTravel, planVideo, renderFrame, renderSubFrames, subFrameCount, type VideoOptions } from '../src/synth/video.ts';
import { defaultImagesDir, readPhoto, resizedPhoto } from '../src/synth/photo.ts';

const W = 64;
const H = 48;

async function scene(opts: Partial<VideoOptions> = {}, seed = 5) {
  const o: VideoOptions = { width: W, height: H, frames: 6, subFrames: 'auto', exposure: 1, motion: defaultMotion(W, H), ...opts };
  const photo = await readPhoto(path.join(defaultImagesDir, 'astronaut.png'));
  const plan = planVideo(Rng.derive(seed, 'test'), photo, o);
  const image = await resizedPhoto(photo, plan.photoWidth, plan.photoHeight);
  return { o, plan, image };
}

/** Sum of squared differences between horizontal and vertical neighbours. */
function gradientEnergy(img: RgbImage): number {
  const { width: w, height: h, data: d } = img;
  let e = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * w + x) * 3 + c;
        if (x + 1 < w) e += (d[i + 3]! - d[i]!) ** 2;
        if (y + 1 < h) e += (d[i + w * 3]! - d[i]!) ** 2;
      }
    }
  }
  return e;
}

/** Mean squared difference of a and b shifted by (dx, dy) (b(x) vs a(x + d)) over their overlap. */
function shiftedMse(a: RgbImage, b: RgbImage, dx: number, dy: number): number {
  let s = 0;
  let n = 0;
  for (let y = Math.max(0, -dy); y < Math.min(a.height, a.height - dy); y++) {
    for (let x = Math.max(0, -dx); x < Math.min(a.width, a.width - dx); x++) {
      for (let c = 0; c < 3; c++) {
        s += (a.data[((y + dy) * a.width + x + dx) * 3 + c]! - b.data[(y * b.width + x) * 3 + c]!) ** 2;
        n++;
      }
    }
  }
  return s / n;
}

function bestShift(a: RgbImage, b: RgbImage, radius: number): { dx: number; dy: number; mse: number } {
  let best = { dx: 0, dy: 0, mse: Infinity };
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      const mse = shiftedMse(a, b, dx, dy);
      if (mse < best.mse) best = { dx, dy, mse };
    }
  }
  return best;
}

test('trajectory: deterministic by seed, smooth, and middle sub-frame at the frame time', () => {
  const m = defaultMotion(W, H);
  const a = randomTrajectory(Rng.derive(1, 'x'), m);
  assert.deepEqual(randomTrajectory(Rng.derive(1, 'x'), m), a);
  assert.notDeepEqual(randomTrajectory(Rng.derive(2, 'x'), m), a);
  // Smooth: tiny time steps give tiny moves.
  const p = poseAt(a, 3);
  const q = poseAt(a, 3 + 1e-4);
  assert.ok(Math.hypot(p.x - q.x, p.y - q.y) < 1e-2);
  subFrameTimes(4, 5).forEach((t, i) => assert.ok(Math.abs(t - [3.6, 3.8, 4, 4.2, 4.4][i]!) < 1e-12));
  assert.equal(subFrameTimes(4, 5)[2], 4);
  assert.equal(subFrameTimes(7, 7, 0.5)[3], 7);
  assert.ok(Math.abs(subFrameTimes(0, 4, 0.5)[0]! - -0.1875) < 1e-12);
  assert.throws(() => subFrameTimes(0, 3, 0), /exposure/);
  assert.throws(() => randomTrajectory(Rng.seeded(0), { ...m, speed: -1 }), /speed/);
});

test('trajectory: a fixed direction and a steady drift', () => {
  const m = { speed: 0, rotation: 0, zoom: 0, direction: 90, drift: 4 };
  const a = randomTrajectory(Rng.derive(3, 'x'), m);
  // Only the drift moves the view: straight down (90 degrees), strength x 4 px per frame.
  const p0 = poseAt(a, 0);
  const p1 = poseAt(a, 1);
  const p5 = poseAt(a, 5);
  assert.ok(Math.abs(p1.x - p0.x) < 1e-9 && p1.y - p0.y >= 2 && p1.y - p0.y <= 6, JSON.stringify([p0, p1]));
  assert.ok(Math.abs(p5.y - p0.y - 5 * (p1.y - p0.y)) < 1e-9, 'constant velocity');
  // Fixing the direction keeps every other draw of the stream.
  const free = randomTrajectory(Rng.derive(3, 'x'), { ...defaultMotion(W, H) });
  const fixed = randomTrajectory(Rng.derive(3, 'x'), { ...defaultMotion(W, H), direction: 30 });
  assert.deepEqual(fixed.angle, free.angle);
  assert.deepEqual(fixed.translation.map((w) => w.amp), free.translation.map((w) => w.amp));
  assert.ok(Math.abs(Math.atan2(fixed.translation[0]!.dy, fixed.translation[0]!.dx) - Math.PI / 6) < 1e-12);
  assert.equal(free.drift, undefined);
  assert.throws(() => randomTrajectory(Rng.seeded(0), { ...m, drift: -1 }), /motion.drift must be a finite number >= 0, got -1/);
  assert.throws(() => randomTrajectory(Rng.seeded(0), { ...m, direction: NaN }), /motion.direction must be a finite number of degrees/);
});

test('renderView: identity view reproduces the photo; a half-pixel shift averages neighbours', () => {
  const src = rgbImage(4, 3, Float32Array.from({ length: 36 }, (_, i) => (i % 11) / 10));
  const view = { width: 4, height: 3, base: 1, originX: 2, originY: 1.5 };
  const same = renderView(src, viewAffine({ x: 0, y: 0, angle: 0, logScale: 0 }, view), 4, 3);
  assert.deepEqual([...same.data].map((v) => Math.round(v * 1e6)), [...src.data].map((v) => Math.round(v * 1e6)));
  const half = renderView(src, viewAffine({ x: 0.5, y: 0, angle: 0, logScale: 0 }, view), 4, 3);
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(half.data[c]! - (src.data[c]! + src.data[3 + c]!) / 2) < 1e-6);
  const cubic = renderView(src, viewAffine({ x: 0, y: 0, angle: 0, logScale: 0 }, view), 4, 3, 'bicubic');
  assert.ok(cubic.data.every((v, i) => Math.abs(v - src.data[i]!) < 1e-6));
});

test('averaging: linear light is the gamma power mean, never darker than the plain mean', () => {
  const a = rgbImage(2, 1, Float32Array.of(0, 0.2, 1, 0.5, 0.5, 0.9));
  const b = rgbImage(2, 1, Float32Array.of(1, 0.6, 0, 0.5, 0.1, 0.3));
  const plain = averageFrames([a, b], 'plain');
  const lin = averageFrames([a, b], 'linear', 2.2);
  for (let i = 0; i < 6; i++) {
    const x = a.data[i]!;
    const y = b.data[i]!;
    assert.ok(Math.abs(plain.data[i]! - (x + y) / 2) < 1e-6);
    assert.ok(Math.abs(lin.data[i]! - ((x ** 2.2 + y ** 2.2) / 2) ** (1 / 2.2)) < 1e-5);
    assert.ok(lin.data[i]! >= plain.data[i]! - 1e-6);
  }
  assert.ok(lin.data[0]! - plain.data[0]! > 0.2); // black + white: 0.73 vs 0.5
  assert.throws(() => new SubFrameAverager(2, 1).average('plain'), /no sub-frames/);
});

test('blur is real: the blurred frame is the average of its sub-frames and is smoother than the sharp one', async () => {
  const { o, plan, image } = await scene({ motion: { speed: 5, rotation: 0.005, zoom: 0.005 } });
  // The frame of the video with the most motion.
  const k = [0, 1, 2, 3, 4, 5].reduce((b, i) => (exposureTravel(plan, i, 1) > exposureTravel(plan, b, 1) ? i : b), 0);
  assert.ok(exposureTravel(plan, k, 1) > 2, 'test scene should move');
  const frame = renderFrame(image, plan, k, o);
  const subs = renderSubFrames(image, plan, k, o);
  assert.equal(subs.length, subFrameCount(plan, k, o));
  assert.ok(subs.length >= 7 && subs.length % 2 === 1);
  assert.deepEqual(frame.sharp.data, subs[(subs.length - 1) / 2]!.data);
  for (const mode of ['linear', 'plain'] as const) {
    const avg = averageFrames(subs, mode);
    const maxErr = frame.blurred[mode].data.reduce((m, v, i) => Math.max(m, Math.abs(v - avg.data[i]!)), 0);
    assert.ok(maxErr < 1e-6, `${mode}: ${maxErr}`);
    assert.ok(gradientEnergy(frame.blurred[mode]) < 0.8 * gradientEnergy(frame.sharp), `${mode} blur should remove gradient energy`);
  }
  // The gamma variant differs from the plain one, and is brighter on average (power mean).
  const lin = frame.blurred.linear.data;
  const plain = frame.blurred.plain.data;
  const meanDiff = lin.reduce((s, v, i) => s + v - plain[i]!, 0) / lin.length;
  assert.ok(meanDiff > 1e-4, `mean difference ${meanDiff}`);
  assert.ok(lin.every((v, i) => v >= plain[i]! - 1e-6));
  assert.notDeepEqual(toBytes(frame.blurred.linear), toBytes(frame.blurred.plain));
});

test('temporal coherence: consecutive sharp frames are small, nonzero shifts of each other', async () => {
  const { o, plan, image } = await scene({ motion: { speed: 3, rotation: 0, zoom: 0 } }, 11);
  const sharp = [0, 1, 2, 3, 4].map((k) => renderFrame(image, plan, k, { ...o, subFrames: 1 }).sharp);
  let moved = 0;
  for (let k = 0; k + 1 < sharp.length; k++) {
    const a = poseAt(plan.trajectory, k);
    const b = poseAt(plan.trajectory, k + 1);
    const best = bestShift(sharp[k]!, sharp[k + 1]!, 6);
    // frame k+1 at x shows the scene of frame k at x + (b - a).
    assert.ok(Math.abs(best.dx - (b.x - a.x)) <= 1 && Math.abs(best.dy - (b.y - a.y)) <= 1, `frame ${k}: found ${best.dx},${best.dy}, moved ${b.x - a.x},${b.y - a.y}`);
    assert.ok(Math.abs(best.dx) < 6 && Math.abs(best.dy) < 6);
    if (best.dx !== 0 || best.dy !== 0) {
      moved++;
      assert.ok(best.mse < 0.5 * shiftedMse(sharp[k]!, sharp[k + 1]!, 0, 0));
    }
  }
  assert.ok(moved >= 2, 'the camera should move between frames');
});

test('sub-frame count: fixed odd counts are kept, auto grows with motion', async () => {
  const slow = await scene({ motion: { speed: 0.5, rotation: 0, zoom: 0 } }, 3);
  const fast = await scene({ motion: { speed: 40, rotation: 0, zoom: 0 } }, 3);
  assert.equal(subFrameCount(slow.plan, 2, { subFrames: 'auto', exposure: 1 }), 7);
  const n = subFrameCount(fast.plan, 2, { subFrames: 'auto', exposure: 1, maxStep: 1.5 });
  assert.ok(n > 7 && n % 2 === 1);
  assert.ok(exposureTravel(fast.plan, 2, 1) / n <= 1.5);
  assert.equal(subFrameCount(fast.plan, 2, { subFrames: 9, exposure: 1 }), 9);
  assert.throws(() => subFrameCount(fast.plan, 2, { subFrames: 8, exposure: 1 }), /odd/);
});

test('noise: deterministic by stream, signal-dependent part grows with the value', () => {
  const flat = (v: number) => rgbImage(64, 64, new Float32Array(64 * 64 * 3).fill(v));
  const a = addNoise(flat(0.5), Rng.seeded(1), { sigma: 0.02 });
  assert.deepEqual(a.data, addNoise(flat(0.5), Rng.seeded(1), { sigma: 0.02 }).data);
  const std = (img: RgbImage, mean: number) => Math.sqrt(img.data.reduce((s, v) => s + (v - mean) ** 2, 0) / img.data.length);
  assert.ok(Math.abs(std(a, 0.5) - 0.02) < 0.002);
  const dark = std(addNoise(flat(0.04), Rng.seeded(2), { shot: 0.01 }), 0.04);
  const bright = std(addNoise(flat(0.64), Rng.seeded(2), { shot: 0.01 }), 0.64);
  assert.ok(Math.abs(bright / dark - 4) < 0.4, `shot noise std ratio ${bright / dark}`);
  assert.throws(() => addNoise(flat(0.5), Rng.seeded(1), { sigma: -1 }), /sigma/);
});
