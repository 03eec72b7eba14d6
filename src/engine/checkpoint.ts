// Checkpoints are directories — weights.safetensors (PyTorch layout, loadable by name from
// Python), optimizer.safetensors (optimiser and EMA state), state.json (experiment value,
// position, metrics, versions) — built under a temporary name and renamed into place, so a
// crash never leaves a torn checkpoint.
import fs from 'node:fs';
import { writeDirAtomic, writeFileAtomicSync } from '../io/atomic.ts';
import path from 'node:path';
import { runtimeInfo } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';
import { fromTensor, readSafetensors, tensorTable, toTensor, writeSafetensors, type RawTensor } from '../io/safetensors.ts';
import { loadStateDict, stateDict, type Model } from '../models/model.ts';
import type { OptimizerState as TensorState } from '../optim/types.ts';
import * as t from 'io-ts';
import { FiniteNumber, NonNegInt, strict } from '../config/codecs.ts';
import { decodeOrThrow } from '../config/errors.ts';
import { listNames, nonFiniteRaw } from '../util/finite.ts';

export const CHECKPOINT_FORMAT = 1;
/** optimizer.safetensors holds the EMA weights under this prefix. */
const EMA_PREFIX = 'ema/';

/** A checkpoint's state.json: the experiment, position in the run, metrics and versions. */
export interface CheckpointState {
  readonly format: number;
  readonly experiment: unknown;
  readonly epoch: number;
  /** Batches of `epoch` already trained on (resume continues with the next one). */
  readonly batch: number;
  readonly iteration: number;
  readonly seed: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly bestPsnr: number | null;
  readonly optimizerMeta: Readonly<Record<string, number>>;
  readonly emaMeta: Readonly<Record<string, number>> | null;
  readonly versions: Readonly<Record<string, string>>;
  readonly savedAt: string;
}

const Metrics = t.record(t.string, t.union([FiniteNumber, t.null]), 'record of numbers');
const Meta = t.record(t.string, FiniteNumber, 'record of numbers');

/** What a state.json must hold (the format is checked first, on its own). */
const StateCodec = strict(
  {
    format: FiniteNumber,
    experiment: t.unknown,
    epoch: NonNegInt,
    batch: NonNegInt,
    iteration: NonNegInt,
    seed: NonNegInt,
    // NaN metrics are written as null by JSON.stringify.
    metrics: Metrics,
    bestPsnr: t.union([FiniteNumber, t.null]),
    optimizerMeta: Meta,
    emaMeta: t.union([Meta, t.null]),
    versions: t.record(t.string, t.string, 'record of strings'),
    savedAt: t.string,
  },
  {},
  'checkpoint state',
);

/** Options for loading weights or training state. */
export interface LoadCheckpointOptions {
  /** Load tensors holding NaN or ±Infinity too (refused by default: they are a diverged run's). */
  readonly allowNonfinite?: boolean;
}

/** Throws naming `file` and the tensors holding non-finite values, unless allowed. */
export function refuseNonfinite(file: string, tensors: Readonly<Record<string, RawTensor>>, opts: LoadCheckpointOptions = {}): void {
  if (opts.allowNonfinite) return;
  const bad = nonFiniteRaw(tensors);
  if (bad.length > 0) throw new Error(`${file}: non-finite values in ${listNames(bad)}; pass allowNonfinite (--allow-nonfinite) to load them anyway`);
}

function rawMap(tensors: Readonly<Record<string, Tensor>>): Record<string, RawTensor> {
  return tensorTable(Object.entries(tensors).map(([k, t]) => [k, fromTensor(t)] as const));
}

export interface CheckpointContents {
  readonly model: Model;
  readonly optimizer: TensorState;
  readonly ema?: TensorState;
  readonly state: Omit<CheckpointState, 'format' | 'versions' | 'savedAt' | 'optimizerMeta' | 'emaMeta'>;
}

export async function saveCheckpoint(dir: string, c: CheckpointContents): Promise<void> {
  // Read everything off the tensors first: the directory is then written with no TF work.
  const weights = stateDict(c.model, 'pytorch');
  const ema = c.ema ? Object.entries(rawMap(c.ema.tensors)).map(([k, v]) => [`${EMA_PREFIX}${k}`, v] as const) : [];
  const training = tensorTable([...Object.entries(rawMap(c.optimizer.tensors)), ...ema]);
  const info = runtimeInfo();
  const state: CheckpointState = {
    ...c.state,
    format: CHECKPOINT_FORMAT,
    optimizerMeta: c.optimizer.meta,
    emaMeta: c.ema?.meta ?? null,
    versions: { simdeblur: packageVersion(), tfjs: info.tfjsVersion, tensorflow: info.tfVersion ?? 'none', backend: info.backend },
    savedAt: new Date().toISOString(),
  };
  await writeDirAtomic(dir, (tmp) => {
    writeSafetensors(path.join(tmp, 'weights.safetensors'), weights, { format: 'pt', layout: 'pytorch', model: c.model.name });
    writeSafetensors(path.join(tmp, 'optimizer.safetensors'), training, { layout: 'simdeblur' });
    writeFileAtomicSync(path.join(tmp, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  });
}

let cachedVersion: string | undefined;
function packageVersion(): string {
  if (cachedVersion) return cachedVersion;
  const pkg = new URL('../../package.json', import.meta.url);
  cachedVersion = (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
  return cachedVersion;
}

/** Reads state.json of a checkpoint directory. */
export function readCheckpointState(dir: string): CheckpointState {
  const file = path.join(dir, 'state.json');
  if (!fs.existsSync(file)) throw new Error(`${dir} is not a checkpoint: no state.json`);
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const format = (value as { format?: unknown } | null)?.format;
  if (format !== CHECKPOINT_FORMAT) throw new Error(`${file}: checkpoint format ${JSON.stringify(format)}, this version reads ${CHECKPOINT_FORMAT}`);
  const state = decodeOrThrow(StateCodec, value, `${file}: invalid checkpoint state`);
  return { ...state, metrics: Object.fromEntries(Object.entries(state.metrics).map(([k, v]) => [k, v ?? NaN])) };
}

/**
 * Loads weights (and buffers) into the model's variables, by name, strictly. Non-finite values
 * are refused unless `opts.allowNonfinite`.
 */
export function loadWeights(model: Model, file: string, opts: LoadCheckpointOptions = {}): void {
  try {
    loadStateDict(model, readSafetensors(file).tensors, { layout: 'pytorch', strict: true, ...(opts.allowNonfinite ? { allowNonfinite: true } : {}) });
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Optimiser and EMA tensors of a checkpoint (the caller owns and disposes them). */
export function loadTrainingState(dir: string, state: CheckpointState, opts: LoadCheckpointOptions = {}): { optimizer: TensorState; ema?: TensorState } {
  const file = path.join(dir, 'optimizer.safetensors');
  const { tensors } = readSafetensors(file);
  refuseNonfinite(file, tensors, opts);
  const opt = tensorTable<Tensor>();
  const ema = tensorTable<Tensor>();
  for (const [k, raw] of Object.entries(tensors)) {
    if (k.startsWith(EMA_PREFIX)) ema[k.slice(EMA_PREFIX.length)] = toTensor(raw);
    else opt[k] = toTensor(raw);
  }
  return {
    optimizer: { tensors: opt, meta: { ...state.optimizerMeta } },
    ...(state.emaMeta ? { ema: { tensors: ema, meta: { ...state.emaMeta } } } : {}),
  };
}

/**
 * The exponential moving average of a checkpoint's weights, by parameter name in our layout (the
 * run kept it beside the optimiser state); empty when the run had no EMA.
 */
export function readEmaWeights(dir: string): Record<string, RawTensor> {
  const { tensors } = readSafetensors(path.join(dir, 'optimizer.safetensors'), { select: (k) => k.startsWith(EMA_PREFIX) });
  return tensorTable(Object.entries(tensors).map(([k, v]) => [k.slice(EMA_PREFIX.length), v] as const));
}

/** The iteration in a periodic checkpoint's directory name (`iter_<n>`). */
export function checkpointIteration(dir: string): number {
  const m = /^iter_(\d+)$/.exec(path.basename(dir));
  if (!m) throw new Error(`${dir}: not a periodic checkpoint directory (iter_<n>)`);
  return Number(m[1]);
}

/** Checkpoint directories under `root` (named `iter_<n>`), oldest first. */
export function listCheckpoints(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((d) => /^iter_\d+$/.test(d) && fs.existsSync(path.join(root, d, 'state.json')))
    .sort((a, b) => checkpointIteration(a) - checkpointIteration(b))
    .map((d) => path.join(root, d));
}

/** The newest `iter_*` checkpoint under a checkpoints directory, if any. */
export function latestCheckpoint(root: string): string | undefined {
  return listCheckpoints(root).at(-1);
}
