// The interpreter: turns a decoded experiment value into the live objects of a run.
import { workDirOf, type Experiment } from '../config/experiment.ts';
import { buildComponent, type ComponentSpec } from '../config/index.ts';
import { baseLr, stepUnit } from '../components.ts';
import { runLengthIn } from '../optim/schedule-components.ts';
import type { Dataset } from '../data/dataset.ts';
import { isBuiltinDataset, type DatasetContext } from '../data/components.ts';
import { datasetSource, openParallelLoader, type ParallelLoader } from '../data/parallel-loader.ts';
import { batchesPerEpoch, type LoaderOptions } from '../data/loader.ts';
import { ema, type Ema } from '../optim/ema.ts';
import type { Optimizer } from '../optim/types.ts';
import type { LrAt } from '../optim/schedules.ts';
import type { Strategy } from './strategy.ts';
import { trainSetup, type LossTerm, type TrainSetup } from './setup.ts';
import { siblingModule } from '../util/module-url.ts';
import type { Replicas } from './replicas.ts';
import { GraphCache } from '../runtime/graph-cache.ts';

/** Options of {@link interpret}. */
export interface InterpretOptions {
  /** Overrides `experiment.workDir`. */
  readonly workDir?: string;
  /** Skip building the training dataset (evaluation only). */
  readonly evalOnly?: boolean;
  /** The replicas of a data-parallel run this process is one of. */
  readonly replicas?: Replicas;
}

async function dataset(spec: ComponentSpec, ctx: DatasetContext): Promise<Dataset> {
  return await buildComponent<Dataset | Promise<Dataset>>('dataset', spec, ctx);
}

/** Unique names for the loss terms, for logs: `charbonnier`, or `l1`, `l1_2` for repeats. */
function termNames(specs: readonly ComponentSpec[]): string[] {
  const seen = new Map<string, number>();
  return specs.map((s) => {
    const n = (seen.get(s.type) ?? 0) + 1;
    seen.set(s.type, n);
    return n === 1 ? s.type : `${s.type}_${n}`;
  });
}

/** Turns a decoded experiment into the live objects of a run (model, data, loss, optimiser, schedule); dispose of the result when done. */
export async function interpret(exp: Experiment, opts: InterpretOptions = {}): Promise<TrainSetup> {
  const names = termNames(exp.loss.terms.map((t) => t.loss));
  // Built first and once (a bad weights file fails here, before anything is allocated);
  // sampling losses (HEM) draw from the stream each step passes them, so runs resume exactly.
  const loss: LossTerm[] = exp.loss.terms.map((t, i) => ({ name: names[i]!, weight: t.weight, fn: buildComponent('loss', t.loss) }));
  const strategy = buildComponent<Strategy>('strategy', exp.strategy ?? { type: 'singleScale' });
  const val = exp.data.val ? await dataset(exp.data.val, { split: 'val' }) : undefined;
  const lrUnit = stepUnit(exp.schedule);
  const model = buildComponent('model', exp.model, { seed: exp.seed });
  let optimizer: Optimizer | undefined;
  let averaged: Ema | undefined;
  let loader: ParallelLoader | undefined;
  try {
    optimizer = buildComponent('optimizer', exp.optimizer);
    averaged = exp.ema ? ema(model.params, { decay: exp.ema.decay }) : undefined;
    // Worker threads start last, so that as little as possible can fail and leave them running.
    const trainCtx: DatasetContext = { split: 'train', augment: exp.data.augment };
    // Built-in datasets load in worker threads when asked; user-defined ones in this thread.
    const parallel = !opts.evalOnly && exp.data.workers > 0 && isBuiltinDataset(exp.data.train.type);
    loader = parallel
      ? await openParallelLoader(datasetSource(siblingModule('../data/components.ts', import.meta.url), 'openDatasetSpec', exp.data.train, trainCtx), { workers: exp.data.workers })
      : undefined;
    const train = opts.evalOnly ? undefined : (loader?.dataset ?? (await dataset(exp.data.train, trainCtx)));
    // Evaluation needs no learning rate (and without the training set, the run's length in
    // the other unit is unknown).
    let lr: LrAt = () => {
      throw new Error('an evaluation-only setup has no learning-rate schedule');
    };
    if (train) {
      const itersPerEpoch = batchesPerEpoch(train, { batchSize: exp.data.batchSize, dropLast: true });
      if (itersPerEpoch === 0) throw new Error(`training dataset '${train.name}' has ${train.length} samples, fewer than one batch of ${exp.data.batchSize}`);
      lr = buildComponent('schedule', exp.schedule, { baseLr: baseLr(exp.optimizer), runLength: runLengthIn(lrUnit, exp.run, itersPerEpoch) });
    }
    const workers = loader;
    return trainSetup({
      experiment: exp,
      name: exp.name,
      seed: exp.seed,
      workDir: opts.workDir ?? workDirOf(exp),
      model,
      strategy,
      loss,
      optimizer,
      lr,
      lrUnit,
      ...(exp.clipGradNorm !== undefined ? { clipGradNorm: exp.clipGradNorm } : {}),
      ...(averaged ? { ema: averaged } : {}),
      train: train ?? emptyDataset(exp.name),
      ...(workers ? { batches: (o: LoaderOptions, epoch: number, from: number) => workers.batches(o, epoch, from), close: () => workers.close() } : {}),
      ...(val ? { val } : {}),
      batchSize: exp.data.batchSize,
      valBatchSize: exp.data.valBatchSize,
      ...(opts.replicas ? { replicas: opts.replicas, syncBatchNorm: exp.syncBatchNorm ?? false } : {}),
      ...(exp.graph === true ? { graphSteps: new GraphCache() } : {}),
      run: exp.run.epochs !== undefined ? { unit: 'epoch', length: exp.run.epochs } : { unit: 'iteration', length: exp.run.iterations! },
    });
  } catch (err) {
    model.dispose();
    optimizer?.dispose();
    averaged?.dispose();
    await loader?.close();
    throw err;
  }
}

function emptyDataset(name: string): Dataset {
  return {
    name: `${name}-train (not built)`,
    length: 0,
    get: () => Promise.reject(new Error('the training dataset was not built (evaluation only)')),
  };
}
