import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';

/** Checks two NHWC image batches of equal shape and returns them clamped to [0, 1]. Call inside tidy. */
export function clampedPair(what: string, gt: Tensor, out: Tensor): [Tensor4D, Tensor4D] {
  if (gt.rank !== 4) throw new Error(`${what}: expected NHWC [B,H,W,C] images, got shape [${gt.shape.join(',')}]`);
  if (gt.shape.some((d, i) => d !== out.shape[i]) || out.rank !== 4) {
    throw new Error(`${what}: ground truth has shape [${gt.shape.join(',')}] but output has shape [${out.shape.join(',')}]`);
  }
  return [tf.clipByValue(gt, 0, 1) as Tensor4D, tf.clipByValue(out, 0, 1) as Tensor4D];
}
