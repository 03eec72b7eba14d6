// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_.
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';

/** The result of `clipGradNorm`: the clipped gradients and the total norm before clipping. */
export interface ClippedGrads {
  /** New gradient tensors (same keys), owned by the caller; the inputs are left untouched. */
  readonly grads: Record<string, Tensor>;
  /** Norm of all gradients together, before clipping (owned by the caller). */
  readonly totalNorm: Scalar;
}

/** The p-norm of all elements of `x` (p = Infinity: max |x|). Call inside tidy. */
function pNorm(x: Tensor, p: number): Scalar {
  if (p === Infinity) return tf.max(tf.abs(x)) as Scalar;
  if (p === 1 || p === 2) return tf.norm(x, p) as Scalar;
  return tf.pow(tf.sum(tf.pow(tf.abs(x), p)), 1 / p) as Scalar;
}

/**
 * Scales every gradient by min(1, maxNorm / (totalNorm + 1e-6)), where totalNorm is the
 * `normType`-norm of all gradients viewed as one vector (`Infinity` or `'inf'`: max |g|).
 * Like PyTorch, the scaling is applied even when the factor is 1.
 */
export function clipGradNorm(
  grads: Readonly<Record<string, Tensor>>,
  maxNorm: number,
  normType: number | 'inf' = 2,
): ClippedGrads {
  const p = normType === 'inf' ? Infinity : normType;
  if (!(maxNorm >= 0) || !Number.isFinite(maxNorm)) throw new Error(`clipGradNorm: maxNorm must be a finite number >= 0, got ${maxNorm}`);
  if (!(p > 0)) throw new Error(`clipGradNorm: normType must be > 0 or 'inf', got ${String(normType)}`);
  return tf.tidy(() => {
    const entries = Object.entries(grads);
    if (entries.length === 0) return { grads: {}, totalNorm: tf.scalar(0) };
    const totalNorm = pNorm(tf.stack(entries.map(([, g]) => pNorm(g, p))), p);
    const coef = tf.minimum(tf.div(maxNorm, tf.add(totalNorm, 1e-6)), 1);
    const out: Record<string, Tensor> = {};
    for (const [name, g] of entries) out[name] = tf.mul(g, coef);
    return { grads: out, totalNorm };
  });
}
