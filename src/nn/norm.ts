// Normalisation layers with PyTorch semantics on channels-last tensors.
import { tf, isNative } from '../runtime/index.ts';
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { attr, biasAttrs, floatT, op, ops, reduce, reshapeTo } from './native.ts';
import type { NativeAttr } from './native.ts';

/** BatchNorm's running statistics (buffers), updated in place in training mode. */
export interface BatchNormState {
  readonly runningMean: Variable;
  readonly runningVar: Variable;
  /** int32 scalar (or [1]) counter; optional. */
  readonly numBatchesTracked?: Variable;
}

/**
 * Element-wise sums over the replicas of a data-parallel run, each holding an equal shard of the
 * global batch: what synchronised BatchNorm needs.
 */
export interface ReplicaSums {
  /** The number of replicas. */
  readonly size: number;
  /** The element-wise sum over replicas of `x` (same shape on each; every replica calls it in the same order). A new tensor. */
  sum(x: Tensor): Tensor;
}

let synced: ReplicaSums | undefined;

/**
 * Runs `fn` with synchronised BatchNorm: training-mode batch statistics, and the sums their
 * gradient needs, are taken over every replica's shard, so a replica normalises as one process
 * over the global batch would. `fn` must hold the forward pass and its gradient.
 */
export function withSyncBatchNorm<T>(sums: ReplicaSums, fn: () => T): T {
  const previous = synced;
  synced = sums;
  try {
    return fn();
  } finally {
    synced = previous;
  }
}

/**
 * Options of `batchNorm`: training or evaluation mode, the momentum of the running statistics (default
 * 0.1) and eps (default 1e-5).
 */
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
    const scale = weight === null ? tf.ones([c]) : reshapeTo(weight, [c]);
    const offset = bias === null ? tf.zeros([c]) : reshapeTo(bias, [c]);
    if (!opts.training) {
      const mean = reshapeTo(runningMean, [c]);
      const variance = reshapeTo(runningVar, [c]);
      return isNative() ? affineBatchNorm(x, mean, variance, offset, scale, eps) : tf.batchNorm(x, mean, variance, offset, scale, eps);
    }
    if (synced !== undefined) {
      const y = syncTrainingBatchNorm(x, scale, offset, state, eps, momentum, synced);
      if (numBatchesTracked !== undefined) numBatchesTracked.assign(numBatchesTracked.add(tf.scalar(1, 'int32')));
      return y;
    }
    const n = x.size / c;
    if (n <= 1) throw new Error(`batchNorm: expected more than 1 value per channel when training, got input shape ${JSON.stringify(x.shape)}`);
    if (isNative()) {
      const y = nativeTrainingBatchNorm(x, scale, offset, state, eps, momentum);
      if (numBatchesTracked !== undefined) numBatchesTracked.assign(numBatchesTracked.add(tf.scalar(1, 'int32')));
      return y;
    }
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
 * Eval-mode BatchNorm as PyTorch's CPU inference computes it: per-channel a = scale/sqrt(var +
 * eps) and b = offset - mean·a on the [C] vectors, then y = x·a + b, two ops over the tensor.
 * TensorFlow's FusedBatchNorm with is_training=false (what tf.batchNorm runs natively) takes
 * 10-20× longer than this here, longer than the training-mode kernel. Plain tfjs ops, so the
 * gradients (frozen BatchNorm in a trained model) come for free.
 */
function affineBatchNorm(x: Tensor, mean: Tensor, variance: Tensor, offset: Tensor, scale: Tensor, eps: number): Tensor {
  const a = tf.mul(scale, tf.rsqrt(tf.add(variance, eps)));
  const b = tf.sub(offset, tf.mul(mean, a));
  return tf.add(tf.mul(x, a), b);
}

const fusedBatchNormAttrs = (eps: number, momentum: number | null): NativeAttr[] => {
  const a = [attr.float32('T'), attr.float32('U'), attr.float('epsilon', eps), attr.string('data_format', 'NHWC'), attr.bool('is_training', true)];
  return momentum === null ? a : [...a, attr.float('exponential_avg_factor', momentum)];
};

/**
 * Training-mode BatchNorm as one TensorFlow op each way: FusedBatchNormV3 normalises with the
 * batch mean and biased variance and, given the running statistics and
 * exponential_avg_factor = momentum, also returns (1-m)·running + m·batch with the UNBIASED
 * batch variance, which is PyTorch's update; FusedBatchNormGradV3 gives dx, dscale, doffset
 * from the statistics the forward op saved.
 */
function nativeTrainingBatchNorm(x: Tensor, scale: Tensor, offset: Tensor, state: BatchNormState, eps: number, momentum: number): Tensor {
  const c = x.shape[x.rank - 1]!;
  const x4 = x.rank === 4 ? x : x.reshape([1, 1, -1, c]);
  const { runningMean, runningVar } = state;
  const run = tf.customGrad((...args) => {
    const [xi, si, oi, save] = args as [Tensor, Tensor, Tensor, (ts: Tensor[]) => void];
    const [y, mean, variance, r1, r2, r3] = ops('FusedBatchNormV3', fusedBatchNormAttrs(eps, momentum), [xi, si, oi, reshapeTo(runningMean, [c]), reshapeTo(runningVar, [c])], 6) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    // The loss does not depend on the running statistics: they are state, updated here.
    runningMean.assign(reshapeTo(mean, runningMean.shape));
    runningVar.assign(reshapeTo(variance, runningVar.shape));
    save([xi, si, r1, r2, r3]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [dx, ds, doff, e1, e2] = ops('FusedBatchNormGradV3', fusedBatchNormAttrs(eps, null), [dy, ...saved], 5) as [Tensor, Tensor, Tensor, Tensor, Tensor];
        tf.dispose([e1, e2]);
        return [dx, ds, doff];
      },
    };
  });
  const y = run(x4, scale, offset);
  return x.rank === 4 ? y : y.reshape(x.shape);
}

/**
 * Training-mode BatchNorm over the global batch of `sums.size` replicas with equal shards of
 * `n` values per channel (M = n·size): mean = Σx / M, then var = Σ(x - mean)² / M (two passes,
 * as exact as one process's). With x̂ = (x - mean)·inv, the input gradient takes its two sums
 * over all replicas too: dx = scale·inv·(dy - Σdy / M - x̂·Σ(dy·x̂) / M); dscale and doffset
 * stay local (the replicas' gradients are averaged afterwards, like every parameter's).
 */
function syncTrainingBatchNorm(x: Tensor, scale: Tensor, offset: Tensor, state: BatchNormState, eps: number, momentum: number, sums: ReplicaSums): Tensor {
  const c = x.shape[x.rank - 1]!;
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const count = (x.size / c) * sums.size;
  if (count <= 1) throw new Error(`batchNorm: expected more than 1 value per channel when training, got ${count} over ${sums.size} replicas`);
  const { runningMean, runningVar } = state;
  const run = tf.customGrad((...args) => {
    const [xi, si, oi, save] = args as [Tensor, Tensor, Tensor, (ts: Tensor[]) => void];
    const mean = tf.div(sums.sum(tf.sum(xi, axes)), count);
    const d = tf.sub(xi, mean);
    const variance = tf.div(sums.sum(tf.sum(tf.square(d), axes)), count);
    const inv = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(d, inv);
    runningMean.assign(tf.add(tf.mul(runningMean, 1 - momentum), tf.mul(reshapeTo(mean, runningMean.shape), momentum)));
    runningVar.assign(tf.add(tf.mul(runningVar, 1 - momentum), tf.mul(reshapeTo(variance, runningVar.shape), (momentum * count) / (count - 1))));
    save([xhat, inv, si]);
    return {
      value: tf.add(tf.mul(xhat, si), oi),
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [xh, iv, s] = saved as [Tensor, Tensor, Tensor];
          const dOffset = tf.sum(dy, axes);
          const dScale = tf.sum(tf.mul(dy, xh), axes);
          const [allDy, allDyX] = tf.split(sums.sum(tf.concat([dOffset, dScale])), 2) as [Tensor, Tensor];
          const centred = tf.sub(tf.sub(dy, tf.div(allDy, count)), tf.mul(xh, tf.div(allDyX, count)));
          return [tf.mul(centred, tf.mul(s, iv)), dScale, dOffset];
        }),
    };
  });
  return run(x, scale, offset);
}

/**
 * LayerNorm over the last (channel) axis at every position, biased variance: NAFNet's and
 * Restormer's "LayerNorm2d" on NHWC. `bias` null gives Restormer's BiasFree variant only when
 * `centre` is false (it scales x / sqrt(var + eps) without subtracting the mean).
 */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5, centre = true): Tensor {
  const c = x.shape[x.rank - 1]!;
  return tf.tidy(() => {
    if (isNative() && x.dtype === 'float32') {
      const w = weight === null ? null : reshapeTo(weight, [c]);
      const b = bias === null ? null : reshapeTo(bias, [c]);
      return nativeLayerNorm(x, w, b, eps, centre);
    }
    const { mean, variance } = tf.moments(x, -1, true);
    const inv = tf.rsqrt(variance.add(eps));
    let y = centre ? x.sub(mean).mul(inv) : x.mul(inv);
    if (weight !== null) y = y.mul(weight.reshape([c]));
    if (bias !== null) y = y.add(bias.reshape([c]));
    return y;
  });
}

/**
 * LayerNorm over the last axis as a few native ops each way. With d = x - mean,
 * inv = 1/sqrt(mean(d²) + eps), dhat = d·inv and u = dhat (centred) or x·inv (not centred),
 * y = u·w + b, and g = dy·w:
 *   centred:     dx = inv·(g - mean(g) - u·mean(g·u))
 *   not centred: dx = inv·(g - dhat·mean(g·u))
 *   dw = Σ dy·u, db = Σ dy (over all but the last axis).
 */
function nativeLayerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number, centre: boolean): Tensor {
  const last = x.rank - 1;
  const outer = Array.from({ length: last }, (_, i) => i);
  const inputs = [x, ...(weight === null ? [] : [weight]), ...(bias === null ? [] : [bias])];
  const T = floatT();
  const run = tf.customGrad((...args) => {
    const save = args[inputs.length] as (ts: Tensor[]) => void;
    const xi = args[0] as Tensor;
    const wi = weight === null ? null : (args[1] as Tensor);
    const bi = bias === null ? null : (args[weight === null ? 1 : 2] as Tensor);
    const mean = reduce('Mean', xi, last, true);
    const d = op('Sub', T, [xi, mean]);
    const epsT = tf.scalar(eps);
    const inv = op('Rsqrt', T, [op('AddV2', T, [reduce('Mean', op('Square', T, [d]), last, true), epsT])]);
    const dhat = op('Mul', T, [d, inv]);
    const u = centre ? dhat : op('Mul', T, [xi, inv]);
    const scaled = wi === null ? u : op('Mul', T, [u, wi]);
    const value = bi === null ? scaled : op('BiasAdd', biasAttrs(), [scaled, bi]);
    // Everything the gradient reads is saved: inputs may be temporaries freed after the call.
    save([u, inv, dhat, ...(wi === null ? [] : [wi])]);
    return {
      value,
      // tfjs runs custom gradient functions outside any per-op scope: the tidy frees the
      // intermediates now instead of at the end of the backward pass.
      gradFunc: (dy: Tensor, saved: Tensor[]) => tf.tidy(() => {
        const [us, invs, dhats, ws] = saved as [Tensor, Tensor, Tensor, Tensor | undefined];
        const g = ws === undefined ? dy : op('Mul', T, [dy, ws]);
        const mgu = reduce('Mean', op('Mul', T, [g, us]), last, true);
        const inner = centre
          ? op('Sub', T, [op('Sub', T, [g, reduce('Mean', g, last, true)]), op('Mul', T, [us, mgu])])
          : op('Sub', T, [g, op('Mul', T, [dhats, mgu])]);
        const grads = [op('Mul', T, [inner, invs])];
        if (ws !== undefined) grads.push(reduce('Sum', op('Mul', T, [dy, us]), outer, false));
        if (bi !== null) grads.push(op('BiasAddGrad', biasAttrs(), [dy]));
        return grads;
      }),
    };
  });
  return run(...inputs);
}

