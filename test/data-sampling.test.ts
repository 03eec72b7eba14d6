import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anchorPositions, checkSampling, dvdTestPositions, sampleClips, videoWindows, windowAt } from '../src/data/sampling.ts';
import type { SamplingOptions } from '../src/data/sampling.ts';

const ten = Array.from({ length: 10 }, (_, i) => String(i));
const opts = (sampling: SamplingOptions['sampling'], numFrames: number, interval: number, overlapping: boolean): SamplingOptions => ({
  sampling,
  numFrames,
  interval,
  overlapping,
});
const nums = (ids: readonly string[]) => ids.map(Number);
const clips = (o: SamplingOptions, frames = ten) => sampleClips([{ name: 'v', frames }], o);
const anchorsOf = (o: SamplingOptions, frames = ten) => clips(o, frames).map((c) => (o.sampling === 'n_l' || o.sampling === 'n_n' ? c.input[0] : c.gt[0]));

test('worked example: n_c, n=3, s=1, overlap', () => {
  const c = clips(opts('n_c', 3, 1, true));
  assert.deepEqual(c.map((x) => Number(x.gt[0])), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(nums(c[0]!.input), [0, 1, 2]);
  assert.deepEqual(nums(c[0]!.gt), [1]);
});

test('worked example: n_c, n=3, s=1, no overlap', () => {
  const c = clips(opts('n_c', 3, 1, false));
  assert.deepEqual(c.map((x) => Number(x.gt[0])), [1, 4, 7]);
  assert.deepEqual(nums(c[0]!.input), [0, 1, 2]);
  assert.deepEqual(nums(c[1]!.input), [3, 4, 5]);
});

test('worked example: n_c, n=3, s=2, overlap', () => {
  const c = clips(opts('n_c', 3, 2, true));
  assert.deepEqual(c.map((x) => Number(x.gt[0])), [2, 3, 4, 5, 6, 7]);
  assert.deepEqual(nums(c[0]!.input), [0, 2, 4]);
  assert.deepEqual(nums(c[0]!.gt), [2]);
});

test('worked example: n_n, n=3, s=1, overlap', () => {
  const c = clips(opts('n_n', 3, 1, true));
  assert.deepEqual(c.map((x) => Number(x.input[0])), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(nums(c[0]!.input), [0, 1, 2]);
  assert.deepEqual(nums(c[0]!.gt), [0, 1, 2]);
});

test('worked example: n_n, n=3, s=1, no overlap (frame 9 unused)', () => {
  const c = clips(opts('n_n', 3, 1, false));
  assert.deepEqual(c.map((x) => nums(x.input)), [[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
  assert.deepEqual(c.map((x) => nums(x.gt)), [[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
});

test('worked example: n_n, n=3, s=2, no overlap', () => {
  const c = clips(opts('n_n', 3, 2, false));
  assert.deepEqual(c.map((x) => nums(x.input)), [[0, 2, 4], [5, 7, 9]]);
  assert.deepEqual(c.map((x) => nums(x.gt)), [[0, 2, 4], [5, 7, 9]]);
});

test('worked example: n_l, n=3, s=1, overlap', () => {
  const c = clips(opts('n_l', 3, 1, true));
  assert.deepEqual(anchorsOf(opts('n_l', 3, 1, true)).map(Number), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(nums(c[0]!.input), [0, 1, 2]);
  assert.deepEqual(nums(c[0]!.gt), [0]);
});

test('worked example: n_r, n=3, s=1, overlap', () => {
  const c = clips(opts('n_r', 3, 1, true));
  assert.deepEqual(c.map((x) => Number(x.gt[0])), [2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(nums(c[0]!.input), [0, 1, 2]);
  assert.deepEqual(nums(c[0]!.gt), [2]);
});

test('n_r with interval 2 is correct (the original gave [-1, 1, 3])', () => {
  const c = clips(opts('n_r', 3, 2, true));
  assert.deepEqual(c.map((x) => Number(x.gt[0])), [4, 5, 6, 7, 8, 9]);
  assert.deepEqual(nums(c[0]!.input), [0, 2, 4]);
  for (const x of c) {
    assert.equal(x.input[x.input.length - 1], x.gt[0], 'the anchor is the last input');
    assert.ok(nums(x.input).every((v) => v >= 0));
  }
  // Non-overlapping n_r tiles by the span: anchors F[L-1::L].
  assert.deepEqual(clips(opts('n_r', 3, 2, false)).map((x) => nums(x.input)), [[0, 2, 4], [5, 7, 9]]);
});

test('n_l with interval: the anchor is the first input, strided', () => {
  const c = clips(opts('n_l', 3, 3, true));
  assert.deepEqual(c.map((x) => nums(x.input)), [[0, 3, 6], [1, 4, 7], [2, 5, 8], [3, 6, 9]]);
  assert.deepEqual(c.map((x) => nums(x.gt)), [[0], [1], [2], [3]]);
});

test('worked example: strcnn, n=8, 14 frames, overlap', () => {
  const frames = Array.from({ length: 14 }, (_, i) => String(i));
  const c = clips(opts('strcnn', 8, 1, true), frames);
  assert.deepEqual(c.map((x) => Number(x.gt[0])), [2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(nums(c[0]!.input), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(nums(c[0]!.gt), [2, 3, 4, 5]);
  assert.deepEqual(nums(c[6]!.input), [6, 7, 8, 9, 10, 11, 12, 13]);
  // Non-overlapping steps anchors by n: GT blocks leave 4-frame gaps, as in the original.
  const d = clips(opts('strcnn', 5, 1, false), frames);
  assert.deepEqual(d.map((x) => nums(x.input)), [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]);
  assert.deepEqual(d.map((x) => nums(x.gt)), [[2], [7]]);
});

test('DVD example: 100 frames, n_c, n=5, s=1, overlap gives anchors 2..97', () => {
  const frames = Array.from({ length: 100 }, (_, i) => String(i).padStart(5, '0'));
  const c = clips(opts('n_c', 5, 1, true), frames);
  assert.equal(c.length, 96);
  assert.equal(c[0]!.gt[0], '00002');
  assert.equal(c[95]!.gt[0], '00097');
  const at10 = c.find((x) => x.gt[0] === '00010')!;
  assert.deepEqual(nums(at10.input), [8, 9, 10, 11, 12]);
});

test('dvd_test anchors are the original linspace positions', () => {
  const expected = [2, 5, 8, 11, 15, 18, 21, 24, 28, 31, 34, 38, 41, 44, 47, 51, 54, 57, 60, 64, 67, 70, 74, 77, 80, 83, 87, 90, 93, 97];
  assert.deepEqual(dvdTestPositions(), expected);
  const frames = Array.from({ length: 100 }, (_, i) => String(i));
  for (const overlapping of [true, false]) {
    const c = clips(opts('dvd_test', 5, 1, overlapping), frames);
    assert.deepEqual(c.map((x) => Number(x.gt[0])), expected);
    assert.deepEqual(nums(c[0]!.input), [0, 1, 2, 3, 4]);
  }
  assert.throws(() => clips(opts('dvd_test', 5, 1, true), frames.slice(0, 97)), /'dvd_test' needs videos of at least 98 frames; v has 97/);
});

test('n = 1 with n_c or n_n: every frame is a sample', () => {
  for (const mode of ['n_c', 'n_n'] as const) {
    const c = clips(opts(mode, 1, 1, true));
    assert.deepEqual(c.map((x) => nums(x.input)), ten.map((v) => [Number(v)]));
    assert.deepEqual(c.map((x) => nums(x.gt)), ten.map((v) => [Number(v)]));
  }
});

test('every mode: windows stay inside the video, have numFrames inputs and the right targets', () => {
  for (const sampling of ['n_c', 'n_l', 'n_r', 'n_n'] as const) {
    for (const numFrames of [1, 3, 5]) {
      for (const interval of [1, 2, 3]) {
        for (const overlapping of [true, false]) {
          const o = opts(sampling, numFrames, interval, overlapping);
          const ws = videoWindows(23, o);
          const span = (numFrames - 1) * interval + 1;
          // Overlapping: every placement of the window; otherwise the whole windows that tile.
          assert.equal(ws.length, overlapping ? Math.max(0, 23 - span + 1) : Math.floor(23 / span), JSON.stringify(o));
          for (const w of ws) {
            assert.equal(w.input.length, numFrames);
            assert.ok(w.input.every((p) => p >= 0 && p < 23));
            assert.ok(w.input.every((p, i) => i === 0 || p - w.input[i - 1]! === interval));
            const expectGt = sampling === 'n_n' ? w.input : [w.input[sampling === 'n_c' ? (numFrames - 1) / 2 : sampling === 'n_l' ? 0 : numFrames - 1]!];
            assert.deepEqual(w.gt, expectGt);
          }
          if (!overlapping) {
            const used = ws.flatMap((w) => w.input);
            assert.equal(new Set(used).size, used.length, 'non-overlapping windows share no frame');
          }
        }
      }
    }
  }
});

test('a video shorter than the window gives no samples', () => {
  assert.deepEqual(anchorPositions(4, opts('n_c', 5, 1, true)), []);
  assert.deepEqual(anchorPositions(4, opts('n_l', 3, 2, true)), []);
  assert.deepEqual(anchorPositions(4, opts('strcnn', 5, 1, true)), []);
  assert.equal(clips(opts('n_n', 3, 2, true), ['a', 'b', 'c', 'd']).length, 0);
});

test('windows are positional: frame ids need not be numbers or start at 0', () => {
  const frames = ['000047', '000048', '000049', '000050'];
  const c = sampleClips([{ name: 'GOPR0001', frames }, { name: 'GOPR0002', frames: frames.slice(0, 3) }], opts('n_c', 3, 1, true));
  assert.deepEqual(c, [
    { video: 'GOPR0001', input: ['000047', '000048', '000049'], gt: ['000048'] },
    { video: 'GOPR0001', input: ['000048', '000049', '000050'], gt: ['000049'] },
    { video: 'GOPR0002', input: ['000047', '000048', '000049'], gt: ['000048'] },
  ]);
  assert.deepEqual(windowAt(5, opts('n_c', 3, 2, true)), { input: [3, 5, 7], gt: [5] });
});

test('bad options are rejected with clear messages', () => {
  assert.throws(() => checkSampling({ sampling: 'n_c', numFrames: 4 }), /sampling 'n_c' needs an odd numFrames .* got 4/);
  assert.throws(() => checkSampling({ sampling: 'dvd_test', numFrames: 6 }), /'dvd_test' needs an odd numFrames/);
  assert.throws(() => checkSampling({ sampling: 'strcnn', numFrames: 4 }), /'strcnn' needs numFrames >= 5/);
  assert.throws(() => checkSampling({ sampling: 'strcnn', numFrames: 8, interval: 2 }), /'strcnn' takes consecutive frames: interval must be 1, got 2/);
  assert.throws(() => checkSampling({ numFrames: 0 }), /numFrames must be a positive integer, got 0/);
  assert.throws(() => checkSampling({ numFrames: 2.5 }), /numFrames must be a positive integer/);
  assert.throws(() => checkSampling({ interval: 0 }), /interval must be a positive integer, got 0/);
  assert.throws(() => checkSampling({ sampling: 'n_x' as never }), /sampling must be one of n_c, n_l, n_r, n_n, dvd_test, strcnn, video, got "n_x"/);
  assert.throws(() => checkSampling({ overlapping: 'yes' as never }), /overlapping must be a boolean/);
  // Even numFrames are fine where no centre is needed.
  for (const s of ['n_l', 'n_r', 'n_n'] as const) assert.equal(checkSampling({ sampling: s, numFrames: 4 }).numFrames, 4);
  assert.deepEqual(checkSampling({}), { sampling: 'n_c', numFrames: 1, interval: 1, overlapping: true });
});

test("'video': one sample per video, every frame as input and ground truth, whatever its length", () => {
  const v = opts('video', 5, 1, true);
  assert.deepEqual(videoWindows(4, v), [{ input: [0, 1, 2, 3], gt: [0, 1, 2, 3] }]);
  assert.deepEqual(videoWindows(0, v), []);
  const c = sampleClips([{ name: 'a', frames: ten }, { name: 'b', frames: ['7', '8'] }], v);
  assert.deepEqual(c.map((x) => [x.video, x.input.length, x.gt.length]), [['a', 10, 10], ['b', 2, 2]]);
  assert.deepEqual(nums(c[1]!.gt), [7, 8]);
  assert.throws(() => windowAt(0, v), /depends on the video's length/);
});
