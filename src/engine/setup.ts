// The live objects of a run, made from an experiment value by the interpreter (or by hand in a
// custom loop).
import type { Scalar, Tensor } from '../runtime/index.ts';
import type { Optimizer } from '../optim/types.ts';
import type { Ema } from '../optim/ema.ts';
import type { Dataset } from '../data/dataset.ts';
import type { Batch, LoaderOptions } from '../data/loader.ts';
import type { Model } from '../models/model.ts';
import type { Strategy } from './strategy.ts';
import type { Rng } from '../util/rng.ts';

export type LossFn = (gt: Tensor, pred: Tensor, rng: Rng) => Scalar;

export interface LossTerm {
  readonly name: string;
  readonly weight: number;
  readonly fn: LossFn;
}

export interface TrainSetup {
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
  /** Length of the run, in epochs or in iterations. */
  readonly run: { readonly unit: 'epoch' | 'iteration'; readonly length: number };
  /** Periods are in `run.unit`s. */
  readonly validation: { readonly every: number; readonly saveImages: number };
  readonly checkpoint: { readonly every: number; readonly keepLast: number; readonly keepBest: boolean };
  readonly log: { readonly every: number };
  /** Releases what the setup holds besides tensors (loader worker threads). */
  readonly close?: () => Promise<void>;
}
