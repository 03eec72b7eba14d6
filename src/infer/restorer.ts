// Builds the model a restorer source describes and loads its weights (raw or EMA) from a
// checkpoint directory, a safetensors file or a PyTorch checkpoint.
import fs from 'node:fs';
import path from 'node:path';
import { buildComponent } from '../config/registry.ts';
import { readSafetensors, type RawTensor } from '../io/safetensors.ts';
import { readEmaWeights } from '../engine/checkpoint.ts';
import { readWeightsFile } from '../models/parity.ts';
import { loadStateDict, type Model } from '../models/model.ts';
import { buildModel, modelInference, modelSizeMultiple } from '../models/define.ts';
import type { Strategy } from '../engine/strategy.ts';
import type { RestorerSource } from './load.ts';
import type { Restorer } from './run.ts';
import { GraphCache } from '../runtime/graph-cache.ts';
import { graphFunctionsAvailable } from '../runtime/graph-function.ts';

function stateDictOf(source: RestorerSource): { file: string; tensors: Record<string, RawTensor> } {
  const w = source.weights;
  if (w.kind === 'file') return { file: w.file, tensors: readWeightsFile(w.file, w.key, source.ema) };
  if (!source.ema) return { file: path.join(w.dir, 'weights.safetensors'), tensors: readSafetensors(path.join(w.dir, 'weights.safetensors')).tensors };
  const file = path.join(w.dir, 'optimizer.safetensors');
  if (!fs.existsSync(file)) throw new Error(`--ema: ${w.dir} has no optimizer.safetensors, so no EMA weights`);
  const tensors = readEmaWeights(w.dir);
  if (Object.keys(tensors).length === 0) throw new Error(`--ema: ${file} holds no EMA weights (the run did not set ema)`);
  return { file, tensors };
}

const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
const lcm = (x: number, y: number): number => (x * y) / gcd(x, y);

/** A restorer whose model this process built: dispose of it when done. */
export interface LoadedRestorer extends Restorer {
  /** Frees the model's weights and graph functions. */
  dispose(): void;
}

/**
 * Builds the source's model (with `modelOverrides`, e.g. TLC) and loads its weights, strictly.
 * `graph` (default: where the runtime has graph functions) runs forward passes as graph functions.
 */
export function loadRestorer(source: RestorerSource, modelOverrides: Readonly<Record<string, unknown>> = {}, opts: { readonly graph?: boolean } = {}): LoadedRestorer {
  const { file, tensors } = stateDictOf(source);
  const model: Model = buildModel({ ...source.model, ...modelOverrides }, source.seed);
  try {
    // Our checkpoints' EMA tensors are in our layout; every weights file is in PyTorch's.
    const layout = source.weights.kind === 'checkpoint' && source.ema ? 'ours' : 'pytorch';
    loadStateDict(model, tensors, { layout, strict: true });
  } catch (err) {
    model.dispose();
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const strategy = buildComponent<Strategy>('strategy', source.strategy);
  const sizeMultiple = lcm(modelSizeMultiple(source.model) ?? 1, strategy.sizeMultiple ?? 1);
  const align = lcm(sizeMultiple, modelInference(source.model).align);
  // A window's first run is its trace: no pass is spent on tracing alone.
  const graphs = (opts.graph ?? true) && graphFunctionsAvailable() ? new GraphCache({ useTrace: true }) : undefined;
  const dispose = () => {
    graphs?.dispose();
    model.dispose();
  };
  return { model, params: model.params, strategy, plan: source.plan, sizeMultiple, align, ...(graphs ? { graphs } : {}), dispose };
}
