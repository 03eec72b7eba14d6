// The parity check behind `simdeblur parity DIR`: rebuild the model a reference fixture was made
// with (its original class and constructor arguments), load its PyTorch weights by name, run its
// input and compare with its output in eval mode.
import { tf } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';
import { readSafetensors, toTensor } from '../io/safetensors.ts';
import type { RawTensor } from '../io/safetensors.ts';
import { readTorchStateDict } from '../io/pth/index.ts';
import { countParams, loadStateDict } from './model.ts';
import { ioList, loadFixture, maxAbsDiff } from './fixture.ts';
import { buildModel, fromOriginal } from './define.ts';
import { setFlowWeightsWarningSink } from './flow-weights.ts';
// Every model definition, so that every original class name is known.
import './index.ts';

export const PARITY_TOLERANCE = 1e-4;

export interface ParityResult {
  readonly model: string;
  readonly type: string;
  readonly params: number;
  readonly expectedParams: number;
  readonly maxAbsErr: number;
  readonly tolerance: number;
  readonly ok: boolean;
}

/** Where `runParity` takes its weights from instead of the fixture's own. */
export interface ParityWeights {
  /** A .safetensors or PyTorch checkpoint (.pth/.pt/.ckpt) file, in PyTorch layout. */
  readonly file: string;
  /** The checkpoint's top-level key holding the state dict (default: found from the wrappers). */
  readonly key?: string;
}

/**
 * A PyTorch-layout state dict from a safetensors file or a PyTorch checkpoint (`key`: its top-level
 * key; `ema`: its `params_ema`, which a safetensors file, holding one set of weights, has not).
 */
export function readWeightsFile(file: string, key?: string, ema = false): Record<string, RawTensor> {
  if (file.endsWith('.safetensors')) {
    if (ema) throw new Error(`${file} is a safetensors file with one set of weights (EMA weights are params_ema in a PyTorch checkpoint)`);
    return readSafetensors(file).tensors;
  }
  return readTorchStateDict(file, { ...(key === undefined ? {} : { key }), ema }).tensors;
}

/**
 * Checks the model a fixture names against its input/output; `weights` replaces the fixture's
 * own weights (a file, or a state dict already read), to check a checkpoint against it.
 */
export function runParity(dir: string, weights?: string | ParityWeights | Record<string, RawTensor>): ParityResult {
  const fx = loadFixture(dir);
  const sd =
    weights === undefined ? fx.weights
    : typeof weights === 'string' ? readWeightsFile(weights)
    : isParityWeights(weights) ? readWeightsFile(weights.file, weights.key)
    : weights;
  const spec = fromOriginal(fx.meta.model, fx.meta.kwargs);
  // The fixture holds every weight, a flow network's included, so building without a
  // flowWeights/bimnetWeights file is no reason to warn.
  const previous = setFlowWeightsWarningSink(() => undefined);
  let model;
  try {
    model = buildModel(spec, fx.meta.seed || 0);
  } finally {
    setFlowWeightsWarningSink(previous);
  }
  try {
    loadStateDict(model, sd, { layout: 'pytorch', strict: true });
    const inputs = ioList(fx, 'input').map(toTensor);
    const expected = ioList(fx, 'output');
    const raw = model.apply(model.params, inputs.length === 1 ? inputs[0]! : inputs, { training: false });
    const outs: Tensor[] = Array.isArray(raw) ? raw : [raw];
    if (outs.length !== expected.length) throw new Error(`${dir}: model gave ${outs.length} outputs, the fixture has ${expected.length}`);
    let err = 0;
    outs.forEach((o, i) => {
      const e = expected[i]!;
      if (o.shape.join(',') !== e.shape.join(',')) throw new Error(`${dir}: output ${i} has shape [${o.shape.join(',')}], the fixture's is [${e.shape.join(',')}]`);
      err = Math.max(err, maxAbsDiff(o.dataSync(), e.data));
    });
    tf.dispose([...inputs, ...outs]);
    const params = countParams(model);
    const ok = err <= PARITY_TOLERANCE && params === fx.meta.trainableParams;
    return { model: fx.meta.model, type: spec.type, params, expectedParams: fx.meta.trainableParams, maxAbsErr: err, tolerance: PARITY_TOLERANCE, ok };
  } finally {
    model.dispose();
  }
}

function isParityWeights(w: ParityWeights | Record<string, RawTensor>): w is ParityWeights {
  // A state dict's values are tensors, never strings.
  return typeof (w as { file?: unknown }).file === 'string';
}
