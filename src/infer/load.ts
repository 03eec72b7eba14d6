// Where a restorer comes from: a checkpoint directory (which names its experiment), a recipe
// with a checkpoint, a zoo model with a weights file (ours, safetensors or PyTorch), or the
// demonstration models shipped with the package. Resolving a source checks the configuration
// only (no runtime needed); `loadRestorer` builds the model and loads its weights.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLeft } from 'fp-ts/lib/Either.js';
import { type Experiment } from '../config/experiment.ts';
import { applyOverrides, overrideExperiment } from '../config/overrides.ts';
import { buildComponent, decodeComponent, type ComponentSpec } from '../config/registry.ts';
import type { Strategy } from '../engine/strategy.ts';
import { modelInference, type ModelInference } from '../models/define.ts';
import { samplingDefaults, type SamplingOptions } from '../data/sampling.ts';
import type { TemporalPlan } from './plan.ts';
import '../components.ts';

/** The shipped demonstration models (weights/<name>/ in the package). */
export const DEMO_MODELS = { image: 'demo-nafnet', video: 'demo-dbn' } as const;

/** The package's weights/ folder (beside src/ in a checkout, beside dist/ when installed). */
export function shippedWeightsDir(): string {
  return fileURLToPath(new URL('../../weights/', import.meta.url));
}

/** Where the weights come from and what they are weights of, resolved and checked. */
export interface RestorerSource {
  /** What to call it in messages and summaries. */
  readonly label: string;
  /** The model spec, decoded (defaults filled). */
  readonly model: ComponentSpec;
  readonly strategy: ComponentSpec;
  readonly plan: TemporalPlan;
  /** The weights: a checkpoint directory's weights.safetensors, or a file given on its own. */
  readonly weights: { readonly kind: 'checkpoint'; readonly dir: string } | { readonly kind: 'file'; readonly file: string; readonly key?: string };
  /** Load the exponential moving average of the weights instead of the raw ones. */
  readonly ema: boolean;
  readonly seed: number;
  /** The training crop (the experiment's `crop` augmentation), when known: TLC's window derives from it. */
  readonly trainCrop?: readonly [number, number];
}

/** The experiment.json of a checkpoint directory: in it, or in the run directory above `checkpoints/iter_N`. */
export function experimentFileOf(dir: string): string {
  const candidates = [dir, path.dirname(dir), path.dirname(path.dirname(dir))].map((d) => path.join(d, 'experiment.json'));
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) throw new Error(`${dir}: no experiment.json in it or in the run directory above it (give the recipe: simdeblur deblur RECIPE.ts --checkpoint ${dir} ...)`);
  return found;
}

/** Reads and decodes a checkpoint's experiment.json, with `--set` overrides. */
export function readExperiment(file: string, sets: readonly string[] = []): Experiment {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = overrideExperiment(value, sets);
  if (isLeft(r)) throw new Error(`invalid experiment in ${file}:\n  ${r.left.join('\n  ')}`);
  return r.right;
}

/** The training crop of an experiment (its `crop` augmentation), if any. */
export function trainCropOf(exp: Experiment): readonly [number, number] | undefined {
  const crop = exp.data.augment.find((a) => a.type === 'crop') as { size?: readonly [number, number] } | undefined;
  return crop?.size;
}

function samplingOf(spec: ComponentSpec | undefined): Partial<SamplingOptions> | undefined {
  if (spec === undefined) return undefined;
  const s = spec as Partial<Record<'sampling' | 'numFrames' | 'interval' | 'gtFrames', unknown>>;
  if (typeof s.sampling === 'string') {
    return { sampling: s.sampling as SamplingOptions['sampling'], ...(typeof s.numFrames === 'number' ? { numFrames: s.numFrames } : {}), ...(typeof s.interval === 'number' ? { interval: s.interval } : {}) };
  }
  // Datasets without sampling options (the synthetic one): numFrames in, one or all frames out.
  if (typeof s.numFrames === 'number') return { sampling: s.gtFrames === 'all' ? 'n_n' : 'n_c', numFrames: s.numFrames };
  return undefined;
}

function planOf(inference: ModelInference, sampling: Partial<SamplingOptions> | undefined, context: number): TemporalPlan {
  return { sampling: { ...samplingDefaults, ...inference.sampling, ...sampling, overlapping: true }, context, wholeVideo: inference.wholeVideo };
}

/** The frames a strategy restores nothing for at each end of a clip. */
function strategyContext(spec: ComponentSpec): number {
  return buildComponent<Strategy>('strategy', spec).context ?? 0;
}

/** A restorer source from an experiment (a checkpoint's or a recipe's) and a checkpoint directory. */
export function fromExperiment(exp: Experiment, dir: string, opts: { ema: boolean; label?: string }): RestorerSource {
  const inference = modelInference(exp.model);
  const strategy = exp.strategy ?? inference.strategy;
  const sampling = samplingOf(exp.data.val) ?? samplingOf(exp.data.train);
  const trainCrop = trainCropOf(exp);
  return { label: opts.label ?? dir, model: exp.model, strategy, plan: planOf(inference, sampling, strategyContext(strategy)), weights: { kind: 'checkpoint', dir }, ema: opts.ema, seed: exp.seed, ...(trainCrop ? { trainCrop } : {}) };
}

/** A zoo model by type name with `model.*` overrides (`--set model.width=16`) and a weights file. */
export function fromModelName(type: string, sets: readonly string[], weights: { file: string; key?: string }, opts: { ema: boolean }): RestorerSource {
  const other = sets.find((set) => !set.startsWith('model.'));
  if (other !== undefined) throw new Error(`--set ${other}: with --model, only model.* options can be set`);
  const r = applyOverrides({ model: { type } }, sets);
  if (isLeft(r)) throw new Error(r.left.join('\n'));
  const value = (r.right as { model: unknown }).model;
  const model = decodeComponent('model', value);
  const inference = modelInference(model);
  return { label: weights.file, model, strategy: inference.strategy, plan: planOf(inference, undefined, strategyContext(inference.strategy)), weights: { kind: 'file', ...weights }, ema: opts.ema, seed: 0 };
}
