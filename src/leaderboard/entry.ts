// One model's leaderboard entry: the experiment it is trained with, how it is evaluated and
// how its cost is measured, built from the protocol and the model's own definition. The
// model's recipe supplies what belongs to the method (network options, training windows,
// strategy, loss, optimiser); without a recipe the model registry's inference settings do.
// The protocol supplies the shared conditions (data, budget, crop, schedule, seed) and its
// per-model rules (smaller options, a preset, a learning rate). Nothing here knows any model.
import { isLeft } from 'fp-ts/lib/Either.js';
import { decodeExperiment, type Experiment } from '../config/experiment.ts';
import { decodeComponent, registeredTypes, type ComponentSpec } from '../config/registry.ts';
import { didYouMean } from '../config/suggest.ts';
import { modelInference } from '../models/define.ts';
import * as zoo from '../models/index.ts';
import { checkSampling, DVD_TEST_MIN_FRAMES, samplingDefaults, windowSpan, type SamplingOptions } from '../data/sampling.ts';
import { canonicalHash } from './canonical.ts';
import { centreFrames, dataIdentity, dataLayout, splitRoots } from './data.ts';
import type { Protocol } from './protocol.ts';
import { loadModelRecipe, recipeFile, type Recipe } from './recipes.ts';

/** How an entry's model is scored after training. */
export interface EvalPlan {
  /** The held-out dataset (folders under `$DATA`). */
  readonly dataset: ComponentSpec;
  /** Every restored frame, or only these (`video/frame` ids). */
  readonly frames: 'all' | readonly string[];
}

/** How an entry's cost is measured: one clip of the model's evaluation windows at `size`. */
export interface CostPlan {
  readonly size: readonly [number, number];
  readonly runs: number;
  readonly sampling: SamplingOptions;
}

/** Everything that determines a row's numbers; its canonical hash names the row. */
export interface Entry {
  /** The model type. */
  readonly model: string;
  /** How the network differs from its recipe's (or default) options, and the protocol's note. */
  readonly note: string;
  /** The recipe file the entry derives from (null: the registry's settings). */
  readonly recipe: string | null;
  readonly experiment: Experiment;
  readonly eval: EvalPlan;
  readonly cost: CostPlan;
  /** The data's identity (synthesis settings or benchmark folder). */
  readonly data: unknown;
}

/** SHA-256 of the entry's canonical JSON (everything but the model name, note and recipe, which it determines). */
export function entryHash(e: Entry): string {
  return canonicalHash({ experiment: e.experiment, eval: e.eval, cost: e.cost, data: e.data });
}

const READER_KEYS = ['sampling', 'numFrames', 'interval', 'overlapping'] as const;

/** The sampling options of a dataset spec (those a reader has; undefined for other datasets). */
function samplingOf(spec: ComponentSpec | undefined): SamplingOptions | undefined {
  if (spec === undefined || typeof spec.sampling !== 'string') return undefined;
  return checkSampling(Object.fromEntries(READER_KEYS.filter((k) => spec[k] !== undefined).map((k) => [k, spec[k]])) as Partial<SamplingOptions>);
}

/** A model's preset `name`, from the zoo's combinators (models defined elsewhere have none here). */
export function presetOf(type: string, name: string): Record<string, unknown> {
  const combinator = Object.values(zoo).find((c) => c.type === type) as { presets?: Record<string, Record<string, unknown>> } | undefined;
  const presets = combinator?.presets ?? {};
  const p = presets[name];
  if (p === undefined) throw new Error(`models.${type}.preset: no preset '${name}'${didYouMean(name, Object.keys(presets))} (presets: ${Object.keys(presets).join(', ') || 'none'})`);
  return p;
}

/** `a 64→16, b [1,1]→[2]`: the options of `spec` that differ from `base`. */
function optionChanges(base: ComponentSpec, spec: ComponentSpec): string {
  const show = (v: unknown) => (v === undefined ? '-' : JSON.stringify(v));
  return Object.keys(spec)
    .filter((k) => k !== 'type' && show(base[k]) !== show(spec[k]))
    .map((k) => `${k} ${show(base[k])}→${show(spec[k])}`)
    .join(', ');
}

function fail(type: string, message: string): never {
  throw new Error(`leaderboard entry ${type}: ${message}`);
}

/** The model's spec: the recipe's (or the defaults), then the protocol's preset and options. */
function modelSpec(p: Protocol, type: string, recipe: Recipe | undefined): { spec: ComponentSpec; base: ComponentSpec } {
  const rule = p.models[type] ?? {};
  const base = decodeComponent('model', recipe !== undefined && !recipe.borrowed ? recipe.experiment.model : { type });
  const preset = rule.preset !== undefined ? presetOf(type, rule.preset) : {};
  try {
    return { spec: decodeComponent('model', { ...base, ...preset, ...(rule.options ?? {}) }), base };
  } catch (err) {
    return fail(type, `models.${type}.options: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Training windows: the recipe's, recurrent clips cut to `train.maxFrames`. */
function trainSampling(p: Protocol, recipe: Recipe | undefined, spec: ComponentSpec): SamplingOptions {
  let s = samplingOf(recipe?.experiment.data.train) ?? checkSampling({ ...samplingDefaults, ...modelInference(spec).sampling });
  if (s.sampling === 'video') s = { ...s, sampling: 'n_n', numFrames: p.train.maxFrames ?? p.cost.videoFrames };
  const cap = p.train.maxFrames;
  if (cap !== undefined && (s.sampling === 'n_n' || s.sampling === 'strcnn') && s.numFrames > cap) s = { ...s, numFrames: Math.max(cap, s.sampling === 'strcnn' ? 5 : 1) };
  return checkSampling(s);
}

/**
 * Evaluation windows: the recipe's validation windows. DVD's fixed test anchors need the DVD
 * benchmark's 100-frame test videos: on other data they become centred windows of the same length.
 */
function evalSampling(p: Protocol, recipe: Recipe | undefined, spec: ComponentSpec): SamplingOptions {
  const s = samplingOf(recipe?.experiment.data.val) ?? checkSampling({ ...samplingDefaults, ...modelInference(spec).sampling });
  const dvdTest = p.data.benchmark?.layout === 'dvd' || (p.data.synth?.layout === 'dvd' && p.data.synth.frames >= DVD_TEST_MIN_FRAMES);
  return s.sampling === 'dvd_test' && !dvdTest ? { ...s, sampling: 'n_c' } : s;
}

function datasetSpec(p: Protocol, split: 'train' | 'test', s: SamplingOptions): ComponentSpec {
  const cache = split === 'train' && p.data.synth !== undefined ? { memoryCache: true } : {};
  return decodeComponent('dataset', { type: dataLayout(p.data), ...splitRoots(p.data, split), ...s, ...cache });
}

function augmentations(p: Protocol, type: string, recipe: Recipe | undefined): ComponentSpec[] {
  const recipeAug = recipe?.experiment.data.augment ?? [];
  const recipeCrop = recipeAug.find((a) => a.type === 'crop')?.size as [number, number] | undefined;
  const size = p.train.crop === 'recipe' ? (recipeCrop ?? fail(type, "train.crop is 'recipe' but the recipe has no crop")) : p.train.crop;
  const crop = { type: 'crop', size };
  const flips = [crop, { type: 'hflip' }, { type: 'vflip' }];
  if (p.train.augment === 'none') return [crop];
  if (p.train.augment === 'flips' || recipeAug.length === 0) return flips;
  return recipeAug.map((a) => (a.type === 'crop' ? { ...a, size } : a));
}

function optimizer(p: Protocol, type: string, recipe: Recipe | undefined): ComponentSpec {
  const own = p.models[type]?.lr;
  if (recipe !== undefined) {
    const o = recipe.experiment.optimizer;
    return { ...o, lr: own ?? (o.lr as number) * p.train.lrScale };
  }
  const o = p.train.optimizer ?? fail(type, 'the model has no recipe: give models.<type>.recipe or train.optimizer');
  return own !== undefined ? { ...o, lr: own } : o;
}

/** The training experiment of model `type` under protocol `p` (data folders under `$DATA`). */
function experimentOf(p: Protocol, type: string, recipe: Recipe | undefined, spec: ComponentSpec, evalData: ComponentSpec): Experiment {
  const r = recipe?.experiment;
  const need = <T>(v: T | undefined, what: string): T => v ?? fail(type, `train.${what} is 'recipe' (or the model has no recipe and no protocol value)`);
  const budget = p.train.iterations !== 'recipe';
  const run = budget ? { iterations: p.train.iterations as number } : need(r?.run, 'iterations');
  const length = run.iterations ?? run.epochs!;
  const strategy = r?.strategy ?? modelInference(spec).strategy;
  const value = {
    name: `${p.name}-${type}`,
    seed: p.seed,
    data: {
      train: datasetSpec(p, 'train', trainSampling(p, recipe, spec)),
      ...(p.eval.during ? { val: evalData } : {}),
      batchSize: p.train.batch === 'recipe' ? need(r?.data.batchSize, 'batch') : p.train.batch,
      workers: p.train.workers,
      augment: augmentations(p, type, recipe),
    },
    model: spec,
    ...(strategy.type !== 'singleScale' ? { strategy } : {}),
    loss: p.train.loss === 'recipe' ? need(r?.loss, 'loss') : { terms: [{ weight: 1, loss: p.train.loss }] },
    optimizer: optimizer(p, type, recipe),
    schedule: p.train.schedule === 'recipe' ? need(r?.schedule, 'schedule') : p.train.schedule,
    run,
    validation: { every: p.eval.every ?? (budget || r === undefined ? length : r.validation.every) },
    checkpoint: budget || r === undefined ? { every: length, keepLast: 1, keepBest: p.eval.during } : r.checkpoint,
    log: { every: p.train.logEvery },
    ...(r?.clipGradNorm !== undefined ? { clipGradNorm: r.clipGradNorm } : {}),
    ...(r?.ema !== undefined ? { ema: r.ema } : {}),
  };
  const decoded = decodeExperiment(value);
  if (isLeft(decoded)) fail(type, `the experiment built for it is invalid:\n  ${decoded.left.join('\n  ')}`);
  return decoded.right;
}

/** Builds the entry of model `type` under protocol `p` (loading its recipe, if it has one). */
export async function buildEntry(p: Protocol, type: string): Promise<Entry> {
  const known = registeredTypes('model');
  if (!known.includes(type)) throw new Error(`unknown model '${type}'${didYouMean(type, known)} (models: ${known.join(', ')})`);
  const file = recipeFile(p, type);
  const recipe = file === undefined ? undefined : await loadModelRecipe(file, type, p.models[type]?.recipe !== undefined);
  const { spec, base } = modelSpec(p, type, recipe);
  const evalWindows = evalSampling(p, recipe, spec);
  if (p.data.synth !== undefined && evalWindows.sampling !== 'video' && windowSpan(evalWindows) > p.data.synth.frames) {
    fail(type, `its evaluation windows (${evalWindows.sampling}, ${evalWindows.numFrames} frames) are longer than the synthesised videos (${p.data.synth.frames} frames)`);
  }
  const evalData = datasetSpec(p, 'test', evalWindows);
  const experiment = experimentOf(p, type, recipe, spec, evalData);
  const costSampling = evalWindows.sampling === 'video' ? { ...evalWindows, numFrames: p.cost.videoFrames } : evalWindows;
  const borrowed = recipe?.borrowed ? `trained as in ${recipe.file}` : '';
  const note = [optionChanges(base, spec), borrowed, p.models[type]?.note ?? ''].filter((s) => s !== '').join('; ');
  return {
    model: type,
    note,
    recipe: recipe?.file ?? null,
    experiment,
    eval: { dataset: evalData, frames: typeof p.eval.score === 'object' ? centreFrames(p.data.synth!, p.eval.score.centre) : 'all' },
    cost: { size: p.cost.size, runs: p.cost.runs, sampling: costSampling },
    data: dataIdentity(p.data),
  };
}

/** The model types `--models` names ('all': every registered model; undefined: the protocol's default). */
export function selectModels(p: Protocol, list: string | undefined): string[] {
  const known = registeredTypes('model');
  const chosen = list === undefined ? p.defaultModels : list.trim() === 'all' ? 'all' : list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const types = chosen === 'all' ? known : chosen;
  for (const t of types) if (!known.includes(t)) throw new Error(`--models: unknown model '${t}'${didYouMean(t, known)} (models: ${known.join(', ')}, or all)`);
  if (types.length === 0) throw new Error('--models: no model named');
  return [...new Set(types)];
}
