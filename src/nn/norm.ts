// Normalisation layers with PyTorch semantics on channels-last tensors.
import { tf } from '../runtime/index.ts';
import type { Tensor, Variable } from '@tensorflow/tfjs';

/** BatchNorm's running statistics (buffers), updated in place in training mode. */
export interface BatchNormState {
  readonly runningMean: Variable;
  readonly runningVar: Variable;
  /** int32 scalar (or [1]) counter; optional. */
  readonly numBatchesTracked?: Variable;
}

export interface BatchNormOptions {
  readonly training: boolean;
  /** Weight of the new batch statistic in the running average (PyTorch: 0.1). */
  readonly momentum?: number;
  readonly eps?: number;
}

/**
 * PyTorch's BatchNorm over the last (channel) axis. Training: normalise with the batch mean
 * and biased variance, and move the running mean / UNBIASED running variance towards the batch
 * statistics by `momentum`, counting the batch. Eval: normalise with the running statistics.
 * `weight`/`bias` null means no affine transform (ones and zeros are passed so that the
 * batchNorm gradient has explicit scale and offset tensors).
 */
export function batchNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, state: BatchNormState, opts: BatchNormOptions): Tensor {
  const c = x.shape[x.rank - 1]!;
  const { runningMean, runningVar, numBatchesTracked } = state;
  if (runningMean.size !== c || runningVar.size !== c) throw new Error(`batchNorm: input has ${c} channels, running stats have ${runningMean.size}`);
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  return tf.tidy(() => {
    const scale = weight === null ? tf.ones([c]) : weight.reshape([c]);
    const offset = bias === null ? tf.zeros([c]) : bias.reshape([c]);
    if (!opts.training) {
      return tf.batchNorm(x, runningMean.reshape([c]), runningVar.reshape([c]), offset, scale, eps);
    }
    const n = x.size / c;
    if (n <= 1) throw new Error(`batchNorm: expected more than 1 value per channel when training, got input shape ${JSON.stringify(x.shape)}`);
    const { mean, variance } = tf.moments(x, axes);
    const y = tf.batchNorm(x, mean, variance, offset, scale, eps);
    // The running statistics are state: the loss does not depend on them, so the gradient
    // tape prunes these ops.
    const m = mean;
    const v = variance.mul(n / (n - 1));
    runningMean.assign(runningMean.mul(1 - momentum).add(m.mul(momentum).reshape(runningMean.shape)));
    runningVar.assign(runningVar.mul(1 - momentum).add(v.mul(momentum).reshape(runningVar.shape)));
    if (numBatchesTracked !== undefined) numBatchesTracked.assign(numBatchesTracked.add(tf.scalar(1, 'int32')));
    return y;
  });
}

/**
 * LayerNorm over the last (channel) axis at every position, biased variance: NAFNet's and
 * Restormer's "LayerNorm2d" on NHWC. `bias` null gives Restormer's BiasFree variant only when
 * `centre` is false (it scales x / sqrt(var + eps) without subtracting the mean).
 */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5, centre = true): Tensor {
  const c = x.shape[x.rank - 1]!;
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const inv = tf.rsqrt(variance.add(eps));
    let y = centre ? x.sub(mean).mul(inv) : x.mul(inv);
    if (weight !== null) y = y.mul(weight.reshape([c]));
    if (bias !== null) y = y.add(bias.reshape([c]));
    return y;
  });
}
