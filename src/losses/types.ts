import type { Scalar, Tensor } from '@tensorflow/tfjs';

/**
 * A loss: ground truth first, prediction second (the original's argument order), returning a
 * scalar. Implementations run inside `tf.tidy`, so only the returned scalar survives.
 */
export type Loss = (gt: Tensor, pred: Tensor) => Scalar;

/** Throws unless both tensors have the same shape (no silent broadcasting in a loss). */
export function assertSameShape(what: string, gt: Tensor, pred: Tensor): void {
  const a = gt.shape;
  const b = pred.shape;
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new Error(`${what}: ground truth has shape [${a.join(',')}] but prediction has shape [${b.join(',')}]`);
  }
}
