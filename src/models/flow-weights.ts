// Pretrained optical-flow networks inside video models (PWC-Net in CDVD-TSP, LiteFlowNet
// "BIMNet" in PVDNet): loading their weights from a user-given safetensors file into a built
// model, and the one warning printed when no file is given (the flow is then meaningless).
//
// Such files come in several key forms: the flow network's own state dict (its repository's
// `module…` names or the later `net…` names, possibly all under DataParallel's `module.`), the
// same keys under the model's prefix, or a whole model state dict whose flow keys are taken.
// Loading is strict within the flow network: every one of its parameters must be in the file,
// with its shape, and no other key may claim to belong to it. Values are in PyTorch layout.
import { readSafetensors, tensorTable, toPytorchLayout } from '../io/safetensors.ts';
import type { RawTensor } from '../io/safetensors.ts';
import { loadStateDict } from './model.ts';
import type { Model } from './model.ts';

/** How one model holds its flow network, and how that network's state dicts are named. */
export interface FlowNetWeights {
  /** The model, for messages ('CDVD-TSP'). */
  readonly model: string;
  /** The flow network, for messages ('PWC-Net'). */
  readonly network: string;
  /** The spec option that names the file ('flowWeights'). */
  readonly option: string;
  /** Prefix of the flow network's parameters in the model ('flow_net.moduleNetwork.'). */
  readonly prefix: string;
  /** Prefix of the flow network's keys in a whole-model state dict ('flow_net.'). */
  readonly outer: string;
  /** A key of the network's own state dict, for messages ('moduleExtractor.moduleOne.0.weight'). */
  readonly example: string;
  /** Renames the network's own state dict (either naming) to model keys under `prefix`. */
  readonly rename: <T>(sd: Readonly<Record<string, T>>, prefix: string) => Record<string, T>;
}

export interface FlowWeightsReport {
  /** The key form found in the file, in words. */
  readonly form: string;
  /** Tensors loaded into the flow network. */
  readonly loaded: number;
  /** Keys of the file outside the flow network (a whole-model state dict), not read. */
  readonly ignored: number;
}

// ---------------------------------------------------------------------------------------------
// Warnings

export type WarningSink = (message: string) => void;

const toStderr: WarningSink = (message) => {
  process.stderr.write(`warning: ${message}\n`);
};
let sink: WarningSink = toStderr;

/** Emits one warning line (stderr unless redirected with `setFlowWeightsWarningSink`). */
export function warnFlowWeights(message: string): void {
  sink(message);
}

/** Sends the warnings to `next` (null: back to stderr); returns the sink it replaces, to restore it. */
export function setFlowWeightsWarningSink(next: WarningSink | null): WarningSink {
  const previous = sink;
  sink = next ?? toStderr;
  return previous;
}

// ---------------------------------------------------------------------------------------------
// Key forms

const NET_PART = /^net[A-Z]/;
const MODULE_PART = /^module[A-Z]/;
const DATA_PARALLEL = 'module.';

/**
 * Keys of a flow network's own state dict renamed to model keys under `prefix`. Both flow
 * networks come from sniklaus' PyTorch re-implementations, named after their module attributes
 * (`moduleExtractor.moduleOne.0.weight`); the repositories later renamed `module…` parts to
 * `net…` (`netExtractor.netOne.0.weight`), which map back here. Values pass through unchanged.
 */
export function flowNetStateDict<T>(sd: Readonly<Record<string, T>>, prefix: string): Record<string, T> {
  const out = tensorTable<T>();
  for (const [key, value] of Object.entries(sd)) {
    out[prefix + key.split('.').map((part) => (NET_PART.test(part) ? `module${part.slice(3)}` : part)).join('.')] = value;
  }
  return out;
}

interface Entry {
  readonly fileKey: string;
  readonly raw: RawTensor;
}

interface Selection {
  readonly form: string;
  /** Model key → the file's key and tensor. */
  readonly entries: Map<string, Entry>;
  readonly ignored: number;
  /** Problems found while renaming (two file keys naming one parameter). */
  readonly problems: string[];
  /** The key a model parameter would have in this file's form, for messages. */
  readonly fileKeyOf: (modelKey: string) => string;
}

/** The file's flow-network tensors under model keys, or null when the file has none. */
function select(tensors: Readonly<Record<string, RawTensor>>, net: FlowNetWeights, flowKeys: ReadonlySet<string>): Selection | null {
  const keys = Object.keys(tensors);
  const dataParallel = keys.length > 0 && keys.every((k) => k.startsWith(DATA_PARALLEL));
  const inner = (k: string): string => (dataParallel ? k.slice(DATA_PARALLEL.length) : k);
  const netNaming = keys.some((k) => k.split('.').some((part) => NET_PART.test(part)));
  const renameKey = (k: string, prefix: string): string => Object.keys(net.rename({ [k]: true }, prefix))[0]!;
  const outerKeys = keys.filter((k) => inner(k).startsWith(net.outer));
  const prefixed = outerKeys.length > 0;
  const taken = prefixed ? outerKeys : keys;

  const entries = new Map<string, Entry>();
  const problems: string[] = [];
  for (const fileKey of taken) {
    const modelKey = renameKey(inner(fileKey), prefixed ? '' : net.prefix);
    const earlier = entries.get(modelKey);
    if (earlier !== undefined) {
      problems.push(`keys '${earlier.fileKey}' and '${fileKey}' both name '${modelKey}'`);
      continue;
    }
    entries.set(modelKey, { fileKey, raw: tensors[fileKey]! });
  }
  if (!prefixed && ![...entries.keys()].some((k) => flowKeys.has(k))) return null;

  const naming = netNaming ? "'net…' names" : "'module…' names";
  const under = dataParallel ? `, all under DataParallel's '${DATA_PARALLEL}'` : '';
  const ignored = keys.length - taken.length;
  const form = !prefixed
    ? `a ${net.network} state dict without prefix (${naming}${under})`
    : ignored > 0
      ? `a whole ${net.model} state dict (${taken.length} '${net.outer}…' keys taken, ${ignored} other keys ignored${under})`
      : `${net.network} keys with the model's prefix '${net.prefix}' (${naming}${under})`;
  const fileKeyOf = (modelKey: string): string => {
    const own = prefixed ? modelKey : modelKey.slice(net.prefix.length);
    const named = netNaming ? own.split('.').map((part) => (MODULE_PART.test(part) ? `net${part.slice(6)}` : part)).join('.') : own;
    return dataParallel ? DATA_PARALLEL + named : named;
  };
  return { form, entries, ignored, problems, fileKeyOf };
}

const shapeStr = (s: readonly number[]): string => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
// Only the shape of a layout conversion is wanted: permuting no data gives it.
const NO_DATA = new Float32Array(0);

function readFile(file: string, net: FlowNetWeights): Record<string, RawTensor> {
  try {
    return readSafetensors(file).tensors;
  } catch (err) {
    // The reader's message names the file.
    throw new Error(`${net.model}: ${net.option}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function unrecognised(file: string, net: FlowNetWeights, keys: readonly string[]): Error {
  const sample = keys.length === 0 ? 'it has no tensors' : `it has ${keys.length} keys such as ${keys.slice(0, 3).map((k) => `'${k}'`).join(', ')}`;
  return new Error(
    `${net.model}: the ${net.option} file ${file} holds no ${net.network} weights: expected a ${net.network} state dict ` +
      `(keys like '${net.example}', or with 'net…' names), the same keys with the prefix '${net.prefix}', ` +
      `or a whole ${net.model} state dict with '${net.outer}…' keys; ${sample}`,
  );
}

/**
 * Loads the flow network of `model` from a safetensors file (PyTorch layout). Strict: a missing
 * or unexpected flow-network key or a wrong shape is an error naming the file and the key, and
 * nothing is assigned then. Other keys of a whole-model state dict are not read.
 */
export function loadFlowWeights(model: Model, file: string, net: FlowNetWeights): FlowWeightsReport {
  const tensors = readFile(file, net);
  const variables = { ...model.params, ...model.buffers };
  const flowKeys = new Set(Object.keys(variables).filter((k) => k.startsWith(net.prefix)));
  if (flowKeys.size === 0) throw new Error(`${net.model}: the model has no parameters under '${net.prefix}'`);
  const sel = select(tensors, net, flowKeys);
  if (sel === null) throw unrecognised(file, net, Object.keys(tensors));

  const problems = [...sel.problems];
  for (const [modelKey, { fileKey, raw }] of sel.entries) {
    const alias = fileKey === modelKey ? '' : ` (${net.network} parameter '${modelKey}')`;
    const v = flowKeys.has(modelKey) ? variables[modelKey] : undefined;
    if (v === undefined) {
      problems.push(`unexpected key '${fileKey}'${alias}`);
      continue;
    }
    const expected = toPytorchLayout(modelKey, { shape: v.shape, data: NO_DATA }, model.kinds[modelKey] ?? 'plain').shape;
    if (!sameShape(raw.shape, expected)) problems.push(`wrong shape for '${fileKey}'${alias}: the file has ${shapeStr(raw.shape)}, ${net.network} needs ${shapeStr(expected)} (PyTorch layout)`);
  }
  for (const modelKey of flowKeys) {
    if (sel.entries.has(modelKey)) continue;
    const fileKey = sel.fileKeyOf(modelKey);
    problems.push(`missing key '${fileKey}'${fileKey === modelKey ? '' : ` (${net.network} parameter '${modelKey}')`}`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).join('\n  ');
    const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : '';
    throw new Error(`${net.model}: cannot load ${net.network} weights from the ${net.option} file ${file} (found ${sel.form}):\n  ${shown}${more}`);
  }
  const sd = tensorTable([...sel.entries].map(([k, e]) => [k, e.raw] as const));
  loadStateDict(model, sd, { layout: 'pytorch', strict: false });
  return { form: sel.form, loaded: sel.entries.size, ignored: sel.ignored };
}

/**
 * The component builders' step after building: load the flow network from `file`, or, without
 * one, emit `warning` once. On a loading error the model is disposed before rethrowing.
 */
export function withFlowWeights(model: Model, file: string | undefined, net: FlowNetWeights, warning: string): Model {
  if (file === undefined) {
    warnFlowWeights(warning);
    return model;
  }
  try {
    loadFlowWeights(model, file, net);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}
