// PVDNet's pixel volume: for every pixel, the k×k grayscale neighbourhood of the
// previous deblurred frame around the flow-displaced position, with neighbours on or beyond the
// image border replaced by the current blurry frame. Channel (i + r)·k + (j + r), for an x offset
// i and a y offset j in −r..r (r = (k − 1)/2), at output pixel (y, x), with (y′, x′) = (y − j, x − i):
//
//   X = trunc(x′ + flow_x(y′, x′)) + i,   Y = trunc(y′ + flow_y(y′, x′)) + j   (toward zero)
//   M = [X < 1 or X > W − 2 or Y < 1 or Y > H − 2]
//   out = gray_prev[clamp(Y), clamp(X)]·(1 − M) + gray_fill(y, x)·M,
//
// and 0 where (y′, x′) lies outside the image (the original computes each channel at (y′, x′) and
// then shifts it by (j, i) with zero fill). Grayscale is 0.2989 R + 0.5870 G + 0.1140 B.
//
// The output is piecewise linear in `prev` and `fill` and has their gradients (a segment sum of
// the gathered reads, and the masked output gradient); the flow enters only through the
// truncation, so, as in the original, its gradient is zero.
import { tf } from '../../runtime/index.ts';
import { gatherRows } from '../native.ts';
import type { Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs';

/** The original's luma weights (R, G, B). */
export const GRAY_WEIGHTS = [0.2989, 0.587, 0.114] as const;

/** [B, H, W, 3] → [B, H, W, 1] with GRAY_WEIGHTS. */
export function grayscale(x: Tensor): Tensor4D {
  if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`grayscale: expected [B, H, W, 3], got ${JSON.stringify(x.shape)}`);
  return tf.tidy(() => {
    const [r, g, b] = tf.split(x, 3, 3) as [Tensor, Tensor, Tensor];
    return r.mul(GRAY_WEIGHTS[0]).add(g.mul(GRAY_WEIGHTS[1])).add(b.mul(GRAY_WEIGHTS[2])) as Tensor4D;
  });
}

/** Per output position and channel: 1 where the shifted source pixel (y − j, x − i) is inside. */
function shiftValidity(h: number, w: number, k: number): Float32Array {
  const r = (k - 1) / 2;
  const out = new Float32Array(h * w * k * k);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let i = -r; i <= r; i++) {
        for (let j = -r; j <= r; j++) {
          const ys = y - j;
          const xs = x - i;
          out[(y * w + x) * k * k + (i + r) * k + (j + r)] = ys >= 0 && ys < h && xs >= 0 && xs < w ? 1 : 0;
        }
      }
    }
  }
  return out;
}

/** The pixel coordinates (x, y) of every position, [B, H, W, 2]. */
function coordinates(b: number, h: number, w: number): Tensor {
  const d = new Float32Array(b * h * w * 2);
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = ((n * h + y) * w + x) * 2;
        d[o] = x;
        d[o + 1] = y;
      }
    }
  }
  return tf.tensor(d, [b, h, w, 2]);
}

interface Plan {
  /** Flat gather indices into the [B·H·W] grayscale image, [B, H, W, k²] int32. */
  readonly idx: Tensor;
  /** Weight of the gathered value: (1 − M)·valid, [B, H, W, k²]. */
  readonly keep: Tensor;
  /** Weight of the fill value: M·valid, [B, H, W, k²]. */
  readonly fillW: Tensor;
}

function plan(flow: Tensor, k: number): Plan {
  const [b, h, w] = flow.shape as [number, number, number, number];
  const r = (k - 1) / 2;
  return tf.tidy(() => {
    // Absolute target coordinates, truncated toward zero (a float → int cast).
    const t = tf.cast(coordinates(b, h, w).add(flow), 'int32');
    const [tx, ty] = tf.split(t, 2, 3) as [Tensor, Tensor];
    const padded = (v: Tensor): Tensor => tf.pad(v, [[0, 0], [r, r], [r, r], [0, 0]]);
    const txp = padded(tx);
    const typ = padded(ty);
    const xs: Tensor[] = [];
    const ys: Tensor[] = [];
    for (let i = -r; i <= r; i++) {
      for (let j = -r; j <= r; j++) {
        // The value at (y, x) comes from the source pixel (y − j, x − i).
        xs.push(txp.slice([0, r - j, r - i, 0], [b, h, w, 1]).add(tf.scalar(i, 'int32')));
        ys.push(typ.slice([0, r - j, r - i, 0], [b, h, w, 1]).add(tf.scalar(j, 'int32')));
      }
    }
    const sx = tf.concat(xs, 3);
    const sy = tf.concat(ys, 3);
    const border = tf
      .less(sx, 1)
      .logicalOr(tf.greater(sx, w - 2))
      .logicalOr(tf.less(sy, 1))
      .logicalOr(tf.greater(sy, h - 2))
      .toFloat();
    const valid = tf.tensor(shiftValidity(h, w, k), [1, h, w, k * k]);
    const fillW = border.mul(valid);
    const keep = valid.sub(fillW);
    const batchBase = tf.tensor1d(Int32Array.from({ length: b }, (_, n) => n * h * w), 'int32').reshape([b, 1, 1, 1]);
    const idx = tf.clipByValue(sy, 0, h - 1).mul(tf.scalar(w, 'int32')).add(tf.clipByValue(sx, 0, w - 1)).add(batchBase);
    return { idx, keep, fillW };
  });
}

/**
 * The pixel volume of `prev` [B, H, W, 3] read at the positions displaced by `flow`
 * [B, H, W, 2] (x, y pixels), with `fill` [B, H, W, 3] (the current blurry frame) at the border:
 * [B, H, W, k²]. `ksize` odd and positive. Differentiable in `prev` and `fill`; zero gradient
 * for `flow`.
 */
export function pixelVolume(prev: Tensor, flow: Tensor, fill: Tensor, ksize: number): Tensor4D {
  if (!Number.isInteger(ksize) || ksize < 1 || ksize % 2 !== 1) throw new Error(`pixelVolume: ksize must be an odd positive integer, got ${ksize}`);
  if (prev.rank !== 4 || prev.shape[3] !== 3) throw new Error(`pixelVolume: prev must be [B, H, W, 3], got ${JSON.stringify(prev.shape)}`);
  const [b, h, w] = prev.shape as [number, number, number, number];
  if (!prev.shape.every((d, i) => d === fill.shape[i]) || fill.rank !== 4) throw new Error(`pixelVolume: fill ${JSON.stringify(fill.shape)} must match prev ${JSON.stringify(prev.shape)}`);
  if (flow.rank !== 4 || flow.shape[0] !== b || flow.shape[1] !== h || flow.shape[2] !== w || flow.shape[3] !== 2) {
    throw new Error(`pixelVolume: flow must be [${b}, ${h}, ${w}, 2], got ${JSON.stringify(flow.shape)}`);
  }
  const k2 = ksize * ksize;
  // One custom-gradient op on the grayscale images: no integer or comparison op is on the tape.
  const core = tf.customGrad((...args) => {
    const [gPrev, gFill, fl, save] = args as [Tensor, Tensor, Tensor, (ts: Tensor[]) => void];
    const p = plan(fl, ksize);
    save([p.idx, p.keep, p.fillW]);
    const value = tf.tidy(() => {
      const gathered = gatherRows(gPrev.reshape([b * h * w]), p.idx.reshape([-1])).reshape([b, h, w, k2]);
      return gathered.mul(p.keep).add(gFill.mul(p.fillW));
    });
    const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor[] =>
      tf.tidy(() => {
        const [idx, keep, fillW] = saved as [Tensor, Tensor, Tensor];
        const dPrev = tf.unsortedSegmentSum(dy.mul(keep).reshape([-1]), idx.reshape([-1]) as Tensor1D, b * h * w).reshape([b, h, w, 1]);
        const dFill = dy.mul(fillW).sum(3, true);
        return [dPrev, dFill, tf.zeros([b, h, w, 2])];
      });
    return { value, gradFunc };
  });
  return tf.tidy(() => core(grayscale(prev), grayscale(fill), flow) as Tensor4D);
}
