// SSIM as the original's training/validation metric: clamp to [0,1], 11×11 Gaussian window
// (σ = 1.5) per channel, valid convolution (maps are (H−10)×(W−10)), C1 = 0.01², C2 = 0.03²,
// mean of the SSIM map. Any channel count works (the original is limited to 3).
import type { Scalar, Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { clampedPair } from './common.ts';

const WINDOW = 11;
const SIGMA = 1.5;
const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;

function gaussian1d(): Float32Array {
  const g = new Float32Array(WINDOW);
  let sum = 0;
  for (let i = 0; i < WINDOW; i++) {
    const d = i - (WINDOW >> 1);
    const v = Math.exp(-(d * d) / (2 * SIGMA * SIGMA));
    g[i] = v;
    sum += v;
  }
  return g.map((v) => v / sum);
}

const KERNEL = gaussian1d();

/**
 * Depthwise Gaussian filter with valid padding. The 2-D window is the outer product g gᵀ, so it
 * is applied as a vertical then a horizontal 1-D pass. Call inside tidy.
 */
function gaussianFilterValid(x: Tensor4D): Tensor4D {
  const channels = x.shape[3];
  const g = tf.tensor1d(KERNEL);
  const vertical = tf.tile(tf.reshape(g, [WINDOW, 1, 1, 1]), [1, 1, channels, 1]) as Tensor4D;
  const horizontal = tf.tile(tf.reshape(g, [1, WINDOW, 1, 1]), [1, 1, channels, 1]) as Tensor4D;
  return tf.depthwiseConv2d(tf.depthwiseConv2d(x, vertical, 1, 'valid'), horizontal, 1, 'valid');
}

/** SSIM map `[B, H−10, W−10, C]` of NHWC batches. */
export function ssimMap(gt: Tensor, out: Tensor): Tensor4D {
  return tf.tidy(() => {
    const [x, y] = clampedPair('ssim', gt, out);
    const [, h, w, c] = x.shape;
    if (h < WINDOW || w < WINDOW) throw new Error(`ssim: images must be at least ${WINDOW}×${WINDOW}, got ${h}×${w}`);
    // One filtering pass over the five moments stacked along channels.
    const moments = gaussianFilterValid(tf.concat([x, y, tf.square(x), tf.square(y), tf.mul(x, y)], 3) as Tensor4D);
    const [mu1, mu2, ex2, ey2, exy] = tf.split(moments, [c, c, c, c, c], 3) as [Tensor4D, Tensor4D, Tensor4D, Tensor4D, Tensor4D];
    const mu1sq = tf.square(mu1);
    const mu2sq = tf.square(mu2);
    const mu12 = tf.mul(mu1, mu2);
    const s1 = tf.sub(ex2, mu1sq);
    const s2 = tf.sub(ey2, mu2sq);
    const s12 = tf.sub(exy, mu12);
    const num = tf.mul(tf.add(tf.mul(mu12, 2), C1), tf.add(tf.mul(s12, 2), C2));
    const den = tf.mul(tf.add(tf.add(mu1sq, mu2sq), C1), tf.add(tf.add(s1, s2), C2));
    return tf.div(num, den) as Tensor4D;
  });
}

/** SSIM of each image: mean of its map over positions and channels. */
export function ssimPerImage(gt: Tensor, out: Tensor): Tensor1D {
  return tf.tidy(() => tf.mean(ssimMap(gt, out), [1, 2, 3]) as Tensor1D);
}

/** SSIM of a batch: mean of the map over all images, positions and channels. */
export function ssim(gt: Tensor, out: Tensor): Scalar {
  return tf.tidy(() => tf.mean(ssimMap(gt, out)) as Scalar);
}
