// Training strategies ("meta-architectures"): how a batch becomes model input, and how the
// model output and the ground truth become the 4-D image batches that losses and metrics see.
import { tf } from '../runtime/index.ts';
import type { Tensor, Tensor4D } from '../runtime/index.ts';
import type { Model, Params } from '../models/model.ts';

/**
 * One (restored output, target) pair the training loss is computed on, both `[N, H, W, C]`, with its
 * weight.
 */
export interface Pair {
  /** Restored images `[N, H, W, C]` compared with `gt` (same shape). */
  readonly out: Tensor4D;
  readonly gt: Tensor4D;
  /** Weight of this pair in the loss (default 1). */
  readonly weight?: number;
  /**
   * The ground-truth frames of each sample this pair covers, `[start, end)` (default: all);
   * evaluation uses it to name the frames and to pick the matching blurry inputs.
   */
  readonly frames?: readonly [number, number];
}

/**
 * Per-step training of a recurrent model (truncated back-propagation of length one): a batch
 * is optimised once per time step, each step starting from the previous step's state without
 * its gradient, as the original's STFANRNNArch and PVDNetArch do.
 */
export interface Recurrence {
  /** Number of optimisation steps for a batch of this input and ground truth. */
  steps(input: Tensor, gt: Tensor): number;
  /**
   * Time step `i`: the loss pairs and the state handed to step `i + 1` (`carry` is empty at
   * step 0). Runs inside the gradient scope; the engine keeps `carry` alive between steps.
   */
  step(model: Model, params: Params, input: Tensor, gt: Tensor, i: number, carry: readonly Tensor[]): { readonly pairs: readonly Pair[]; readonly carry: readonly Tensor[] };
}

/**
 * How a model is trained and evaluated on a batch: the forward pass and the (output, target) pairs the
 * loss is summed over, plus a per-step recurrence for recurrent models.
 */
export interface Strategy {
  readonly name: string;
  /**
   * Forward pass and the (output, target) pairs the loss is summed over; `pairs[0]` is the
   * full-resolution result used for metrics.
   */
  forward(model: Model, params: Params, input: Tensor, gt: Tensor, training: boolean): readonly Pair[];
  /** Present for recurrent strategies: training optimises once per time step (see Recurrence). */
  readonly recurrence?: Recurrence;
  /**
   * Frames at each end of a clip that get no output (they serve only as neighbours); default 0.
   * `pair.frames` of `forward` is then `[context, T - context)`.
   */
  readonly context?: number;
  /** H and W of the input must be multiples of this (default 1): a pyramid of n scales needs 2^(n-1). */
  readonly sizeMultiple?: number;
}

/** `[B, T, H, W, C]` or `[B, H, W, C]` → `[B·T, H, W, C]`. */
export function flattenFrames(x: Tensor): Tensor4D {
  if (x.rank === 4) return x as Tensor4D;
  if (x.rank !== 5) throw new Error(`expected a [B,H,W,C] image or [B,T,H,W,C] clip tensor, got shape [${x.shape.join(',')}]`);
  const [b, t, h, w, c] = x.shape as [number, number, number, number, number];
  return tf.reshape(x, [b * t, h, w, c]);
}

/** Frame `i` of a clip `[B, T, H, W, C]` as `[B, H, W, C]`. */
export function frameAt(clip: Tensor, i: number): Tensor4D {
  const [b, , h, w, c] = clip.shape as [number, number, number, number, number];
  return tf.reshape(tf.slice(clip, [0, i, 0, 0, 0], [b, 1, h, w, c]), [b, h, w, c]);
}

/** One output (a frame or several) compared with the flattened ground truth. */
export const singleScale: Strategy = {
  name: 'singleScale',
  forward(model, params, input, gt, training) {
    const raw = model.apply(params, input, { training });
    if (Array.isArray(raw)) throw new Error(`model ${model.name} returns ${raw.length} outputs; use a multi-output strategy`);
    const out = flattenFrames(raw);
    const target = flattenFrames(gt);
    if (out.shape.join(',') !== target.shape.join(',')) {
      throw new Error(`model ${model.name} output [${out.shape.join(',')}] does not match the ground truth [${target.shape.join(',')}] (check numFrames / gt frames of the dataset)`);
    }
    return [{ out, gt: target }];
  },
};
