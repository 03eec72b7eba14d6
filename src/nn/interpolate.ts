// F.interpolate for NHWC images, nearest and bilinear, with PyTorch's source-index
// arithmetic (done in float32, as PyTorch's CPU kernels do). Each spatial axis is resampled
// separately with gathers and per-row weights, which is exact for these separable modes and
// differentiable on every backend.
import { tf } from '../runtime/index.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';

/** Resampling mode of `interpolate`: `nearest` or `bilinear`. */
export type InterpolateMode = 'nearest' | 'bilinear';

/**
 * Options of `interpolate`, as PyTorch's F.interpolate: an output size or a scale factor, the mode,
 * and corner alignment.
 */
export interface InterpolateOptions {
  /** Output `[H, W]`; give this or `scaleFactor`. */
  readonly size?: readonly [number, number];
  /** Output = floor(input·factor); source coordinates then use 1/factor, as PyTorch does. */
  readonly scaleFactor?: number | readonly [number, number];
  /** Default 'nearest', as in PyTorch. */
  readonly mode?: InterpolateMode;
  /** Bilinear only (PyTorch's default false). */
  readonly alignCorners?: boolean;
}

const f32 = Math.fround;

interface AxisPlan {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly w1: Float32Array; // weight of i1; i0 gets 1 - w1
}

/** PyTorch's `compute_scales_value`: 1/factor when a factor was given, else in/out. */
function coordScale(inSize: number, outSize: number, factor: number | undefined): number {
  return factor !== undefined && factor > 0 ? f32(1 / factor) : f32(inSize / outSize);
}

/**
 * Source indices of nearest-neighbour resampling along one axis from `inSize` to `outSize`, as PyTorch
 * computes them (with `factor`, coordinates scale by 1/factor).
 */
export function nearestIndices(inSize: number, outSize: number, factor?: number): Int32Array {
  const scale = coordScale(inSize, outSize, factor);
  const idx = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) idx[o] = Math.min(Math.floor(f32(o * scale)), inSize - 1);
  return idx;
}

/**
 * Source indices and weights of bilinear resampling along one axis from `inSize` to `outSize`, as
 * PyTorch computes them with or without `alignCorners`.
 */
export function bilinearPlan(inSize: number, outSize: number, alignCorners: boolean, factor?: number): AxisPlan {
  const scale = alignCorners ? (outSize > 1 ? f32((inSize - 1) / (outSize - 1)) : 0) : coordScale(inSize, outSize, factor);
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w1 = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const src = alignCorners ? f32(scale * o) : Math.max(f32(f32(scale * f32(o + 0.5)) - 0.5), 0);
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[o] = lo;
    i1[o] = lo < inSize - 1 ? lo + 1 : lo;
    w1[o] = f32(src - lo);
  }
  return { i0, i1, w1 };
}

function resampleAxis(x: Tensor, axis: 1 | 2, plan: AxisPlan | Int32Array): Tensor {
  if (plan instanceof Int32Array) return tf.gather(x, tf.tensor1d(plan, 'int32'), axis);
  const n = plan.i0.length;
  const shape = axis === 1 ? [1, n, 1, 1] : [1, 1, n, 1];
  const w1 = tf.tensor(plan.w1, shape, 'float32');
  const a = tf.gather(x, tf.tensor1d(plan.i0, 'int32'), axis);
  const b = tf.gather(x, tf.tensor1d(plan.i1, 'int32'), axis);
  return a.add(b.sub(a).mul(w1));
}

/**
 * Resizes an NHWC image batch `[B, H, W, C]` by nearest or bilinear resampling with PyTorch's
 * F.interpolate coordinates; give exactly one of `size` and `scaleFactor`.
 */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor4D {
  if (x.rank !== 4) throw new Error(`interpolate: input must be [B, H, W, C], got ${JSON.stringify(x.shape)}`);
  const [, h, w] = x.shape as [number, number, number, number];
  const mode = opts.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'bilinear') throw new Error(`interpolate: unsupported mode '${String(mode)}'`);
  if (mode === 'nearest' && opts.alignCorners !== undefined) throw new Error(`interpolate: alignCorners only applies to bilinear`);
  let outH: number;
  let outW: number;
  let fh: number | undefined;
  let fw: number | undefined;
  if (opts.size !== undefined && opts.scaleFactor === undefined) {
    [outH, outW] = opts.size;
  } else if (opts.scaleFactor !== undefined && opts.size === undefined) {
    [fh, fw] = typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : opts.scaleFactor;
    if (!(fh > 0 && fw > 0)) throw new Error(`interpolate: scale factor must be positive, got ${JSON.stringify(opts.scaleFactor)}`);
    outH = Math.floor(h * fh);
    outW = Math.floor(w * fw);
  } else {
    throw new Error('interpolate: give exactly one of size and scaleFactor');
  }
  if (!(Number.isInteger(outH) && Number.isInteger(outW) && outH > 0 && outW > 0)) throw new Error(`interpolate: output size ${outH}x${outW} must be positive integers`);
  const align = opts.alignCorners ?? false;
  const planH = mode === 'nearest' ? nearestIndices(h, outH, fh) : bilinearPlan(h, outH, align, fh);
  const planW = mode === 'nearest' ? nearestIndices(w, outW, fw) : bilinearPlan(w, outW, align, fw);
  return tf.tidy(() => {
    const y = outH === h && mode === 'nearest' && fh === undefined ? x : resampleAxis(x, 1, planH);
    return (outW === w && mode === 'nearest' && fw === undefined ? y : resampleAxis(y, 2, planW)) as Tensor4D;
  });
}
