// Backward warping by optical flow: output(y, x) = input(y + flow_y, x + flow_x), sampled with
// gridSample. The original flow networks differ in how they turn pixel displacements into
// normalised grid coordinates, in padding, and in whether (and how strictly) they mask samples
// that read outside the image; each convention is a preset below.
import { tf } from '../../runtime/index.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { gridCoverage, gridSample } from './grid-sample.ts';
import { noGrad } from './no-grad.ts';
import type { GridPaddingMode, GridSampleMode } from './grid-sample.ts';

/**
 * How pixel displacements become grid coordinates:
 * - `'arange'`: `2·(i + d) / max(size − 1, 1) − 1` (CDVD-TSP's `Flow_PWC.warp`);
 * - `'linspace'`: `linspace(−1, 1, size)[i] + d / ((size − 1) / 2)` (the `Backward` helper of the
 *   PWC-Net and LiteFlowNet re-implementations).
 * Both equal `i + d` in pixels once align_corners=True sampling unnormalises them.
 */
export type FlowGridStyle = 'arange' | 'linspace';

/** Validity mask: sample an all-ones image (zero padding) and keep values ≥ (or >) threshold. */
export interface WarpMask {
  readonly threshold: number;
  /** true: keep values ≥ threshold (CDVD-TSP); false: keep values > threshold (PWC-Net). */
  readonly inclusive: boolean;
}

export interface WarpOptions {
  readonly grid: FlowGridStyle;
  /** Default 'bilinear'. */
  readonly mode?: GridSampleMode;
  /** Default 'zeros'. */
  readonly paddingMode?: GridPaddingMode;
  /** Default true: every original flow model samples with align_corners=True. */
  readonly alignCorners?: boolean;
  /** Multiply the output by a validity mask (default none). */
  readonly mask?: WarpMask | null;
}

/** CDVD-TSP's `Flow_PWC.warp`: border padding, output · [ones-sample ≥ 0.999]. */
export const CDVD_WARP: WarpOptions = { grid: 'arange', paddingMode: 'border', alignCorners: true, mask: { threshold: 0.999, inclusive: true } };
/** PWC-Net's `Backward`: zero padding, output · [ones-sample > 0.999]. */
export const PWC_BACKWARP: WarpOptions = { grid: 'linspace', paddingMode: 'zeros', alignCorners: true, mask: { threshold: 0.999, inclusive: false } };
/** LiteFlowNet's `backwarp`: zero padding, no mask. */
export const LITEFLOWNET_BACKWARP: WarpOptions = { grid: 'linspace', paddingMode: 'zeros', alignCorners: true, mask: null };

const f32 = Math.fround;

/** torch.linspace(-1, 1, n) in float32, with its two-sided evaluation. */
export function linspaceMinus1To1(n: number): Float32Array {
  const out = new Float32Array(n);
  if (n === 1) {
    out[0] = -1;
    return out;
  }
  const step = f32(2 / (n - 1));
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < half ? f32(-1 + f32(step * i)) : f32(1 - f32(step * (n - i - 1)));
  return out;
}

/** A [B, H, W, 2] constant from per-position (x, y) values; built on the JS side so that the
 *  grid arithmetic needs no broadcasting (slow in TensorFlow's CPU kernels). */
function pairs(b: number, h: number, w: number, at: (i: number, j: number) => [number, number]): Tensor {
  const d = new Float32Array(b * h * w * 2);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const [vx, vy] = at(i, j);
      d[(i * w + j) * 2] = vx;
      d[(i * w + j) * 2 + 1] = vy;
    }
  }
  for (let n = 1; n < b; n++) d.copyWithin(n * h * w * 2, 0, h * w * 2);
  return tf.tensor(d, [b, h, w, 2]);
}

/** Normalised sampling grid [B, H, W, 2] for a pixel flow [B, H, W, 2] (x then y). */
export function flowToGrid(flow: Tensor, style: FlowGridStyle): Tensor4D {
  if (flow.rank !== 4 || flow.shape[3] !== 2) throw new Error(`flowToGrid: flow must be [B, H, W, 2], got ${JSON.stringify(flow.shape)}`);
  if (style !== 'arange' && style !== 'linspace') throw new Error(`flowToGrid: unknown grid style '${String(style)}'`);
  const [b, h, w] = flow.shape as [number, number, number, number];
  if (style === 'linspace' && (h < 2 || w < 2)) throw new Error(`flowToGrid: 'linspace' grids need at least 2 pixels along each axis, got ${h}x${w}`);
  return tf.tidy(() => {
    if (style === 'arange') {
      // 2·(i + d) / max(size − 1, 1) − 1, in the original's order of operations.
      const den = [Math.max(w - 1, 1), Math.max(h - 1, 1)] as const;
      return pairs(b, h, w, (i, j) => [j, i]).add(flow).mul(2).div(pairs(b, h, w, () => [den[0], den[1]])).sub(1) as Tensor4D;
    }
    const lx = linspaceMinus1To1(w);
    const ly = linspaceMinus1To1(h);
    const half = [(w - 1) / 2, (h - 1) / 2] as const;
    return pairs(b, h, w, (i, j) => [lx[j]!, ly[i]!]).add(flow.div(pairs(b, h, w, () => [half[0], half[1]]))) as Tensor4D;
  });
}

export interface WarpResult {
  /** The warped input, multiplied by the mask when one was requested. */
  readonly output: Tensor4D;
  /** [B, H, W, 1] of 0/1 (all ones without a mask); no gradient. */
  readonly mask: Tensor4D;
}

function checkWarpInputs(x: Tensor, flow: Tensor): void {
  if (x.rank !== 4) throw new Error(`warp: input must be [B, H, W, C], got ${JSON.stringify(x.shape)}`);
  if (flow.rank !== 4 || flow.shape[3] !== 2) throw new Error(`warp: flow must be [B, H, W, 2], got ${JSON.stringify(flow.shape)}`);
  if (flow.shape[0] !== x.shape[0] || flow.shape[1] !== x.shape[1] || flow.shape[2] !== x.shape[2]) {
    throw new Error(`warp: flow ${JSON.stringify(flow.shape)} does not match input ${JSON.stringify(x.shape)} in batch and size`);
  }
}

function warpImpl(x: Tensor, flow: Tensor, opts: WarpOptions): { output: Tensor4D; mask: Tensor4D | null } {
  checkWarpInputs(x, flow);
  const [, h, w] = x.shape as [number, number, number, number];
  const alignCorners = opts.alignCorners ?? true;
  const mode = opts.mode ?? 'bilinear';
  const m = opts.mask ?? null;
  const [output, mask] = tf.tidy(() => {
    const grid = flowToGrid(flow, opts.grid);
    const sampled = gridSample(x, grid, { mode, paddingMode: opts.paddingMode ?? 'zeros', alignCorners });
    if (m === null) return [sampled];
    const keep = noGrad((g) => {
      const cov = gridCoverage(g, [h, w], { mode, alignCorners });
      return (m.inclusive ? tf.greaterEqual(cov, m.threshold) : tf.greater(cov, m.threshold)).toFloat();
    }, grid);
    return [sampled.mul(keep), keep];
  }) as [Tensor4D, Tensor4D | undefined];
  return { output, mask: mask ?? null };
}

/** Backward-warps `x` [B, H, W, C] by a pixel flow [B, H, W, 2]; returns the output and its mask. */
export function warpWithMask(x: Tensor, flow: Tensor, opts: WarpOptions): WarpResult {
  const { output, mask } = warpImpl(x, flow, opts);
  const [b, h, w] = x.shape as [number, number, number, number];
  return { output, mask: mask ?? (tf.ones([b, h, w, 1]) as Tensor4D) };
}

/** Backward-warps `x` [B, H, W, C] by a pixel flow [B, H, W, 2] (masked when `opts.mask` is set). */
export function warp(x: Tensor, flow: Tensor, opts: WarpOptions): Tensor4D {
  const { output, mask } = warpImpl(x, flow, opts);
  mask?.dispose();
  return output;
}
