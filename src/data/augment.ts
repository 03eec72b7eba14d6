// Joint clip augmentation. A recipe is a list of plain transform specs, applied in list order.
// Each transform draws once per sample from the explicit Rng (a crop draws its top, then its
// left) and the decision applies to every input frame and every ground-truth frame alike.
//
// The list is first turned into a *plan*: one source rectangle, one of the 8 flips/rotations
// of the square (the dihedral group), and a temporal-reverse flag. A reader can then decode only
// the rectangle and reorder pixels in a single pass, whatever the number of transforms.
//
// Order: the original always applied crop -> hflip -> vflip -> reverse -> transpose, whatever
// the order of its config keys. Here the list order is the order; `originalOrder` sorts a list
// into the original's order for exact reproduction. The original's `RandomRotation90` is the
// `transpose` transform here (it swapped H and W, which is a rotation followed by a flip);
// `rot90` is a true rotation.
import type { Rng } from '../util/rng.ts';
import type { Rect } from './image.ts';

/**
 * One transform of an augmentation list, as a plain JSON value; each draws once per sample and applies
 * to every frame alike.
 */
export type AugmentSpec =
  /** A random `[height, width]` window; top then left drawn uniformly (inclusive bounds). */
  | { readonly type: 'crop'; readonly size: readonly [number, number] }
  /** Mirror left-right with probability p. */
  | { readonly type: 'hflip'; readonly p: number }
  /** Mirror top-bottom with probability p. */
  | { readonly type: 'vflip'; readonly p: number }
  /** Reverse the frame order (inputs and ground truth) with probability p. */
  | { readonly type: 'reverse'; readonly p: number }
  /** Swap H and W (the original's RandomRotation90) with probability p. */
  | { readonly type: 'transpose'; readonly p: number }
  /** Rotate 90 degrees counter-clockwise with probability p. */
  | { readonly type: 'rot90'; readonly p: number };

export type AugmentType = AugmentSpec['type'];

// ---------------------------------------------------------------------------------------
// Combinators (plain values, so a recipe stays JSON).

/** A random crop to `size` pixels: one number for a square, or `[height, width]`. */
export function randomCrop(size: number | readonly [number, number]): AugmentSpec {
  return { type: 'crop', size: typeof size === 'number' ? [size, size] : [size[0], size[1]] };
}
/** A left-right mirror with probability `p` (default 0.5). */
export const hflip = (p = 0.5): AugmentSpec => ({ type: 'hflip', p });
/** A top-bottom mirror with probability `p` (default 0.5). */
export const vflip = (p = 0.5): AugmentSpec => ({ type: 'vflip', p });
/** Reverses the frame order of a clip with probability `p` (default 0.5). */
export const temporalReverse = (p = 0.5): AugmentSpec => ({ type: 'reverse', p });
/** Swaps H and W with probability `p` (default 0.5): the original code's `RandomRotation90`. */
export const transpose = (p = 0.5): AugmentSpec => ({ type: 'transpose', p });
/** A 90° counter-clockwise rotation with probability `p` (default 0.5). */
export const rot90 = (p = 0.5): AugmentSpec => ({ type: 'rot90', p });

const ORIGINAL_ORDER: readonly AugmentType[] = ['crop', 'hflip', 'vflip', 'reverse', 'transpose', 'rot90'];

/** The same transforms in the original's fixed order (crop, hflip, vflip, reverse, transpose). */
export function originalOrder(specs: readonly AugmentSpec[]): AugmentSpec[] {
  return [...specs].sort((a, b) => ORIGINAL_ORDER.indexOf(a.type) - ORIGINAL_ORDER.indexOf(b.type));
}

/**
 * Specs from the original's `augmentation` mapping (`RandomCrop: {size: [h, w]}`, …), in its
 * fixed order. `ToTensor` is ignored as it was; `Normalize`/`Centerlize` are refused because
 * frames are already in [0, 1] (the original divided them by 255 a second time).
 */
export function fromOriginalAugmentation(map: Readonly<Record<string, unknown>>): AugmentSpec[] {
  const p = (key: string): number => {
    const v = (map[key] ?? {}) as { p?: unknown };
    return typeof v.p === 'number' ? v.p : 0.5;
  };
  const out: AugmentSpec[] = [];
  for (const key of Object.keys(map)) {
    if (!['RandomCrop', 'RandomHorizontalFlip', 'RandomVerticalFlip', 'RandomReverse', 'RandomRotation90', 'ToTensor'].includes(key)) {
      throw new Error(`augmentation ${key} is not supported` + (key === 'Normalize' || key === 'Centerlize' ? ' (frames are already float32 in [0, 1])' : ''));
    }
  }
  if ('RandomCrop' in map) {
    const size = ((map['RandomCrop'] ?? {}) as { size?: unknown }).size ?? [256, 256];
    if (!Array.isArray(size) || size.length !== 2) throw new Error(`augmentation RandomCrop.size must be [h, w], got ${JSON.stringify(size)}`);
    out.push(randomCrop([Number(size[0]), Number(size[1])]));
  }
  if ('RandomHorizontalFlip' in map) out.push(hflip(p('RandomHorizontalFlip')));
  if ('RandomVerticalFlip' in map) out.push(vflip(p('RandomVerticalFlip')));
  if ('RandomReverse' in map) out.push(temporalReverse(p('RandomReverse')));
  if ('RandomRotation90' in map) out.push(transpose(p('RandomRotation90')));
  checkAugment(out);
  return out;
}

/** Throws on a malformed spec (unknown type, p outside [0, 1], non-positive crop size). */
export function checkAugment(specs: readonly AugmentSpec[]): void {
  specs.forEach((s, i) => {
    const at = `augment[${i}] (${s.type})`;
    if (s.type === 'crop') {
      const ok = Array.isArray(s.size) && s.size.length === 2 && s.size.every((v) => Number.isInteger(v) && v > 0);
      if (!ok) throw new Error(`${at}: size must be [height, width] of positive integers, got ${JSON.stringify(s.size)}`);
    } else if (['hflip', 'vflip', 'reverse', 'transpose', 'rot90'].includes(s.type)) {
      if (typeof s.p !== 'number' || !(s.p >= 0 && s.p <= 1)) throw new Error(`${at}: p must be a probability in [0, 1], got ${JSON.stringify(s.p)}`);
    } else {
      throw new Error(`augment[${i}]: unknown transform ${JSON.stringify((s as { type: unknown }).type)}`);
    }
  });
}

/**
 * Why a frame of `height`x`width` cannot go through `specs` (a crop larger than the frame,
 * in any orientation an earlier random transpose/rotation may give it), or undefined.
 */
export function augmentFitProblem(specs: readonly AugmentSpec[], height: number, width: number): string | undefined {
  let shapes: Array<readonly [number, number]> = [[height, width]];
  for (const s of specs) {
    if (s.type === 'crop') {
      const [h, w] = s.size;
      const bad = shapes.find(([H, W]) => h > H || w > W);
      if (bad) return `random crop ${h}x${w} (HxW) does not fit in a ${bad[0]}x${bad[1]} frame`;
      shapes = [[h, w]];
    } else if ((s.type === 'transpose' || s.type === 'rot90') && s.p > 0) {
      shapes = [...shapes, ...shapes.map(([H, W]) => [W, H] as const)];
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// The dihedral group on images.

/**
 * A flip/rotation as a map from output to input pixel: swap (y, x) if `swap`, then mirror y
 * (`flipY`) and x (`flipX`) within the input's size. Output size is the input's, swapped if `swap`.
 */
export interface Geometry {
  readonly swap: boolean;
  readonly flipY: boolean;
  readonly flipX: boolean;
}

export const IDENTITY: Geometry = { swap: false, flipY: false, flipX: false };

const GEOMETRY: Partial<Record<AugmentType, Geometry>> = {
  hflip: { swap: false, flipY: false, flipX: true },
  vflip: { swap: false, flipY: true, flipX: false },
  transpose: { swap: true, flipY: false, flipX: false },
  // out[i][j] = in[j][W-1-i], as numpy's rot90 (counter-clockwise).
  rot90: { swap: true, flipY: false, flipX: true },
};

/** `first` then `second`, as one geometry. */
export function composeGeometry(first: Geometry, second: Geometry): Geometry {
  // out -> mid is F2∘S2, mid -> in is F1∘S1; moving S1 past F2 exchanges F2's axes.
  return {
    swap: first.swap !== second.swap,
    flipY: first.flipY !== (first.swap ? second.flipX : second.flipY),
    flipX: first.flipX !== (first.swap ? second.flipY : second.flipX),
  };
}

/** Maps output pixel (y, x) to the input pixel, for an input of `inH`x`inW`. */
function sourceOf(g: Geometry, inH: number, inW: number, y: number, x: number): [number, number] {
  let sy = g.swap ? x : y;
  let sx = g.swap ? y : x;
  if (g.flipY) sy = inH - 1 - sy;
  if (g.flipX) sx = inW - 1 - sx;
  return [sy, sx];
}

// ---------------------------------------------------------------------------------------
// Plans.

/** The net effect of a recipe on one sample. */
export interface AugmentPlan {
  /** Rectangle of the source frame that is kept. */
  readonly rect: Rect;
  /** Applied to the rectangle. */
  readonly geometry: Geometry;
  /** Reverse the frame order of inputs and ground truth (and of the gt frame ids). */
  readonly reverse: boolean;
  /** Size of the augmented frames. */
  readonly height: number;
  readonly width: number;
}

/** The identity plan for a frame of `height`x`width`. */
export function identityPlan(height: number, width: number): AugmentPlan {
  return { rect: { top: 0, left: 0, height, width }, geometry: IDENTITY, reverse: false, height, width };
}

/**
 * Draws every random decision of `specs` for a frame of `height`x`width`, in list order. Throws
 * if a crop does not fit (check `augmentFitProblem` up front to fail earlier).
 */
export function planAugment(specs: readonly AugmentSpec[], rng: Rng, height: number, width: number): AugmentPlan {
  let rect: Rect = { top: 0, left: 0, height, width };
  let geometry = IDENTITY;
  let reverse = false;
  let [h, w] = [height, width];
  for (const s of specs) {
    if (s.type === 'crop') {
      const [ch, cw] = s.size;
      if (ch > h || cw > w) throw new Error(`random crop ${ch}x${cw} (HxW) does not fit in a ${h}x${w} frame`);
      const top = rng.int(h - ch + 1);
      const left = rng.int(w - cw + 1);
      // The crop is in current coordinates; its corners map back into the kept rectangle.
      const [y0, x0] = sourceOf(geometry, rect.height, rect.width, top, left);
      const [y1, x1] = sourceOf(geometry, rect.height, rect.width, top + ch - 1, left + cw - 1);
      rect = {
        top: rect.top + Math.min(y0, y1),
        left: rect.left + Math.min(x0, x1),
        height: Math.abs(y1 - y0) + 1,
        width: Math.abs(x1 - x0) + 1,
      };
      [h, w] = [ch, cw];
    } else {
      const hit = rng.next() < s.p;
      if (!hit) continue;
      if (s.type === 'reverse') {
        reverse = !reverse;
      } else {
        const g = GEOMETRY[s.type]!;
        geometry = composeGeometry(geometry, g);
        if (g.swap) [h, w] = [w, h];
      }
    }
  }
  return { rect, geometry, reverse, height: h, width: w };
}

/**
 * Writes `frame` (`[inH, inW, C]`, already restricted to the plan's rectangle) through
 * `geometry` into `out` at `offset`.
 */
export function applyGeometry(frame: Float32Array, inH: number, inW: number, c: number, geometry: Geometry, out: Float32Array, offset: number): void {
  if (!geometry.swap && !geometry.flipY && !geometry.flipX) {
    out.set(frame.subarray(0, inH * inW * c), offset);
    return;
  }
  const [outH, outW] = geometry.swap ? [inW, inH] : [inH, inW];
  // Source index = y-term + x-term: each output axis walks one source axis, forwards or back.
  const rowStride = inW * c;
  const yAxisStride = geometry.swap ? c : rowStride; // source step when the output y grows
  const xAxisStride = geometry.swap ? rowStride : c; // source step when the output x grows
  const yFlip = geometry.swap ? geometry.flipX : geometry.flipY;
  const xFlip = geometry.swap ? geometry.flipY : geometry.flipX;
  const yStart = yFlip ? (outH - 1) * yAxisStride : 0;
  const xStart = xFlip ? (outW - 1) * xAxisStride : 0;
  const yStep = yFlip ? -yAxisStride : yAxisStride;
  const xStep = xFlip ? -xAxisStride : xAxisStride;
  let o = offset;
  for (let y = 0, sy = yStart; y < outH; y++, sy += yStep) {
    for (let x = 0, s = sy + xStart; x < outW; x++, s += xStep) {
      for (let k = 0; k < c; k++) out[o++] = frame[s + k]!;
    }
  }
}

/** Copies `rect` out of a `[H, W, C]` frame stored at `offset` in `clip`. */
export function cropFrame(clip: Float32Array, offset: number, width: number, c: number, rect: Rect): Float32Array {
  const out = new Float32Array(rect.height * rect.width * c);
  for (let y = 0; y < rect.height; y++) {
    const s = offset + ((rect.top + y) * width + rect.left) * c;
    out.set(clip.subarray(s, s + rect.width * c), y * rect.width * c);
  }
  return out;
}

/**
 * Applies a plan to an in-memory clip `[T, H, W, C]` (frames in memory rather than on disk).
 * Returns the new clip and its shape; the frame order is reversed if the plan says so.
 */
export function applyPlan(clip: Float32Array, shape: readonly [number, number, number, number], plan: AugmentPlan): { data: Float32Array; shape: [number, number, number, number] } {
  const [t, h, w, c] = shape;
  if (clip.length !== t * h * w * c) throw new Error(`applyPlan: clip has ${clip.length} values, shape ${JSON.stringify(shape)} needs ${t * h * w * c}`);
  const { rect } = plan;
  if (rect.top < 0 || rect.left < 0 || rect.top + rect.height > h || rect.left + rect.width > w) {
    throw new Error(`applyPlan: rectangle ${JSON.stringify(rect)} is outside the ${h}x${w} frame`);
  }
  const frameOut = plan.height * plan.width * c;
  const data = new Float32Array(t * frameOut);
  for (let f = 0; f < t; f++) {
    const src = plan.reverse ? t - 1 - f : f;
    const cropped = cropFrame(clip, src * h * w * c, w, c, rect);
    applyGeometry(cropped, rect.height, rect.width, c, plan.geometry, data, f * frameOut);
  }
  return { data, shape: [t, plan.height, plan.width, c] };
}
