// Shapes and channel layouts shared by the deformable-convolution samplers.
//
// Sampling points are ordered (b, y, x, group, tap) — the order of torchvision's offset and
// mask channels (offset channel 2(g·K + k) is Δy and 2(g·K + k) + 1 is Δx of group g, tap
// k = i·kw + j; mask channel g·K + k) — so offsets, masks and their gradients need no
// transposes. The im2col columns follow the same order: (group, tap, channel within group).
import { tf } from '../../runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';

export interface DeformGeometry {
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly deformableGroups: number;
}

/** Output size along one axis, as PyTorch's convolutions compute it. */
export function convOutSize(size: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** Number of sampling points B·Ho·Wo·G·K. */
export function pointCount(g: DeformGeometry): number {
  return g.batch * g.outHeight * g.outWidth * g.deformableGroups * g.kernel[0] * g.kernel[1];
}

/** Undeformed (y, x) of every (output pixel, tap): `[1, Ho, Wo, 1, K, 2]`, `(o·s − p + i·d, o'·s − p + j·d)`. */
function baseGrid(g: DeformGeometry): Tensor {
  const { outHeight: ho, outWidth: wo } = g;
  const [kh, kw] = g.kernel;
  const k = kh * kw;
  const v = new Float32Array(ho * wo * k * 2);
  for (let y = 0; y < ho; y++)
    for (let x = 0; x < wo; x++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          const at = ((y * wo + x) * k + i * kw + j) * 2;
          v[at] = y * g.stride[0] - g.padding[0] + i * g.dilation[0];
          v[at + 1] = x * g.stride[1] - g.padding[1] + j * g.dilation[1];
        }
  return tf.tensor(v, [1, ho, wo, 1, k, 2]);
}

/** Sampling coordinates `[M, 2]` (y, x) in input pixels: base grid plus offsets. */
export function samplingPoints(offset: Tensor, g: DeformGeometry): Tensor {
  const k = g.kernel[0] * g.kernel[1];
  return tf.add(offset.reshape([g.batch, g.outHeight, g.outWidth, g.deformableGroups, k, 2]), baseGrid(g)).reshape([pointCount(g), 2]);
}

/** 1 for points strictly inside (−1, H) × (−1, W), else 0, as float `[M]`. */
export function insideMask(points: Tensor, g: DeformGeometry): Tensor {
  const upper = tf.tensor1d([g.height, g.width]);
  return tf.cast(tf.all(tf.logicalAnd(tf.greater(points, -1), tf.less(points, upper)), 1), 'float32');
}
