import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/util/rng.ts';
import {
  applyPlan,
  augmentFitProblem,
  checkAugment,
  composeGeometry,
  fromOriginalAugmentation,
  hflip,
  identityPlan,
  originalOrder,
  planAugment,
  randomCrop,
  rot90,
  temporalReverse,
  transpose,
  vflip,
} from '../src/data/augment.ts';
import type { AugmentSpec, Geometry } from '../src/data/augment.ts';

type Shape = [number, number, number, number];
interface Clip {
  data: Float32Array;
  shape: Shape;
}

/** A clip whose every value is distinct: 1000·t + 100·y + 10·x + c. */
function makeClip(t: number, h: number, w: number, c = 3): Clip {
  const data = new Float32Array(t * h * w * c);
  let i = 0;
  for (let f = 0; f < t; f++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) data[i++] = 1000 * f + 100 * y + 10 * x + k;
  return { data, shape: [t, h, w, c] };
}

const at = (clip: Clip, f: number, y: number, x: number, k: number) => {
  const [, h, w, c] = clip.shape;
  return clip.data[((f * h + y) * w + x) * c + k]!;
};

/** Reference: build the output pixel by pixel from a map (f, y, x) -> source (f, y, x). */
function remap(clip: Clip, shape: Shape, src: (f: number, y: number, x: number) => [number, number, number]): Clip {
  const [t, h, w, c] = shape;
  const data = new Float32Array(t * h * w * c);
  let i = 0;
  for (let f = 0; f < t; f++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const [sf, sy, sx] = src(f, y, x);
    for (let k = 0; k < c; k++) data[i++] = at(clip, sf, sy, sx, k);
  }
  return { data, shape };
}

const ref = {
  crop: (a: Clip, top: number, left: number, h: number, w: number) => remap(a, [a.shape[0], h, w, a.shape[3]], (f, y, x) => [f, y + top, x + left]),
  hflip: (a: Clip) => remap(a, a.shape, (f, y, x) => [f, y, a.shape[2] - 1 - x]),
  vflip: (a: Clip) => remap(a, a.shape, (f, y, x) => [f, a.shape[1] - 1 - y, x]),
  reverse: (a: Clip) => remap(a, a.shape, (f, y, x) => [a.shape[0] - 1 - f, y, x]),
  transpose: (a: Clip) => remap(a, [a.shape[0], a.shape[2], a.shape[1], a.shape[3]], (f, y, x) => [f, x, y]),
  // numpy rot90 (counter-clockwise): out[i][j] = in[j][W-1-i].
  rot90: (a: Clip) => remap(a, [a.shape[0], a.shape[2], a.shape[1], a.shape[3]], (f, y, x) => [f, x, a.shape[2] - 1 - y]),
};

/** Applies specs one by one with the reference ops, drawing from `rng` as the plan does. */
function sequential(specs: readonly AugmentSpec[], rng: Rng, clip: Clip): Clip {
  let cur = clip;
  for (const s of specs) {
    if (s.type === 'crop') {
      const [h, w] = s.size;
      const top = rng.int(cur.shape[1] - h + 1);
      const left = rng.int(cur.shape[2] - w + 1);
      cur = ref.crop(cur, top, left, h, w);
    } else if (rng.next() < s.p) {
      cur = ref[s.type](cur);
    }
  }
  return cur;
}

function randomRecipe(rng: Rng, h: number, w: number): AugmentSpec[] {
  const out: AugmentSpec[] = [];
  const n = 1 + rng.int(5);
  // Smallest side so far: a crop within it fits whatever transposes came before.
  let m = Math.min(h, w);
  for (let i = 0; i < n; i++) {
    const kind = rng.int(6);
    const p = [0, 0.5, 1][rng.int(3)]!;
    if (kind === 0) {
      const s = 1 + rng.int(m);
      const t = 1 + rng.int(s);
      out.push(randomCrop(rng.next() < 0.5 ? [s, t] : [t, s]));
      m = t;
    } else out.push([hflip, vflip, temporalReverse, transpose, rot90][kind - 1]!(p));
  }
  return out;
}

test('a plan (one rectangle + one flip/rotation + reverse) equals the transforms applied one by one', () => {
  const clip = makeClip(3, 7, 9);
  const gen = Rng.seeded(11);
  for (let trial = 0; trial < 300; trial++) {
    const specs = randomRecipe(gen, 7, 9);
    const seed = gen.nextU32();
    const expected = sequential(specs, Rng.seeded(seed), clip);
    const plan = planAugment(specs, Rng.seeded(seed), 7, 9);
    const got = applyPlan(clip.data, clip.shape, plan);
    assert.deepEqual(got.shape, expected.shape, JSON.stringify(specs));
    assert.deepEqual(got.data, expected.data, JSON.stringify(specs));
  }
});

test('composeGeometry matches applying the two geometries in turn', () => {
  const all: Geometry[] = [];
  for (const swap of [false, true]) for (const flipY of [false, true]) for (const flipX of [false, true]) all.push({ swap, flipY, flipX });
  const clip = makeClip(1, 3, 5, 1);
  const applyG = (c: Clip, g: Geometry) =>
    applyPlan(c.data, c.shape, { rect: { top: 0, left: 0, height: c.shape[1], width: c.shape[2] }, geometry: g, reverse: false, height: g.swap ? c.shape[2] : c.shape[1], width: g.swap ? c.shape[1] : c.shape[2] });
  for (const a of all) {
    for (const b of all) {
      const step1 = applyG(clip, a);
      const twice = applyG({ data: step1.data, shape: step1.shape }, b);
      const once = applyG(clip, composeGeometry(a, b));
      assert.deepEqual(once.data, twice.data, `${JSON.stringify(a)} then ${JSON.stringify(b)}`);
    }
  }
});

test('rot90 is a true rotation: formula, four turns are the identity, and it is not a transpose', () => {
  const clip = makeClip(2, 4, 6);
  const once = applyPlan(clip.data, clip.shape, planAugment([rot90(1)], Rng.seeded(1), 4, 6));
  assert.deepEqual(once.shape, [2, 6, 4, 3]);
  for (let i = 0; i < 6; i++) for (let j = 0; j < 4; j++) assert.equal(at(once, 1, i, j, 2), at(clip, 1, j, 6 - 1 - i, 2));
  // Top-left of the rotated image is the top-right of the original (counter-clockwise).
  assert.equal(at(once, 0, 0, 0, 0), at(clip, 0, 0, 5, 0));
  const four = applyPlan(clip.data, clip.shape, planAugment([rot90(1), rot90(1), rot90(1), rot90(1)], Rng.seeded(1), 4, 6));
  assert.deepEqual(four.data, clip.data);
  const tr = applyPlan(clip.data, clip.shape, planAugment([transpose(1)], Rng.seeded(1), 4, 6));
  assert.deepEqual(tr.shape, once.shape);
  assert.notDeepEqual(tr.data, once.data);
  // A transpose is a rotation followed by a vertical flip.
  const rv = applyPlan(clip.data, clip.shape, planAugment([rot90(1), vflip(1)], Rng.seeded(1), 4, 6));
  assert.deepEqual(rv.data, tr.data);
  // Two turns are a 180 degree rotation: both flips.
  const two = applyPlan(clip.data, clip.shape, planAugment([rot90(1), rot90(1)], Rng.seeded(1), 4, 6));
  const hv = applyPlan(clip.data, clip.shape, planAugment([hflip(1), vflip(1)], Rng.seeded(1), 4, 6));
  assert.deepEqual(two.data, hv.data);
});

test('same seed, same crop and flips; different seeds differ', () => {
  const specs = [randomCrop([4, 5]), hflip(), vflip(), temporalReverse(), transpose()];
  const a = planAugment(specs, Rng.derive(3, 'sample:0:7'), 20, 30);
  const b = planAugment(specs, Rng.derive(3, 'sample:0:7'), 20, 30);
  assert.deepEqual(a, b);
  const plans = Array.from({ length: 20 }, (_, i) => JSON.stringify(planAugment(specs, Rng.derive(3, `sample:0:${i}`), 20, 30)));
  assert.ok(new Set(plans).size > 10);
});

test('one draw per transform: p = 0 and p = 1 consume the stream like p = 0.5', () => {
  const tail = (specs: AugmentSpec[]) => {
    const rng = Rng.seeded(5);
    planAugment(specs, rng, 8, 8);
    return rng.nextU32();
  };
  const base = tail([hflip(0.5), vflip(0.5), randomCrop(8)]);
  assert.equal(tail([hflip(0), vflip(1), randomCrop(8)]), base);
  assert.equal(tail([hflip(1), vflip(0), randomCrop(8)]), base);
});

test('crop offsets cover both ends (inclusive bounds) and stay inside', () => {
  const tops = new Set<number>();
  const lefts = new Set<number>();
  const rng = Rng.seeded(9);
  for (let i = 0; i < 400; i++) {
    const p = planAugment([randomCrop([3, 2])], rng, 6, 5);
    assert.ok(p.rect.top >= 0 && p.rect.top + 3 <= 6 && p.rect.left >= 0 && p.rect.left + 2 <= 5);
    assert.deepEqual([p.height, p.width, p.rect.height, p.rect.width], [3, 2, 3, 2]);
    tops.add(p.rect.top);
    lefts.add(p.rect.left);
  }
  assert.deepEqual([...tops].sort(), [0, 1, 2, 3]);
  assert.deepEqual([...lefts].sort(), [0, 1, 2, 3]);
});

test('flip probabilities are honoured', () => {
  const rng = Rng.seeded(2);
  let flips = 0;
  for (let i = 0; i < 2000; i++) if (planAugment([hflip(0.3)], rng, 4, 4).geometry.flipX) flips++;
  assert.ok(Math.abs(flips / 2000 - 0.3) < 0.04, `${flips}`);
  assert.deepEqual(planAugment([hflip(0), vflip(0), transpose(0), rot90(0), temporalReverse(0)], rng, 4, 5), identityPlan(4, 5));
});

test('temporal reverse reverses the frame order only', () => {
  const clip = makeClip(4, 2, 3);
  const r = applyPlan(clip.data, clip.shape, planAugment([temporalReverse(1)], Rng.seeded(0), 2, 3));
  assert.deepEqual(r.data, ref.reverse(clip).data);
});

test('crop after a transpose is drawn in the transposed frame', () => {
  // A 4x10 frame transposed is 10x4: a 8x3 crop fits only after the transpose.
  assert.equal(augmentFitProblem([transpose(1), randomCrop([8, 3])], 4, 10), 'random crop 8x3 (HxW) does not fit in a 4x10 frame');
  assert.equal(augmentFitProblem([randomCrop([4, 4]), transpose(1), randomCrop([3, 2])], 4, 10), undefined);
  assert.equal(augmentFitProblem([transpose(0), randomCrop([8, 3])], 4, 10), 'random crop 8x3 (HxW) does not fit in a 4x10 frame');
  assert.equal(augmentFitProblem([randomCrop([5, 5])], 4, 10), 'random crop 5x5 (HxW) does not fit in a 4x10 frame');
  assert.equal(augmentFitProblem([randomCrop([4, 10])], 4, 10), undefined);
  assert.throws(() => planAugment([randomCrop([5, 5])], Rng.seeded(0), 4, 10), /random crop 5x5 \(HxW\) does not fit in a 4x10 frame/);
});

test('originalOrder sorts into crop, hflip, vflip, reverse, transpose', () => {
  const specs = [transpose(0.5), temporalReverse(0.5), vflip(0.5), randomCrop(4), hflip(0.5)];
  assert.deepEqual(originalOrder(specs).map((s) => s.type), ['crop', 'hflip', 'vflip', 'reverse', 'transpose']);
  // The order matters: a transpose before a crop draws the crop in the other orientation.
  const a = planAugment([transpose(1), randomCrop([2, 3])], Rng.seeded(4), 6, 8);
  const b = planAugment([randomCrop([2, 3]), transpose(1)], Rng.seeded(4), 6, 8);
  assert.deepEqual([a.height, a.width, a.rect.height, a.rect.width], [2, 3, 3, 2]);
  assert.deepEqual([b.height, b.width, b.rect.height, b.rect.width], [3, 2, 2, 3]);
});

test("fromOriginalAugmentation maps the original's keys in its fixed order", () => {
  const specs = fromOriginalAugmentation({
    RandomRotation90: { p: 0.25 },
    RandomReverse: {},
    ToTensor: true,
    RandomCrop: { size: [128, 96] },
    RandomHorizontalFlip: { p: 0.5 },
  });
  assert.deepEqual(specs, [
    { type: 'crop', size: [128, 96] },
    { type: 'hflip', p: 0.5 },
    { type: 'reverse', p: 0.5 },
    { type: 'transpose', p: 0.25 },
  ]);
  assert.deepEqual(fromOriginalAugmentation({ RandomCrop: {} }), [{ type: 'crop', size: [256, 256] }]);
  assert.throws(() => fromOriginalAugmentation({ Normalize: { pixel_max: 255 } }), /augmentation Normalize is not supported \(frames are already float32 in \[0, 1\]\)/);
  assert.throws(() => fromOriginalAugmentation({ ColorJitter: {} }), /augmentation ColorJitter is not supported/);
});

test('checkAugment rejects malformed specs', () => {
  assert.throws(() => checkAugment([hflip(1.5)]), /augment\[0\] \(hflip\): p must be a probability in \[0, 1\], got 1.5/);
  assert.throws(() => checkAugment([randomCrop(4), randomCrop([0, 3])]), /augment\[1\] \(crop\): size must be \[height, width\] of positive integers, got \[0,3\]/);
  assert.throws(() => checkAugment([{ type: 'blur', p: 1 } as never]), /augment\[0\]: unknown transform "blur"/);
  checkAugment([randomCrop(4), hflip(), vflip(), temporalReverse(), transpose(), rot90()]);
});

test('applyPlan checks its inputs', () => {
  const clip = makeClip(1, 4, 4);
  assert.throws(() => applyPlan(clip.data.subarray(1), clip.shape, identityPlan(4, 4)), /applyPlan: clip has 47 values/);
  assert.throws(() => applyPlan(clip.data, clip.shape, { ...identityPlan(4, 4), rect: { top: 2, left: 0, height: 4, width: 4 } }), /outside the 4x4 frame/);
});
