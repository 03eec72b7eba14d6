// Elementwise reconstruction losses. They accept tensors of any (equal) shape.
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { assertSameShape, type Loss } from './types.ts';

/** Mean over all elements of (gt − pred)² (PyTorch `MSELoss()`). */
export function mse(): Loss {
  return (gt: Tensor, pred: Tensor): Scalar => {
    assertSameShape('mse', gt, pred);
    return tf.tidy(() => tf.mean(tf.squaredDifference(gt, pred)) as Scalar);
  };
}

/** Mean over all elements of |gt − pred| (PyTorch `L1Loss()`). */
export function l1(): Loss {
  return (gt: Tensor, pred: Tensor): Scalar => {
    assertSameShape('l1', gt, pred);
    return tf.tidy(() => tf.mean(tf.abs(tf.sub(gt, pred))) as Scalar);
  };
}

/**
 * How the Charbonnier penalties sqrt(d² + eps) are reduced:
 * - `'sumOverBatch'`: sum over every element divided by the size of the first axis — the
 *   original's `CharbonnierLoss`. Its magnitude grows with the crop size (and, for clips
 *   flattened to `[B·N, ...]`, is per frame); the original learning rates were tuned with it.
 * - `'mean'`: mean over every element, comparable to `l1`.
 */
export type CharbonnierReduction = 'mean' | 'sumOverBatch';

/** Options of the Charbonnier loss. */
export interface CharbonnierOptions {
  /** Added to d² inside the square root, un-squared (so the effective ε is sqrt(eps)). Default 1e-6. */
  readonly eps?: number;
  /** Default `'sumOverBatch'`, as in the original. */
  readonly reduction?: CharbonnierReduction;
}

/** Charbonnier (smooth L1) loss: reduce(sqrt((gt − pred)² + eps)). */
export function charbonnier(options: CharbonnierOptions = {}): Loss {
  const eps = options.eps ?? 1e-6;
  const reduction = options.reduction ?? 'sumOverBatch';
  if (!Number.isFinite(eps) || eps < 0) throw new Error(`charbonnier: eps must be a finite number >= 0, got ${eps}`);
  if (reduction !== 'mean' && reduction !== 'sumOverBatch') {
    throw new Error(`charbonnier: reduction must be 'mean' or 'sumOverBatch', got ${String(reduction)}`);
  }
  return (gt: Tensor, pred: Tensor): Scalar => {
    assertSameShape('charbonnier', gt, pred);
    const batch = gt.shape[0];
    if (reduction === 'sumOverBatch' && (batch === undefined || batch === 0)) {
      throw new Error(`charbonnier: 'sumOverBatch' needs a non-empty first axis, got shape [${gt.shape.join(',')}]`);
    }
    return tf.tidy(() => {
      const penalty = tf.sqrt(tf.add(tf.squaredDifference(gt, pred), eps));
      return (reduction === 'mean' ? tf.mean(penalty) : tf.div(tf.sum(penalty), batch!)) as Scalar;
    });
  };
}
