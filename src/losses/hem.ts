// Hard-example-mining L1 loss of CDVD-TSP: L1 restricted to the pixels with the largest
// residuals plus a random sample of pixels; masked-out pixels still count in the mean.
import type { Scalar, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import type { Rng } from '../util/rng.ts';
import { assertSameShape, type Loss } from './types.ts';

/** Options of the hard-example-mining L1 loss: fractions of pixels per image, each in [0, 1]. */
export interface HemOptions {
  /** Fraction of pixels per image ranked "hard" (those above the residual at this rank). Default 0.5. */
  readonly hardThreP?: number;
  /** Fraction of pixels per image added uniformly at random. Default 0.1. */
  readonly randomThreP?: number;
}

/**
 * Random mask `[B, H*W]`: exactly floor(p·H·W) ones per image, placed uniformly at random
 * (partial Fisher-Yates over pixel indices).
 */
export function randomPixelMask(rng: Rng, batch: number, pixels: number, count: number): Float32Array {
  const out = new Float32Array(batch * pixels);
  const idx = new Int32Array(pixels);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < pixels; i++) idx[i] = i;
    for (let i = 0; i < count; i++) {
      const j = i + rng.int(pixels - i);
      const chosen = idx[j]!;
      idx[j] = idx[i]!;
      idx[i] = chosen;
      out[b * pixels + chosen] = 1;
    }
  }
  return out;
}

/**
 * HEM loss on NHWC `[B, H, W, C]` tensors. Per image, the per-pixel residual r = Σ_c |gt − pred|
 * is ranked; the hard mask is `r > r_sorted_desc[floor(hardThreP·W·H)]` (strict), OR-ed with a
 * random mask drawn from the call's `rng` (one draw per call). Loss = mean over all B·H·W·C
 * elements of |gt·mask − pred·mask|. The mask is a constant for differentiation.
 */
export function hem(options: HemOptions = {}): Loss {
  const hardP = options.hardThreP ?? 0.5;
  const randomP = options.randomThreP ?? 0.1;
  if (!(hardP >= 0 && hardP < 1)) throw new Error(`hem: hardThreP must be in [0, 1), got ${hardP}`);
  if (!(randomP >= 0 && randomP <= 1)) throw new Error(`hem: randomThreP must be in [0, 1], got ${randomP}`);

  // customGrad hides the mask's construction from the gradient tape (comparisons and top-k have
  // no gradients); the mask is a constant, so both inputs get zero gradients.
  const maskOf = (rng: Rng) => tf.customGrad((...inputs) => {
    const gt = inputs[0] as Tensor;
    const pred = inputs[1] as Tensor;
    const [b, h, w] = gt.shape as [number, number, number, number];
    const pixels = h * w;
    // Same multiplication order as the original (p·w·h) so the truncated counts agree.
    const hardIdx = Math.floor(hardP * w * h);
    const randomCount = Math.floor(randomP * w * h);
    const randomMask = randomPixelMask(rng, b, pixels, randomCount);
    const value = tf.tidy(() => {
      const residual = tf.reshape(tf.sum(tf.abs(tf.sub(gt, pred)), 3), [b, pixels]);
      const { values } = tf.topk(residual, hardIdx + 1, true);
      const threshold = tf.slice(values, [0, hardIdx], [b, 1]);
      const hard = tf.cast(tf.greater(residual, threshold), 'float32');
      const mask = tf.maximum(hard, tf.tensor2d(randomMask, [b, pixels]));
      return tf.reshape(mask, [b, h, w, 1]);
    });
    return { value, gradFunc: () => [tf.zerosLike(gt), tf.zerosLike(pred)] };
  });

  return (gt: Tensor, pred: Tensor, rng?: Rng): Scalar => {
    if (rng === undefined) throw new Error('hem: needs a random stream for its random pixels: call it as loss(gt, pred, rng)');
    assertSameShape('hem', gt, pred);
    if (gt.rank !== 4) throw new Error(`hem: expected NHWC [B,H,W,C] tensors, got shape [${gt.shape.join(',')}]`);
    if (gt.size === 0) throw new Error(`hem: empty input of shape [${gt.shape.join(',')}]`);
    return tf.tidy(() => {
      const mask = maskOf(rng)(gt, pred) as Tensor4D;
      return tf.mean(tf.abs(tf.sub(tf.mul(gt, mask), tf.mul(pred, mask)))) as Scalar;
    });
  };
}
