// F.grid_sample (4-D input) with PyTorch's semantics on NHWC tensors: bilinear or nearest
// sampling, zeros or border padding, align_corners true or false.
//
// Bilinear sampling gathers each sample's 2×2 neighbourhood as one row of a "neighbourhood"
// tensor (the zero-padded input and its three one-pixel shifts, side by side in channels), so
// a single gather of N rows replaces four of N; corners one pixel outside the image read the
// zero padding, corners further out are masked by their weight. Nearest sampling gathers from
// the input directly. The index and weight arithmetic works on separate x and y tensors of
// one value per sample (TensorFlow's CPU broadcasting is slow; same-shape and scalar ops are
// not), inside a custom-gradient op, so no comparison or integer op is on the gradient tape.
//
// Gradient (hand-written): the input gradient scatters the weighted output gradient into the
// neighbourhood tensor with one UnsortedSegmentSum and folds it back; the grid gradient is the
// bilinear weights' derivative (floor is not differentiated) times the unnormalisation scale
// times PyTorch's border-clip factor (0 on and beyond the border, where PyTorch counts the
// clipped coordinate as out of range). Nearest sampling has no grid gradient, as in PyTorch.
import { tf } from '../../runtime/index.ts';
import type { Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs';
import { gatherRows } from '../native.ts';
import { noGrad } from './no-grad.ts';

export type GridSampleMode = 'bilinear' | 'nearest';
export type GridPaddingMode = 'zeros' | 'border';

export interface GridSampleOptions {
  /** Default 'bilinear' (PyTorch's default). */
  readonly mode?: GridSampleMode;
  /** Default 'zeros' (PyTorch's default). */
  readonly paddingMode?: GridPaddingMode;
  /** Default false (PyTorch's default since 1.3). */
  readonly alignCorners?: boolean;
}

interface Resolved {
  readonly mode: GridSampleMode;
  readonly paddingMode: GridPaddingMode;
  readonly alignCorners: boolean;
}

function resolve(o: GridSampleOptions): Resolved {
  const mode = o.mode ?? 'bilinear';
  const paddingMode = o.paddingMode ?? 'zeros';
  if (mode !== 'bilinear' && mode !== 'nearest') throw new Error(`gridSample: unsupported mode '${String(mode)}'`);
  if (paddingMode !== 'zeros' && paddingMode !== 'border') throw new Error(`gridSample: unsupported padding mode '${String(paddingMode)}'`);
  return { mode, paddingMode, alignCorners: o.alignCorners ?? false };
}

/** One axis of the sampling plan; every tensor holds one value per sample, [N]. */
interface AxisPlan {
  /** Unnormalised (and, for border padding, clipped) coordinate. */
  readonly c: Tensor;
  /** d c / d grid: the unnormalisation scale, 0 where the border clip is active. */
  readonly d: Tensor | number;
}

/** PyTorch's unnormalisation (its vectorised CPU kernel's form: (g + 1)·s, minus 0.5 unless align_corners). */
function axisCoord(g: Tensor, size: number, o: Resolved): AxisPlan {
  const scale = o.alignCorners ? (size - 1) / 2 : size / 2;
  // NaN coordinates are sent far out of range (they would otherwise become garbage indices).
  let c = tf.where(tf.isNaN(g), tf.fill(g.shape, -4), g).add(1).mul(scale);
  if (!o.alignCorners) c = c.sub(0.5);
  if (o.paddingMode === 'zeros') return { c, d: scale };
  const inside = tf.logicalAnd(tf.greater(c, 0), tf.less(c, size - 1));
  return { c: tf.clipByValue(c, 0, size - 1), d: inside.toFloat().mul(scale) };
}

const inRange = (p: Tensor, size: number): Tensor => tf.logicalAnd(tf.greaterEqual(p, 0), tf.lessEqual(p, size - 1)).toFloat();

/** Bilinear factors of one axis: lower corner, fraction, and the two masked weights. */
interface LinearAxis {
  readonly p0: Tensor;
  readonly f: Tensor;
  readonly e: Tensor;
  /** (1 − f)·[p0 in range] and f·[p0 + 1 in range]. */
  readonly a0: Tensor;
  readonly a1: Tensor;
  readonly v0: Tensor;
  readonly v1: Tensor;
}

function linearAxis(c: Tensor, size: number): LinearAxis {
  const p0 = tf.floor(c);
  const f = c.sub(p0);
  const e = tf.sub(1, f);
  const v0 = inRange(p0, size);
  const v1 = inRange(p0.add(1), size);
  return { p0, f, e, a0: e.mul(v0), a1: f.mul(v1), v0, v1 };
}

/** Each sample's batch item, as a row offset into a tensor of `rowsPerItem` rows per item. */
function batchBase(b: number, per: number, rowsPerItem: number): Tensor {
  return tf.tensor1d(Int32Array.from({ length: b * per }, (_, i) => Math.floor(i / per) * rowsPerItem), 'int32');
}

interface BilinearPlan {
  /** Row of the neighbourhood tensor, [N] int32. */
  readonly idx: Tensor;
  /** Corner weights (nw, ne, sw, se), masked, [N, 4]. */
  readonly w: Tensor;
  readonly valid: Tensor;
  readonly x: LinearAxis;
  readonly y: LinearAxis;
  readonly dX: Tensor | number;
  readonly dY: Tensor | number;
}

function splitGrid(grid: Tensor): [Tensor, Tensor] {
  const n = grid.size / 2;
  return tf.unstack(grid.reshape([n, 2]), 1) as [Tensor, Tensor];
}

function bilinearPlan(grid: Tensor, b: number, h: number, w: number, o: Resolved): BilinearPlan {
  const [gx, gy] = splitGrid(grid);
  const px = axisCoord(gx, w, o);
  const py = axisCoord(gy, h, o);
  const x = linearAxis(px.c, w);
  const y = linearAxis(py.c, h);
  // Top-left corner in the neighbourhood tensor, which has a one-pixel zero border:
  // corners at −1 … size−1 are exact; further out the weights are zero and any row will do.
  const per = grid.size / 2 / b;
  const xi = tf.clipByValue(x.p0, -1, w - 1).add(1).toInt();
  const yi = tf.clipByValue(y.p0, -1, h - 1).add(1).toInt();
  const idx = yi.mul(tf.scalar(w + 1, 'int32')).add(xi).add(batchBase(b, per, (h + 1) * (w + 1)));
  const weights = tf.stack([y.a0.mul(x.a0), y.a0.mul(x.a1), y.a1.mul(x.a0), y.a1.mul(x.a1)], 1);
  const valid = tf.stack([y.v0.mul(x.v0), y.v0.mul(x.v1), y.v1.mul(x.v0), y.v1.mul(x.v1)], 1);
  return { idx, w: weights, valid, x, y, dX: px.d, dY: py.d };
}

/** [B, H, W, C] → [B·(H+1)·(W+1), 4C]: row (y, x) holds padded pixels (y, x), (y, x+1), (y+1, x), (y+1, x+1). */
function neighbourhoods(x: Tensor): Tensor {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const p = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const at = (dy: number, dx: number): Tensor => p.slice([0, dy, dx, 0], [b, h + 1, w + 1, c]);
  return tf.concat([at(0, 0), at(0, 1), at(1, 0), at(1, 1)], 3).reshape([b * (h + 1) * (w + 1), 4 * c]);
}

/** The adjoint of `neighbourhoods`: [B·(H+1)·(W+1), 4C] → [B, H, W, C]. */
function neighbourhoodsAdjoint(g: Tensor, b: number, h: number, w: number, c: number): Tensor {
  const parts = tf.split(g.reshape([b, h + 1, w + 1, 4 * c]), 4, 3);
  const place = (t: Tensor, dy: number, dx: number): Tensor => tf.pad(t, [[0, 0], [dy, 1 - dy], [dx, 1 - dx], [0, 0]]);
  const full = tf.addN([place(parts[0]!, 0, 0), place(parts[1]!, 0, 1), place(parts[2]!, 1, 0), place(parts[3]!, 1, 1)]);
  return full.slice([0, 1, 1, 0], [b, h, w, c]);
}

interface NearestPlan {
  readonly idx: Tensor;
  readonly valid: Tensor;
}

function nearestPlan(grid: Tensor, b: number, h: number, w: number, o: Resolved): NearestPlan {
  const [gx, gy] = splitGrid(grid);
  // round() is round-half-to-even, as PyTorch's nearbyint.
  const x = tf.round(axisCoord(gx, w, o).c);
  const y = tf.round(axisCoord(gy, h, o).c);
  const valid = inRange(x, w).mul(inRange(y, h));
  const xi = tf.clipByValue(x, 0, w - 1).toInt();
  const yi = tf.clipByValue(y, 0, h - 1).toInt();
  const idx = yi.mul(tf.scalar(w, 'int32')).add(xi).add(batchBase(b, grid.size / 2 / b, h * w));
  return { idx, valid };
}

function checkInputs(x: Tensor, grid: Tensor): void {
  if (x.rank !== 4) throw new Error(`gridSample: input must be [B, H, W, C], got ${JSON.stringify(x.shape)}`);
  if (grid.rank !== 4 || grid.shape[3] !== 2) throw new Error(`gridSample: grid must be [B, Ho, Wo, 2], got ${JSON.stringify(grid.shape)}`);
  if (grid.shape[0] !== x.shape[0]) throw new Error(`gridSample: grid batch ${grid.shape[0]} differs from input batch ${x.shape[0]}`);
  if (x.dtype !== 'float32' || grid.dtype !== 'float32') throw new Error('gridSample: input and grid must be float32');
}

/**
 * Samples `x` [B, H, W, C] at `grid` [B, Ho, Wo, 2] (x then y, normalised to [-1, 1]) →
 * [B, Ho, Wo, C]. Differentiable in `x` and (bilinear) in `grid`.
 */
export function gridSample(x: Tensor, grid: Tensor, opts: GridSampleOptions = {}): Tensor4D {
  checkInputs(x, grid);
  const o = resolve(opts);
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const [, ho, wo] = grid.shape as [number, number, number, number];
  const n = b * ho * wo;
  const run = tf.customGrad((...args) => {
    const [xi, gi, save] = args as [Tensor, Tensor, (ts: Tensor[]) => void];
    save([xi, gi]);
    if (o.mode === 'nearest') {
      const value = tf.tidy(() => {
        const p = nearestPlan(gi, b, h, w, o);
        return gatherRows(xi.reshape([b * h * w, c]), p.idx).mul(p.valid.reshape([n, 1])).reshape([b, ho, wo, c]);
      });
      const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor[] =>
        tf.tidy(() => {
          const p = nearestPlan(saved[1]!, b, h, w, o);
          const vals = dy.reshape([n, c]).mul(p.valid.reshape([n, 1]));
          return [tf.unsortedSegmentSum(vals, p.idx as Tensor1D, b * h * w).reshape([b, h, w, c]), tf.zerosLike(saved[1]!)];
        });
      return { value, gradFunc };
    }
    const value = tf.tidy(() => {
      const p = bilinearPlan(gi, b, h, w, o);
      const v = gatherRows(neighbourhoods(xi), p.idx).reshape([n, 4, c]);
      return v.mul(p.w.reshape([n, 4, 1])).sum(1).reshape([b, ho, wo, c]);
    });
    const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor[] =>
      tf.tidy(() => {
        const [xs, gs] = saved as [Tensor, Tensor];
        const p = bilinearPlan(gs, b, h, w, o);
        const dyn = dy.reshape([n, 1, c]);
        const spread = dyn.mul(p.w.reshape([n, 4, 1])).reshape([n, 4 * c]);
        const dx = neighbourhoodsAdjoint(tf.unsortedSegmentSum(spread, p.idx as Tensor1D, b * (h + 1) * (w + 1)), b, h, w, c);
        // d out / d cx = (ne − nw)(1 − fy) + (se − sw) fy; d out / d cy = (sw − nw)(1 − fx) + (se − ne) fx,
        // with each corner's value·output gradient summed over channels and masked by its range.
        const v = gatherRows(neighbourhoods(xs), p.idx).reshape([n, 4, c]);
        const [nw, ne, sw, se] = tf.unstack(v.mul(dyn).sum(2).mul(p.valid), 1) as [Tensor, Tensor, Tensor, Tensor];
        const gx = ne.sub(nw).mul(p.y.e).add(se.sub(sw).mul(p.y.f)).mul(p.dX);
        const gy = sw.sub(nw).mul(p.x.e).add(se.sub(ne).mul(p.x.f)).mul(p.dY);
        return [dx, tf.stack([gx, gy], 1).reshape([b, ho, wo, 2])];
      });
    return { value, gradFunc };
  });
  return run(x, grid) as Tensor4D;
}

/**
 * What grid_sample returns for an all-ones input with zero padding: the summed weight of the
 * in-range neighbours, [B, Ho, Wo, 1]. The original models threshold it into a validity mask.
 * Carries no gradient (the originals overwrite every element of it in place).
 */
export function gridCoverage(grid: Tensor, size: readonly [number, number], opts: Omit<GridSampleOptions, 'paddingMode'> = {}): Tensor4D {
  if (grid.rank !== 4 || grid.shape[3] !== 2) throw new Error(`gridCoverage: grid must be [B, Ho, Wo, 2], got ${JSON.stringify(grid.shape)}`);
  const o = resolve({ ...opts, paddingMode: 'zeros' });
  const [b, ho, wo] = grid.shape as [number, number, number, number];
  return noGrad((g) => {
    let cov: Tensor;
    if (o.mode === 'nearest') cov = nearestPlan(g, b, size[0], size[1], o).valid;
    else {
      // The masked weights factor per axis: Σ corners = (x0 + x1 weights)·(y0 + y1 weights).
      const [gx, gy] = splitGrid(g);
      const x = linearAxis(axisCoord(gx, size[1], o).c, size[1]);
      const y = linearAxis(axisCoord(gy, size[0], o).c, size[0]);
      cov = x.a0.add(x.a1).mul(y.a0.add(y.a1));
    }
    return cov.reshape([b, ho, wo, 1]);
  }, grid) as Tensor4D;
}
