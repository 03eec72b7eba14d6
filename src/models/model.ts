// The model contract, and state-dict loading/saving by PyTorch parameter name.
//
// State dicts on this side are plain data: `Record<string, RawTensor>` (shape + Float32Array or
// Int32Array), exactly what io/safetensors reads and writes. `layout` says whether weights are
// in PyTorch's layout (conv OIHW, convT [in,out,kh,kw], linear [out,in]) or ours (HWIO, ...).
import { tf } from '../runtime/index.ts';
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { fromPytorchLayout, numElements, tensorTable, toPytorchLayout } from '../io/safetensors.ts';
import type { ParamKind, RawTensor } from '../io/safetensors.ts';
import type { ParamStore } from '../nn/params.ts';
import { nonFiniteRaw } from '../util/finite.ts';
import { didYouMean } from '../config/suggest.ts';

export type { ParamKind, RawTensor } from '../io/safetensors.ts';

/**
 * Parameter tensors by PyTorch state_dict name, in our layout (HWIO convolutions), as passed to
 * `Model.apply`.
 */
export type Params = Readonly<Record<string, Tensor>>;
/** Image `[B,H,W,C]`, clip `[B,T,H,W,C]`, or a pyramid list (finest first). */
export type ModelInput = Tensor | Tensor[];
/**
 * What a model returns: an image `[B,H,W,C]` or clip `[B,T,H,W,C]` tensor, or a list of tensors
 * (multi-scale outputs, in the order the model documents).
 */
export type ModelOutput = Tensor | Tensor[];

/**
 * A deblurring network: named trainable parameters and buffers, and a pure `apply` from input to
 * output; values are NHWC.
 */
export interface Model {
  readonly name: string;
  /** Trainable parameters, keyed by PyTorch state_dict names, in our layout. */
  readonly params: Readonly<Record<string, Variable>>;
  /** Non-trainable state (BatchNorm running stats, num_batches_tracked). */
  readonly buffers: Readonly<Record<string, Variable>>;
  /** Layout kind of every param and buffer, for PyTorch conversion. */
  readonly kinds: Readonly<Record<string, ParamKind>>;
  /** Pure except for BatchNorm buffer updates in training mode. Runs in its own tf.tidy. */
  apply(params: Params, input: ModelInput, opts: { readonly training: boolean }): ModelOutput;
  /** Frees the model's parameters and buffers. */
  dispose(): void;
}

/** Parameters and buffers as plain data by name, ready to save (for example as safetensors). */
export type StateDict = Record<string, RawTensor>;
/**
 * Tensor layout of a state dict: `pytorch` (conv OIHW, transposed conv [in, out, kh, kw], linear [out,
 * in]) or `ours` (HWIO, as the model holds them).
 */
export type Layout = 'pytorch' | 'ours';

/**
 * Options of `loadStateDict`: the layout of the state dict and whether missing and unexpected keys are
 * errors.
 */
export interface LoadOptions {
  readonly layout: Layout;
  /** Strict: missing and unexpected keys are errors (shape mismatches always are). */
  readonly strict: boolean;
  /**
   * Load values that are NaN or ±Infinity. Off by default: such weights come from a diverged
   * run and would only make every output NaN.
   */
  readonly allowNonfinite?: boolean;
}

/**
 * The keys `loadStateDict` found missing from the state dict and those it did not expect; both empty
 * in strict mode.
 */
export interface LoadReport {
  readonly missing: string[];
  readonly unexpected: string[];
}

/** Wraps a parameter store and an apply function into a Model; `apply` runs in tf.tidy. */
export function makeModel(
  name: string,
  store: ParamStore,
  apply: (params: Params, input: ModelInput, opts: { readonly training: boolean }) => ModelOutput,
): Model {
  return {
    name,
    params: store.params,
    buffers: store.buffers,
    kinds: store.kinds,
    apply: (params, input, opts) => tf.tidy(() => apply(params, input, opts)),
    dispose: () => store.dispose(),
  };
}

/** Every variable of the model, parameters then buffers: what a graph function of it takes as inputs. */
export function modelVariables(m: Model): Variable[] {
  return [...Object.values(m.params), ...Object.values(m.buffers)];
}

/** Number of trainable scalars. */
export function countParams(m: Model): number {
  return Object.values(m.params).reduce((n, v) => n + v.size, 0);
}

const shapeStr = (s: readonly number[]): string => `[${s.join(', ')}]`;

// PyTorch stores num_batches_tracked as a 0-d tensor, but exporters often write it as [1].
function shapesCompatible(a: readonly number[], b: readonly number[]): boolean {
  if (a.length === b.length && a.every((d, i) => d === b[i])) return true;
  return a.length <= 1 && b.length <= 1 && numElements(a) === 1 && numElements(b) === 1;
}

function variable(m: Model, key: string): Variable | undefined {
  return Object.prototype.hasOwnProperty.call(m.params, key) ? m.params[key] : Object.prototype.hasOwnProperty.call(m.buffers, key) ? m.buffers[key] : undefined;
}

/**
 * Copies a state dict into the model's variables. Checks everything before assigning anything,
 * and reports all problems in one error. Returns the keys that were missing / unexpected
 * (non-empty only when not strict).
 */
export function loadStateDict(m: Model, sd: Readonly<Record<string, RawTensor>>, opts: LoadOptions): LoadReport {
  const problems: string[] = [];
  const unexpected: string[] = [];
  const plan: Array<{ v: Variable; raw: RawTensor }> = [];
  let nonFinite = false;
  for (const [key, raw0] of Object.entries(sd)) {
    const v = variable(m, key);
    if (v === undefined) {
      unexpected.push(key);
      continue;
    }
    if (raw0.data.length !== numElements(raw0.shape)) {
      problems.push(`'${key}': data has ${raw0.data.length} values for shape ${shapeStr(raw0.shape)}`);
      continue;
    }
    const kind = m.kinds[key] ?? 'plain';
    let raw: RawTensor;
    try {
      raw = opts.layout === 'pytorch' ? fromPytorchLayout(key, raw0, kind) : raw0;
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
      continue;
    }
    if (!shapesCompatible(raw.shape, v.shape)) {
      const theirs = opts.layout === 'pytorch' ? `${shapeStr(raw0.shape)} (PyTorch layout; ${shapeStr(raw.shape)} in ours)` : shapeStr(raw.shape);
      problems.push(`shape mismatch for '${key}': file has ${theirs}, model has ${shapeStr(v.shape)}`);
      continue;
    }
    if (!opts.allowNonfinite) {
      const bad = nonFiniteRaw({ [key]: raw0 });
      if (bad.length > 0) {
        nonFinite = true;
        problems.push(`non-finite values in ${bad[0]}`);
        continue;
      }
    }
    plan.push({ v, raw });
  }
  const missing = [...Object.keys(m.params), ...Object.keys(m.buffers)].filter((k) => !Object.prototype.hasOwnProperty.call(sd, k));
  if (opts.strict) {
    // A renamed or re-prefixed key is usually the closest missing one.
    for (const k of unexpected) problems.push(`unexpected key '${k}'${didYouMean(k, missing)}`);
    for (const k of missing) problems.push(`missing key '${k}'`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).join('\n  ');
    const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : '';
    const hint = nonFinite ? '\n  (pass allowNonfinite, or --allow-nonfinite on the command line, to load non-finite values anyway)' : '';
    throw new Error(`cannot load state dict into ${m.name}:\n  ${shown}${more}${hint}`);
  }
  for (const { v, raw } of plan) {
    const data =
      v.dtype === 'int32'
        ? raw.data instanceof Int32Array ? raw.data : Int32Array.from(raw.data, Math.round)
        : raw.data instanceof Float32Array ? raw.data : Float32Array.from(raw.data);
    tf.tidy(() => v.assign(tf.tensor(data, v.shape, v.dtype)));
  }
  return { missing: opts.strict ? [] : missing, unexpected: opts.strict ? [] : unexpected };
}

/**
 * Params and buffers as plain data, for saving. In PyTorch layout, int32 buffers are marked
 * I64 (PyTorch's dtype for num_batches_tracked) so the file loads there unchanged.
 */
export function stateDict(m: Model, layout: Layout): StateDict {
  const out: StateDict = tensorTable();
  for (const [key, v] of [...Object.entries(m.params), ...Object.entries(m.buffers)]) {
    const data = v.dtype === 'int32' ? Int32Array.from(v.dataSync() as Int32Array) : Float32Array.from(v.dataSync() as Float32Array);
    const raw: RawTensor = layout === 'pytorch' && v.dtype === 'int32' ? { shape: [...v.shape], data, dtype: 'I64' } : { shape: [...v.shape], data };
    out[key] = layout === 'pytorch' ? toPytorchLayout(key, raw, m.kinds[key] ?? 'plain') : raw;
  }
  return out;
}
