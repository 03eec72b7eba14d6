import type { Scalar, Tensor } from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.ts';

/**
 * A loss: ground truth first, prediction second (the original's argument order), returning a
 * scalar. Implementations run inside `tf.tidy`, so only the returned scalar survives. `rng` is
 * the training step's random stream, for losses that sample (HEM); the others ignore it.
 */
export type Loss = (gt: Tensor, pred: Tensor, rng?: Rng) => Scalar;

/** Throws unless both tensors have the same shape (no silent broadcasting in a loss). */
export function assertSameShape(what: string, gt: Tensor, pred: Tensor): void {
  const a = gt.shape;
  const b = pred.shape;
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new Error(`${what}: ground truth has shape [${a.join(',')}] but prediction has shape [${b.join(',')}]`);
  }
}
