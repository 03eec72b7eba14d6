// The deformable im2col on the native backend, built from TensorFlow's CropAndResize family.
//
// CropAndResize with a 1×1 crop samples every channel of one image bilinearly at one point
// (a zero-height box), in parallel over points; CropAndResizeGradImage scatters a gradient
// back with the same weights. Both leave points outside [0, size−1] at 0 but, unlike
// torchvision, give no partial weight to points within one pixel outside the image. Sampling
// a copy of the input padded with one zero pixel on every side, at (y+1, x+1), reproduces
// torchvision's rule exactly: a point in (−1, H) keeps the in-image neighbours' weights and
// reads zeros for the others, and a point at or beyond −1 or H reads only zeros.
//
// Each deformable group's channels form one image (batch b·G + g), so a point samples only
// its own group's channels. The offset gradient is not taken from CropAndResizeGradBoxes,
// which differentiates ceil(y) − floor(y) and so returns 0 at integer coordinates (every
// point, when offsets are 0 as at initialisation). It uses the exact derivative instead:
// ∂S/∂y is the x-interpolation of the row difference X[⌊y⌋+1] − X[⌊y⌋], i.e. a sample of the
// row-difference image at (⌊y⌋, x); likewise for x.
import { tf } from '../../runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { attr, int32, op } from '../native.ts';
import { insideMask, pointCount, samplingPoints } from './deform-layout.ts';
import type { DeformGeometry } from './deform-layout.ts';

type Save = (ts: Tensor[]) => void;

/**
 * Zero-height boxes `[M, 4]` at pixel coordinates `yx` `[M, 2]` of an image of size h × w, in
 * CropAndResize's normalised coordinates (y / (h−1), x / (w−1)), as (y, x, y, x): one small
 * matrix product (TensorFlow's Tile and Concat are slower on these long, narrow tensors).
 */
function boxes(yx: Tensor, h: number, w: number): Tensor {
  const sy = 1 / (h - 1);
  const sx = 1 / (w - 1);
  return tf.matMul(yx, tf.tensor2d([sy, 0, sy, 0, 0, sx, 0, sx], [2, 4]));
}

/** Bilinear samples `[M, C]` of `img` `[N, h, w, C]` at boxes `[M, 4]` of images `imgIdx` `[M]`. */
function sample(img: Tensor, box: Tensor, imgIdx: Tensor): Tensor {
  const size = int32([1, 1]);
  const s = op('CropAndResize', [attr.float32('T'), attr.string('method', 'bilinear'), attr.float('extrapolation_value', 0)], [img, box, imgIdx, size]);
  size.dispose();
  return s.reshape([box.shape[0]!, img.shape[3]!]);
}

/** `[B, H, W, G·Cg]` -> `[B·G, H+2, W+2, Cg]`: one zero-bordered image per (batch, group). */
function groupImages(x: Tensor, g: DeformGeometry): Tensor {
  const { batch: b, height: h, width: w, deformableGroups: G } = g;
  const cg = x.shape[3]! / G;
  const t = G === 1 ? x : x.reshape([b, h, w, G, cg]).transpose([0, 3, 1, 2, 4]).reshape([b * G, h, w, cg]);
  return tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]]);
}

/** The inverse of groupImages for a gradient: drop the border, regroup channels. */
function ungroupImages(img: Tensor, g: DeformGeometry): Tensor {
  const { batch: b, height: h, width: w, deformableGroups: G } = g;
  const cg = img.shape[3]!;
  const t = tf.slice(img, [0, 1, 1, 0], [b * G, h, w, cg]);
  return G === 1 ? t : t.reshape([b, G, h, w, cg]).transpose([0, 2, 3, 1, 4]).reshape([b, h, w, G * cg]);
}

/** int32 `[M]`: the image b·G + g of every point (written directly: TensorFlow's Tile is slow here). */
function imageIndex(g: DeformGeometry): Tensor {
  const { batch: b, outHeight: ho, outWidth: wo, deformableGroups: G } = g;
  const k = g.kernel[0] * g.kernel[1];
  const idx = new Int32Array(pointCount(g));
  const perImage = ho * wo;
  let at = 0;
  for (let bi = 0; bi < b; bi++) for (let p = 0; p < perImage; p++) for (let gi = 0; gi < G; gi++) idx.fill(bi * G + gi, at, (at += k));
  return tf.tensor1d(idx, 'int32');
}

/**
 * The im2col `[B, Ho, Wo, G·K·C/G]` as a custom-gradient op of (x, offset[, mask]), native
 * backend only.
 */
export function cropSampler(g: DeformGeometry, channels: number, masked: boolean): (...inputs: Tensor[]) => Tensor {
  const { batch: b, height: h, width: w, outHeight: ho, outWidth: wo, deformableGroups: G } = g;
  const k = g.kernel[0] * g.kernel[1];
  const cg = channels / G;
  const m = pointCount(g);
  return tf.customGrad((...args) => {
    const save = args[args.length - 1] as unknown as Save;
    const [xi, oi, mi] = args as Tensor[] as [Tensor, Tensor, Tensor | undefined];
    save(masked ? [xi, oi, mi!] : [xi, oi]);
    const value = tf.tidy(() => {
      // Coordinates in the padded image are one more than in the input.
      const s = sample(groupImages(xi, g), boxes(tf.add(samplingPoints(oi, g), 1), h + 2, w + 2), imageIndex(g));
      const cols = masked ? tf.mul(s, mi!.reshape([m, 1])) : s;
      return cols.reshape([b, ho, wo, k * channels]);
    });
    const gradFunc = (dcols: Tensor, saved: Tensor[]): Tensor[] =>
      tf.tidy(() => {
        const [xs, os, ms] = saved as [Tensor, Tensor, Tensor | undefined];
        const img = groupImages(xs, g);
        const pts = samplingPoints(os, g);
        const padded = tf.add(pts, 1);
        const box = boxes(padded, h + 2, w + 2);
        const imgIdx = imageIndex(g);
        const dc = dcols.reshape([m, cg]);
        const mp = ms === undefined ? null : ms.reshape([m, 1]);
        const ds = mp === null ? dc : tf.mul(dc, mp);
        const size = int32(img.shape);
        const dimg = op('CropAndResizeGradImage', [attr.float32('T'), attr.string('method', 'bilinear')], [ds.reshape([m, 1, 1, cg]), box, imgIdx, size]);
        const dx = ungroupImages(dimg, g);
        // Row and column differences of the padded image, sampled at (⌊y⌋, x) and (y, ⌊x⌋).
        const fl = tf.floor(padded);
        const rowPts = tf.add(padded, tf.mul(tf.sub(fl, padded), tf.tensor1d([1, 0])));
        const colPts = tf.add(padded, tf.mul(tf.sub(fl, padded), tf.tensor1d([0, 1])));
        const rowDiff = tf.sub(tf.slice(img, [0, 1, 0, 0], [b * G, h + 1, w + 2, cg]), tf.slice(img, [0, 0, 0, 0], [b * G, h + 1, w + 2, cg]));
        const colDiff = tf.sub(tf.slice(img, [0, 0, 1, 0], [b * G, h + 2, w + 1, cg]), tf.slice(img, [0, 0, 0, 0], [b * G, h + 2, w + 1, cg]));
        const dSdy = sample(rowDiff, boxes(rowPts, h + 1, w + 2), imgIdx);
        const dSdx = sample(colDiff, boxes(colPts, h + 2, w + 1), imgIdx);
        // Points at or beyond −1 or H (W) sample 0 whatever their offset: zero gradient.
        const inside = insideMask(pts, g).reshape([m, 1]);
        const dpts = tf.mul(tf.stack([tf.sum(tf.mul(ds, dSdy), 1), tf.sum(tf.mul(ds, dSdx), 1)], 1), inside);
        const doffset = dpts.reshape(os.shape);
        if (ms === undefined) return [dx, doffset];
        const dmask = tf.sum(tf.mul(dc, sample(img, box, imgIdx)), 1).reshape(ms.shape);
        return [dx, doffset, dmask];
      });
    return { value, gradFunc };
  }) as (...inputs: Tensor[]) => Tensor;
}
