// Explicit zero padding of NHWC tensors, shared by the convolutions (conv.ts) and their
// native-backend kernels (conv-native.ts).
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';

/** `[top, bottom, left, right]` zero padding. */
export type Pads = readonly [number, number, number, number];

export const isZeroPads = (p: Pads): boolean => p.every((v) => v === 0);

/** `x` (NHWC) zero-padded by `p` along H and W; `x` itself when there is nothing to pad. */
export function padNhwc<T extends Tensor>(x: T, p: Pads): T {
  return isZeroPads(p) ? x : tf.pad(x, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]]);
}
