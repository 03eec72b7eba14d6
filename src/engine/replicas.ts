// Data-parallel training as the engine sees it: the run is one of `size` replicas, each training
// the same model on its shard of every global batch. The engine only calls this interface; the
// collective runtime behind it is src/distributed (TensorFlow's collective ops).
import { tf } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';
import type { Model } from '../models/model.ts';

/** The replicas of a data-parallel run, from one replica's side. Every method is collective: all replicas call it, in the same order. */
export interface Replicas {
  /** This replica's rank, 0 … size-1; rank 0 alone writes checkpoints and logs. */
  readonly rank: number;
  readonly size: number;
  /** Steps between two checks that the replicas' states are still the same (0: only at the start and the end). */
  readonly checkEvery: number;
  /**
   * The element-wise mean over replicas of each tensor (every replica passes the same shapes in
   * the same order). Returns new tensors; the inputs are left alone.
   */
  mean(tensors: readonly Tensor[]): Tensor[];
  /** The element-wise sum over replicas of `x` (synchronised BatchNorm's statistics). A new tensor. */
  sum(x: Tensor): Tensor;
  /** True on every replica when it is true on any. */
  any(flag: boolean): boolean;
  /** Every replica's JSON-serialisable value, by rank. */
  gather<T>(value: T): T[];
  /** Throws, naming the tensors, when the replicas' tensors differ (compared by a cheap checksum per tensor). */
  assertSame(named: Readonly<Record<string, Tensor>>, where: string): void;
}

/** Whether this process writes the run's files: a single-process run or replica 0. */
export function writesFiles(replicas: Replicas | undefined): boolean {
  return replicas === undefined || replicas.rank === 0;
}

/** What one replica computed in a step, before the update. */
export interface LocalStep {
  /** Loss of this replica's shard (scalar). */
  readonly loss: Tensor;
  /** Its terms `[terms]`. */
  readonly parts: Tensor;
  readonly grads: Readonly<Record<string, Tensor>>;
}

/**
 * The step as a single process over the whole global batch would have computed it: loss, terms
 * and gradients averaged over replicas (shards are equal, so the mean of shard means is the
 * batch mean), in one collective. The model's float buffers (BatchNorm running statistics,
 * updated by each replica's forward on its own shard) are averaged in the same collective and
 * assigned, so that replicas stay identical. The inputs are not disposed.
 */
export function averageStep(replicas: Replicas, model: Model, local: LocalStep): LocalStep {
  const names = Object.keys(local.grads);
  const buffers = Object.values(model.buffers).filter((b) => b.dtype === 'float32');
  const out = replicas.mean([local.loss, local.parts, ...names.map((n) => local.grads[n]!), ...buffers]);
  const [loss, parts] = out as [Tensor, Tensor];
  const grads = Object.fromEntries(names.map((n, i) => [n, out[2 + i]!]));
  const meanBuffers = out.slice(2 + names.length);
  buffers.forEach((b, i) => b.assign(meanBuffers[i]!));
  tf.dispose(meanBuffers);
  return { loss, parts, grads };
}

/** The model's parameters and buffers by name (`params/…`, `buffers/…`), for {@link Replicas.assertSame}. */
export function modelState(model: Model): Record<string, Tensor> {
  return {
    ...Object.fromEntries(Object.entries(model.params).map(([k, v]) => [`params/${k}`, v])),
    ...Object.fromEntries(Object.entries(model.buffers).map(([k, v]) => [`buffers/${k}`, v])),
  };
}
