// PSNR as the original's training/validation metric: RGB in [0,1] (clamped), no border crop,
// no quantisation; per-image PSNR, then the mean over the batch.
import type { Scalar, Tensor, Tensor1D } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { clampedPair } from './common.ts';

/** PSNR (dB) of each image of NHWC batches: −10·log10(mean over H,W,C of (gt − out)²); +inf when equal. */
export function psnrPerImage(gt: Tensor, out: Tensor): Tensor1D {
  return tf.tidy(() => {
    const [x, y] = clampedPair('psnr', gt, out);
    const mse = tf.mean(tf.squaredDifference(x, y), [1, 2, 3]);
    return tf.mul(tf.log(mse), -10 / Math.LN10) as Tensor1D;
  });
}

/** Mean over the batch of the per-image PSNRs. */
export function psnr(gt: Tensor, out: Tensor): Scalar {
  return tf.tidy(() => tf.mean(psnrPerImage(gt, out)) as Scalar);
}
