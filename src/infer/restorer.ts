// Builds the model a restorer source describes and loads its weights (raw or EMA) from a
// checkpoint directory, a safetensors file or a PyTorch checkpoint.
import fs from 'node:fs';
import path from 'node:path';
import { buildComponent } from '../config/registry.ts';
import { readSafetensors, tensorTable, type RawTensor } from '../io/safetensors.ts';
import { readTorchStateDict } from '../io/pth/index.ts';
import { loadStateDict, type Model } from '../models/model.ts';
import { buildModel, modelInference, modelSizeMultiple } from '../models/define.ts';
import type { Strategy } from '../engine/strategy.ts';
import type { RestorerSource } from './load.ts';
import type { Restorer } from './run.ts';

function stateDictOf(source: RestorerSource): { file: string; tensors: Record<string, RawTensor> } {
  const w = source.weights;
  if (w.kind === 'checkpoint') {
    if (!source.ema) return { file: path.join(w.dir, 'weights.safetensors'), tensors: readSafetensors(path.join(w.dir, 'weights.safetensors')).tensors };
    // Our checkpoints keep the EMA weights beside the optimiser state, in our layout.
    const file = path.join(w.dir, 'optimizer.safetensors');
    if (!fs.existsSync(file)) throw new Error(`--ema: ${w.dir} has no optimizer.safetensors, so no EMA weights`);
    const { tensors } = readSafetensors(file, { select: (k) => k.startsWith('ema/') });
    if (Object.keys(tensors).length === 0) throw new Error(`--ema: ${file} holds no EMA weights (the run did not set ema)`);
    return { file, tensors: tensorTable(Object.entries(tensors).map(([k, v]) => [k.slice(4), v] as const)) };
  }
  if (w.file.endsWith('.safetensors')) {
    if (source.ema) throw new Error(`--ema: ${w.file} is a safetensors file with one set of weights (--ema picks params_ema in a PyTorch checkpoint)`);
    return { file: w.file, tensors: readSafetensors(w.file).tensors };
  }
  return { file: w.file, tensors: readTorchStateDict(w.file, { ...(w.key === undefined ? {} : { key: w.key }), ema: source.ema }).tensors };
}

const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
const lcm = (x: number, y: number): number => (x * y) / gcd(x, y);

/** A restorer whose model this process built: dispose of it when done. */
export interface LoadedRestorer extends Restorer {
  /** Frees the model's weights. */
  dispose(): void;
}

/** Builds the source's model (with `modelOverrides`, e.g. TLC) and loads its weights, strictly. */
export function loadRestorer(source: RestorerSource, modelOverrides: Readonly<Record<string, unknown>> = {}): LoadedRestorer {
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
  return { model, params: model.params, strategy, plan: source.plan, sizeMultiple, align, dispose: () => model.dispose() };
}
