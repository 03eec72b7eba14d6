// The deformable im2col from gathers, for every backend: for each sampling point the four
// bilinear neighbours are gathered as rows of the input viewed as `[B·H·W·G, C/G]`, weighted
// and summed; the input gradient scatters back with unsortedSegmentSum.
//
// Boundary rule (torchvision's deform_conv2d, and the DCNv2 CUDA kernels the original trains
// with): a point (h, w) with h ≤ −1, h ≥ H, w ≤ −1 or w ≥ W samples 0 and has zero gradient;
// otherwise each of the four neighbours (⌊h⌋ or ⌊h⌋+1, ⌊w⌋ or ⌊w⌋+1) outside the image
// contributes 0. Invalid neighbours read row 0 with weight 0.
import { tf } from '../../runtime/index.ts';
import type { Tensor, Tensor1D } from '@tensorflow/tfjs';
import { gatherRows } from '../native.ts';
import { insideMask, pointCount, samplingPoints } from './deform-layout.ts';
import type { DeformGeometry } from './deform-layout.ts';

/** Per sampling point (rows), per corner (columns, order y0x0, y0x1, y1x0, y1x1). */
interface SamplePlan {
  /** int32 `[M·4]`: rows of the `[B·H·W·G, C/G]` input view. */
  readonly index: Tensor;
  /** `[M, 4]`: bilinear weight × validity. */
  readonly weight: Tensor;
  /** `[M, 4]`: ∂weight/∂y and ∂weight/∂x (validity held fixed). */
  readonly dWeightDy: Tensor;
  readonly dWeightDx: Tensor;
}

/** The plan for sampling points `[M, 2]`. Not differentiable itself; call inside a tidy. */
function samplePlan(points: Tensor, g: DeformGeometry): SamplePlan {
  const { batch: b, height: h, width: w, outHeight: ho, outWidth: wo, deformableGroups: G } = g;
  const k = g.kernel[0] * g.kernel[1];
  const m = pointCount(g);
  const [py, px] = tf.split(points, 2, 1) as [Tensor, Tensor];
  // The corner axis (last, size 4) broadcasts against per-point columns [M, 1].
  const y0f = tf.floor(py);
  const x0f = tf.floor(px);
  const ly = tf.sub(py, y0f);
  const lx = tf.sub(px, x0f);
  // Bilinear weights: 1 − l for the low corner, l for the high one, written as a + s·l.
  const sy = tf.tensor1d([-1, -1, 1, 1]);
  const sx = tf.tensor1d([-1, 1, -1, 1]);
  const wy = tf.add(tf.tensor1d([1, 1, 0, 0]), tf.mul(sy, ly));
  const wx = tf.add(tf.tensor1d([1, 0, 1, 0]), tf.mul(sx, lx));
  const yc = tf.add(tf.cast(y0f, 'int32'), tf.tensor1d([0, 0, 1, 1], 'int32'));
  const xc = tf.add(tf.cast(x0f, 'int32'), tf.tensor1d([0, 1, 0, 1], 'int32'));
  const between = (v: Tensor, n: number): Tensor => tf.logicalAnd(tf.greaterEqual(v, 0), tf.less(v, n));
  const inside = tf.cast(insideMask(points, g), 'bool').reshape([m, 1]);
  const okB = tf.logicalAnd(inside, tf.logicalAnd(between(yc, h), between(xc, w)));
  const ok = tf.cast(okB, 'float32');
  // Row (b·H·W + y·W + x)·G + group; integer scalars, as a plain number would promote to float.
  const int = (v: number): Tensor => tf.scalar(v, 'int32');
  const bg = tf.tensor(Int32Array.from({ length: b * G }, (_, i) => Math.floor(i / G) * h * w * G + (i % G)), [b, 1, 1, G, 1, 1], 'int32');
  const pix = tf.mul(tf.add(tf.mul(yc, int(w)), xc), int(G)).reshape([b, ho, wo, G, k, 4]);
  const index = tf.mul(tf.add(pix, bg).reshape([m, 4]), tf.cast(okB, 'int32')).reshape([m * 4]);
  const wxOk = tf.mul(wx, ok);
  return { index, weight: tf.mul(wy, wxOk), dWeightDy: tf.mul(sy, wxOk), dWeightDx: tf.mul(tf.mul(wy, ok), sx) };
}

type Save = (ts: Tensor[]) => void;

/** The im2col `[B, Ho, Wo, G·K·C/G]` as a custom-gradient op of (x, offset[, mask]). */
export function gatherSampler(g: DeformGeometry, channels: number, masked: boolean): (...inputs: Tensor[]) => Tensor {
  const { batch: b, height: h, width: w, outHeight: ho, outWidth: wo, deformableGroups: G } = g;
  const cg = channels / G;
  const m = pointCount(g);
  const rows = b * h * w * G;
  const prepare = (xi: Tensor, oi: Tensor, mi: Tensor | undefined) => {
    const plan = samplePlan(samplingPoints(oi, g), g);
    const mp = mi === undefined ? null : mi.reshape([m, 1]);
    const coef = mp === null ? plan.weight : tf.mul(plan.weight, mp);
    const vals = gatherRows(xi.reshape([rows, cg]), plan.index).reshape([m, 4, cg]);
    return { plan, mp, coef, vals };
  };
  return tf.customGrad((...args) => {
    const save = args[args.length - 1] as unknown as Save;
    const [xi, oi, mi] = args as Tensor[] as [Tensor, Tensor, Tensor | undefined];
    save(masked ? [xi, oi, mi!] : [xi, oi]);
    const value = tf.tidy(() => {
      const { coef, vals } = prepare(xi, oi, masked ? mi : undefined);
      return tf.sum(tf.mul(vals, coef.reshape([m, 4, 1])), 1).reshape([b, ho, wo, channels * g.kernel[0] * g.kernel[1]]);
    });
    const gradFunc = (dcols: Tensor, saved: Tensor[]): Tensor[] =>
      tf.tidy(() => {
        const [xs, os, ms] = saved as [Tensor, Tensor, Tensor | undefined];
        const { plan, mp, coef, vals } = prepare(xs, os, ms);
        const dc = dcols.reshape([m, 1, cg]);
        // Per corner, Σ_c dcols·x: all that the offset and mask gradients need.
        const perCorner = tf.sum(tf.mul(vals, dc), 2);
        const dx = tf.unsortedSegmentSum(tf.mul(dc, coef.reshape([m, 4, 1])).reshape([m * 4, cg]), plan.index as Tensor1D, rows).reshape(xs.shape);
        let dpoint = tf.stack([tf.sum(tf.mul(plan.dWeightDy, perCorner), 1), tf.sum(tf.mul(plan.dWeightDx, perCorner), 1)], 1);
        if (mp !== null) dpoint = tf.mul(dpoint, mp);
        const doffset = dpoint.reshape(os.shape);
        if (mp === null) return [dx, doffset];
        return [dx, doffset, tf.sum(tf.mul(plan.weight, perCorner), 1).reshape(ms!.shape)];
      });
    return { value, gradFunc };
  }) as (...inputs: Tensor[]) => Tensor;
}
