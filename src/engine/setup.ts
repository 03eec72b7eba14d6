// The live objects of a run, made from an experiment value by the interpreter (or by hand in a
// custom loop, with `trainSetup`). A setup owns tensors and possibly worker threads: release it
// with `await using setup = ...` or `await setup.dispose()`.
import type { Scalar, Tensor } from '../runtime/index.ts';
import type { Optimizer } from '../optim/types.ts';
import type { Ema } from '../optim/ema.ts';
import type { Dataset } from '../data/dataset.ts';
import type { Batch, LoaderOptions } from '../data/loader.ts';
import type { Model } from '../models/model.ts';
import type { Strategy } from './strategy.ts';
import type { Rng } from '../util/rng.ts';
import type { Replicas } from './replicas.ts';
import type { GraphCache } from '../runtime/graph-cache.ts';

export type LossFn = (gt: Tensor, pred: Tensor, rng: Rng) => Scalar;

/**
 * One named term of the training loss: its function of (ground truth, prediction, rng) and its weight
 * in the weighted sum.
 */
export interface LossTerm {
  readonly name: string;
  readonly weight: number;
  readonly fn: LossFn;
}

/** What the training loop needs; `trainSetup(parts)` makes it a disposable `TrainSetup`. */
export interface TrainSetupParts {
  /** The experiment value, saved with every checkpoint so the run can be repeated. */
  readonly experiment: unknown;
  readonly name: string;
  readonly seed: number;
  readonly workDir: string;
  readonly model: Model;
  readonly strategy: Strategy;
  readonly loss: readonly LossTerm[];
  readonly optimizer: Optimizer;
  /** Learning rate at epoch or iteration `t` (see `lrUnit`). */
  readonly lr: (t: number) => number;
  readonly lrUnit: 'epoch' | 'iteration';
  readonly clipGradNorm?: number;
  /** An exponential moving average of the weights, used for validation and saved in checkpoints. */
  readonly ema?: Ema;
  readonly train: Dataset;
  /** Where training batches come from (default: `epochBatches` over `train`, in this thread). */
  readonly batches?: (o: LoaderOptions, epoch: number, from: number) => AsyncGenerator<Batch>;
  readonly val?: Dataset;
  readonly batchSize: number;
  readonly valBatchSize: number;
  /** Length of the run, in epochs or in iterations; hooks' periods count the same unit. */
  readonly run: { readonly unit: 'epoch' | 'iteration'; readonly length: number };
  /** The other replicas of a data-parallel run (absent: a single-process run). */
  readonly replicas?: Replicas;
  /** With `replicas`: BatchNorm's training statistics over the global batch (synchronised BatchNorm). */
  readonly syncBatchNorm?: boolean;
  /** With the experiment's `graph` key: the graph functions of its steps, by batch shape. */
  readonly graphSteps?: GraphCache;
  /** Releases what the setup holds besides tensors (loader worker threads). */
  readonly close?: () => Promise<void>;
}

export interface TrainSetup extends TrainSetupParts, AsyncDisposable {
  /**
   * Disposes the model, the optimiser state and the EMA, then calls `close`. The same as
   * `[Symbol.asyncDispose]()`. Methods read the setup they are called on, so a copy made with
   * a spread (`{ ...setup, ema }`) releases what the copy holds.
   */
  dispose(): Promise<void>;
}

async function release(this: TrainSetupParts): Promise<void> {
  // Each part is released even when an earlier one fails; the first failure is reported.
  let failure: { error: unknown } | undefined;
  for (const part of [this.model, this.optimizer, this.ema, this.graphSteps]) {
    try {
      part?.dispose();
    } catch (error) {
      failure ??= { error };
    }
  }
  await this.close?.();
  if (failure) throw failure.error;
}

/** A disposable setup made of `parts`. */
export function trainSetup(parts: TrainSetupParts): TrainSetup {
  return { ...parts, dispose: release, [Symbol.asyncDispose]: release };
}
