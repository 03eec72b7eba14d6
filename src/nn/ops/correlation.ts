// Correlation (cost-volume) layers of the flow networks, on NHWC features.
//
//   costVolume(f1, f2, r)[b, y, x, (dy + r)·(2r + 1) + (dx + r)]
//     = (1/C) Σ_c f1[b, y, x, c] · f2[b, y + dy, x + dx, c],   dy, dx ∈ [−r, r], f2 zero outside.
//
// PWC-Net's layer is r = 4 (81 channels). LiteFlowNet's layer with stride s reads f1 at
// (y·s, x·s) and f2 at displacements that are multiples of s, r = 3 (49 channels) at
// ceil(h/s) × ceil(w/s): exactly costVolume(f1[::s, ::s], f2[::s, ::s], 3), since a zero-padded
// f2 read at (y + dy)·s is the subsampled f2 read at y + dy. Neither includes the LeakyReLU the
// models apply afterwards.
//
// Computed as matrix products: the 2r+1 row-shifted copies of the zero-padded f2 are built
// at once (tiling a row of length L k+1 times and re-reading it with row length L+1 shifts row
// j by j: a "shift stack"), then for every (b, dy, y) one batched product of f1's row [w, C]
// with the shifted f2 row [w + 2r, C]ᵀ gives all dot products of that row pair, and the 2r+1
// diagonals x → x + dx are read off by re-reading the product with a stride one longer. This
// holds (2r+1)·f2 plus the [w, w + 2r] products, not (2r+1)² shifted copies, and the channel
// sums run in the matrix-product kernel. The gradient is hand-written, so that neither the
// shifted rows nor the products are kept for the backward pass (the rows are rebuilt there):
// the output gradient is placed back on the diagonals (G), then d f1 = Σ_dy G·rows and
// d rows = Gᵀ·f1, folded back through the shift stack's adjoint (pad, re-read, sum).
import { tf, isNative } from '../../runtime/index.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';

/** [P, L, Q] → [P, k, n, Q] with out[p, j, i, q] = x[p, i + j, q]; needs L = n + k − 1. */
function shiftStack(x: Tensor, k: number, n: number): Tensor {
  const [p, l, q] = x.shape as [number, number, number];
  const tiled = tf.tile(x, [1, k + 1, 1]);
  return tiled.slice([0, 0, 0], [p, k * (l + 1), q]).reshape([p, k, l + 1, q]).slice([0, 0, 0, 0], [p, k, n, q]);
}

/** The adjoint of shiftStack: [P, k, n, Q] → [P, L, Q], summing every read of x[p, i'] back. */
function shiftStackAdjoint(y: Tensor, l: number): Tensor {
  const [p, k, n, q] = y.shape as [number, number, number, number];
  const rows = tf.pad(y, [[0, 0], [0, 0], [0, l + 1 - n], [0, 0]]).reshape([p, k * (l + 1), q]);
  return tf.pad(rows, [[0, 0], [0, (k + 1) * l - k * (l + 1)], [0, 0]]).reshape([p, k + 1, l, q]).sum(1);
}

/**
 * f1 [B, h, w, C] as the batched-matmul operand against K row bands: [B, 1, h, w, C], which
 * TensorFlow's BatchMatMulV2 broadcasts; tfjs's pure-JS kernel flattens batch dimensions before
 * broadcasting, so there it is tiled to [B, K, h, w, C].
 */
function perBand(f1: Tensor, k: number): Tensor {
  const [b, h, w, c] = f1.shape as [number, number, number, number];
  const t = f1.reshape([b, 1, h, w, c]);
  return isNative() ? t : tf.tile(t, [1, k, 1, 1, 1]);
}

/** The K row-shifted copies of zero-padded f2, [B, K, h, w + 2r, C] (dy-major). */
function shiftedRows(f2: Tensor, r: number): Tensor {
  const [b, h, w, c] = f2.shape as [number, number, number, number];
  const k = 2 * r + 1;
  const wp = w + 2 * r;
  const padded = tf.pad(f2, [[0, 0], [r, r], [r, r], [0, 0]]).reshape([b, h + 2 * r, wp * c]);
  return shiftStack(padded, k, h).reshape([b, k, h, wp, c]);
}

/**
 * [R, n, n + k − 1] → [R, n, k], out[., x, j] = m[., x, x + j]: the k diagonals of each row
 * block, read by re-reading the flattened rows with a stride one longer.
 */
function diagonals(m: Tensor, k: number): Tensor {
  const [rr, n, l] = m.shape as [number, number, number];
  const flat = tf.pad(m.reshape([rr, n * l]), [[0, 0], [0, n]]);
  return flat.reshape([rr, n, l + 1]).slice([0, 0, 0], [rr, n, k]);
}

/** The adjoint of `diagonals`: [R, n, k] → [R, n, l], zero off the diagonals. */
function diagonalsAdjoint(d: Tensor, l: number): Tensor {
  const [rr, n, k] = d.shape as [number, number, number];
  const rows = tf.pad(d, [[0, 0], [0, 0], [0, l + 1 - k]]).reshape([rr, n * (l + 1)]);
  return rows.slice([0, 0], [rr, n * l]).reshape([rr, n, l]);
}

function checkPair(f1: Tensor, f2: Tensor, what: string): void {
  if (f1.rank !== 4 || f2.rank !== 4) throw new Error(`${what}: features must be [B, H, W, C], got ${JSON.stringify(f1.shape)} and ${JSON.stringify(f2.shape)}`);
  if (!f1.shape.every((d, i) => d === f2.shape[i])) throw new Error(`${what}: feature shapes differ: ${JSON.stringify(f1.shape)} vs ${JSON.stringify(f2.shape)}`);
}

/** The cost volume above, [B, H, W, (2r+1)²], differentiable in both inputs. */
export function costVolume(f1: Tensor, f2: Tensor, maxDisplacement: number): Tensor4D {
  checkPair(f1, f2, 'costVolume');
  const r = maxDisplacement;
  if (!Number.isInteger(r) || r < 0) throw new Error(`costVolume: max displacement must be a non-negative integer, got ${r}`);
  const [b, h, w, c] = f1.shape as [number, number, number, number];
  const k = 2 * r + 1;
  const wp = w + 2 * r;
  const hp = h + 2 * r;
  const run = tf.customGrad((...args) => {
    const [a, bb, save] = args as [Tensor, Tensor, (ts: Tensor[]) => void];
    save([a, bb]);
    const value = tf.tidy(() => {
      // For each (b, dy, y): f1's row [w, C] times the shifted f2 row [w + 2r, C]ᵀ, then the
      // K diagonals x → x + dx of that [w, w + 2r] product.
      const rows = shiftedRows(bb, r);
      const prod = tf.matMul(perBand(a, k), rows, false, true); // [B, K, h, w, wp]
      const corr = diagonals(prod.reshape([b * k * h, w, wp]), k).div(c); // [B·K·h, w, K]
      return corr.reshape([b, k, h, w, k]).transpose([0, 2, 3, 1, 4]).reshape([b, h, w, k * k]);
    });
    const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor[] =>
      tf.tidy(() => {
        const [s1, s2] = saved as [Tensor, Tensor];
        // The output gradient placed on the diagonals of the products, [B, K, h, w, wp].
        const g = dy.reshape([b, h, w, k, k]).transpose([0, 3, 1, 2, 4]).div(c).reshape([b * k * h, w, k]);
        const gm = diagonalsAdjoint(g, wp).reshape([b, k, h, w, wp]);
        const rows = shiftedRows(s2, r);
        const d1 = tf.matMul(gm, rows).sum(1); // [B, h, w, C]
        const dRows = tf.matMul(gm, perBand(s1, k), true, false); // [B, K, h, wp, C]
        const d2p = shiftStackAdjoint(dRows.reshape([b, k, h, wp * c]), hp).reshape([b, hp, wp, c]);
        return [d1, d2p.slice([0, r, r, 0], [b, h, w, c])];
      });
    return { value, gradFunc };
  });
  return run(f1, f2) as Tensor4D;
}

/** PWC-Net's correlation: max displacement 4, stride 1 → 81 channels (no activation). */
export function pwcCorrelation(f1: Tensor, f2: Tensor): Tensor4D {
  checkPair(f1, f2, 'pwcCorrelation');
  return costVolume(f1, f2, 4);
}

/** x[:, ::s, ::s, :] with a gradient (pad to a multiple of s, regroup, take offset 0). */
export function subsample(x: Tensor, s: number): Tensor4D {
  if (!Number.isInteger(s) || s < 1) throw new Error(`subsample: stride must be a positive integer, got ${s}`);
  if (x.rank !== 4) throw new Error(`subsample: input must be [B, H, W, C], got ${JSON.stringify(x.shape)}`);
  if (s === 1) return x.clone() as Tensor4D;
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const ho = Math.ceil(h / s);
  const wo = Math.ceil(w / s);
  return tf.tidy(() => {
    const p = tf.pad(x, [[0, 0], [0, ho * s - h], [0, wo * s - w], [0, 0]]);
    return p.reshape([b * ho, s, wo, s * c]).slice([0, 0, 0, 0], [b * ho, 1, wo, c]).reshape([b, ho, wo, c]) as Tensor4D;
  });
}

/**
 * LiteFlowNet's correlation with displacement stride `stride`: 7×7 displacements of
 * ±3·stride, output [B, ceil(H/stride), ceil(W/stride), 49] (no activation).
 */
export function liteFlowNetCorrelation(f1: Tensor, f2: Tensor, stride: number): Tensor4D {
  checkPair(f1, f2, 'liteFlowNetCorrelation');
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`liteFlowNetCorrelation: stride must be a positive integer, got ${stride}`);
  if (stride === 1) return costVolume(f1, f2, 3);
  return tf.tidy(() => costVolume(subsample(f1, stride), subsample(f2, stride), 3));
}
