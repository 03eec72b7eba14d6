// Benchmark rows per model: forward (eval) and forward+backward (training mode, Charbonnier
// loss summed over the outputs, gradients of every trainable parameter) at the reference input
// size of each model, median over runs after warm-up.
import { tf } from '../runtime/index.ts';
import type { Scalar, Tensor, Variable } from '../runtime/index.ts';
import type { Params } from '../nn/params.ts';
import { dbn } from '../models/dbn.ts';
import { nafnet } from '../models/nafnet.ts';
import { dblrnet } from '../models/dblrnet.ts';
import { strcnn } from '../models/strcnn.ts';
import { ifirnn } from '../models/ifirnn.ts';
import { estrnn } from '../models/estrnn.ts';
import { srn } from '../models/srn.ts';
import { mscnn } from '../models/mscnn.ts';
import { mimoUnet } from '../models/mimounet.ts';
import { restormer } from '../models/restormer.ts';
import { edvr } from '../models/edvr.ts';
import { cdvdTsp } from '../models/cdvd-tsp.ts';
import { stfan, type StfanModel } from '../models/stfan.ts';
import { pvdnet } from '../models/pvdnet.ts';
import { buildModel } from '../models/define.ts';
import { countParams, modelVariables, type Model, type ModelOutput } from '../models/model.ts';
import { charbonnier } from '../losses/index.ts';
import { time, peakRssMb } from './timing.ts';
import { traceOps } from './op-trace.ts';
import { round } from './conv.ts';
import { GraphCache } from '../runtime/graph-cache.ts';

/** A model with its own way of being driven, for steps other than `apply` on the input(s). */
export interface BenchSubject {
  readonly model: Model;
  /** One benchmark step on the inputs (in the order of `input`); its outputs enter the loss. */
  readonly run: (params: Params, inputs: readonly Tensor[], training: boolean) => ModelOutput;
}

export interface ModelBenchCase {
  readonly name: string;
  /** A bare model runs `apply` on the input, or on the list of inputs when there are several. */
  readonly build: () => Model | BenchSubject;
  /** Input shape(s), ours: `[B, T, H, W, C]` or `[B, H, W, C]`; several for a pyramid. */
  readonly input: readonly (readonly number[])[];
  /** Range of the random inputs and targets; default [0, 1]. */
  readonly range?: readonly [number, number];
}

const pyramid128 = [[1, 128, 128, 3], [1, 64, 64, 3], [1, 32, 32, 3]];

/** The full-size configurations of the original recipes, at the sizes of the reference table. */
export const modelBenchCases: readonly ModelBenchCase[] = [
  { name: 'dbn', build: () => dbn.create({ numFrames: 5, inChannels: 3, innerChannels: 64 }, 0), input: [[1, 5, 128, 128, 3]] },
  {
    name: 'nafnet-w64',
    build: () => nafnet.create({ imgChannels: 3, width: 64, middleBlkNum: 1, encBlkNums: [1, 1, 1, 28], decBlkNums: [1, 1, 1, 1] }, 0),
    input: [[1, 128, 128, 3]],
  },
  { name: 'dblrnet', build: () => dblrnet.create({}, 0), input: [[1, 5, 128, 128, 3]] },
  { name: 'strcnn', build: () => strcnn.create({}, 0), input: [[1, 12, 128, 128, 3]] },
  { name: 'ifirnn', build: () => ifirnn.create({}, 0), input: [[1, 12, 128, 128, 3]] },
  { name: 'estrnn', build: () => estrnn.create({}, 0), input: [[1, 8, 128, 128, 3]] },
  { name: 'srn', build: () => srn.create({ inChannels: 6, innerChannels: 32, numLevels: 3, withLstm: true }, 0), input: pyramid128 },
  { name: 'mscnn', build: () => mscnn.create({}, 0), input: pyramid128 },
  { name: 'mimounet', build: () => mimoUnet.create({ numRes: 8 }, 0), input: [[1, 128, 128, 3]] },
  { name: 'restormer', build: () => restormer.create({}, 0), input: [[1, 128, 128, 3]] },
  { name: 'edvr', build: () => buildModel(edvr.preset('deblur'), 0), input: [[1, 5, 128, 128, 3]] },
  { name: 'cdvd-tsp', build: () => buildModel(cdvdTsp.preset('deblur'), 0), input: [[1, 5, 128, 128, 3]] },
  // One recurrent step (the per-frame training strategy): current and previous blurry frames,
  // previous output, previous fused features; the loss sees the restored frame.
  {
    name: 'stfan-cell',
    build: () => {
      const model = stfan.create({}, 0) as StfanModel;
      // The new features feed the decoder (the backward pass reads them); the caller's tidy frees them.
      const run = (p: Params, [blur, lastBlur, lastOutput, lastFeature]: readonly Tensor[]): Tensor =>
        model.cell(p, { blur: blur!, lastBlur: lastBlur!, lastOutput: lastOutput!, lastFeature: lastFeature! }).output;
      return { model, run };
    },
    input: [[1, 128, 128, 3], [1, 128, 128, 3], [1, 128, 128, 3], [1, 32, 32, 256]],
  },
  // The whole clip, backpropagated through every step (the original STFAN module).
  { name: 'stfan-20', build: () => stfan.create({}, 0), input: [[1, 20, 128, 128, 3]] },
  // One step: [previous, current, next] blurry frames and the previous output, in [-1, 1]; BIMNet frozen.
  {
    name: 'pvdnet-large',
    build: () => buildModel(pvdnet.preset('deblur'), 0),
    input: [[1, 3, 128, 128, 3], [1, 128, 128, 3]],
    range: [-1, 1],
  },
];

const asList = (o: Tensor | Tensor[]): Tensor[] => (Array.isArray(o) ? o : [o]);

function subject(built: Model | BenchSubject): BenchSubject {
  if ('model' in built) return built;
  return { model: built, run: (p, xs, training) => built.apply(p, xs.length === 1 ? xs[0]! : [...xs], { training }) };
}

/** A bench case built and ready to run: its two passes, each returning the tensors to sync on. */
export interface PreparedModelCase {
  readonly model: Model;
  /** Eval mode, no gradients. */
  readonly forward: () => Tensor[];
  /** Training mode: the summed Charbonnier loss and the gradients of every parameter. */
  readonly forwardBackward: () => Tensor[];
  readonly dispose: () => void;
}

/**
 * Builds a case's model, random inputs and fixed random targets (shaped as the outputs). With
 * `graph`, each pass runs as a graph function, traced on its first call.
 */
export function prepareModelCase(c: ModelBenchCase, opts: { readonly graph?: boolean } = {}): PreparedModelCase {
  const { model, run } = subject(c.build());
  const [lo, hi] = c.range ?? [0, 1];
  const inputs = c.input.map((shape, i) => tf.randomUniform([...shape], lo, hi, 'float32', 3 + i));
  const loss = charbonnier();
  const gts = tf.tidy(() => asList(run(model.params, inputs, false)).map((o) => tf.randomUniform(o.shape, lo, hi, 'float32', 4)));
  const vars = Object.values(model.params) as Variable[];
  const forward = () => tf.tidy(() => asList(run(model.params, inputs, false)));
  const forwardBackward = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.addN(asList(run(model.params, inputs, true)).map((o, i) => loss(gts[i]!, o))) as Scalar, vars);
      return [value, ...Object.values(grads)];
    });
  const graphs = opts.graph ? new GraphCache() : undefined;
  const graphed = (key: string, pass: () => Tensor[]) => () => {
    const r = graphs!.run(key, [...inputs, ...gts, ...modelVariables(model)], () => ({ outputs: pass(), meta: null }));
    if ('refused' in r) throw new Error(`bench ${c.name}: the ${key} pass cannot run as a graph function: ${r.refused}`);
    return r.outputs;
  };
  return {
    model,
    forward: graphs ? graphed('forward', forward) : forward,
    forwardBackward: graphs ? graphed('forward+backward', forwardBackward) : forwardBackward,
    dispose: () => {
      graphs?.dispose();
      tf.dispose([...inputs, ...gts]);
      model.dispose();
    },
  };
}

const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);

/**
 * One row per case: median forward and forward+backward times after `warmup` runs, and memory.
 * The first warm-up run of each pass is traced for the peak of live tensor memory
 * (`peakTensorMb`, the model's own, exact); `peakRssMb` is the process's peak so far, the
 * model's own only when it is the first row of its process (`bench --models NAME`).
 */
export async function benchModel(c: ModelBenchCase, opts: { warmup: number; runs: number; graph?: boolean }): Promise<Record<string, unknown>> {
  const run = prepareModelCase(c, { graph: opts.graph === true });
  // The traced first run is a warm-up; a graph function's first run also instantiates it.
  const warmup = opts.graph ? opts.warmup : Math.max(0, opts.warmup - 1);
  try {
    const fwdPeak = await traceOps(run.forward);
    const fwd = time(run.forward, { ...opts, warmup });
    const fbPeak = await traceOps(run.forwardBackward);
    const fb = time(run.forwardBackward, { ...opts, warmup });
    const batch = c.input[0]![0]!;
    return {
      bench: 'model',
      model: c.name,
      input: c.input,
      params: countParams(run.model),
      execution: opts.graph ? 'graph' : 'eager',
      forwardS: round(fwd.medianMs / 1000, 4),
      forwardBackwardS: round(fb.medianMs / 1000, 4),
      // The least disturbed run: steadier than the median on a shared machine.
      forwardMinS: round(fwd.minMs / 1000, 4),
      forwardBackwardMinS: round(fb.minMs / 1000, 4),
      imagesPerSecTrain: round((batch * 1000) / fb.medianMs, 2),
      imagesPerSecInfer: round((batch * 1000) / fwd.medianMs, 2),
      peakTensorMb: { forward: mb(fwdPeak.peakBytes), forwardBackward: mb(fbPeak.peakBytes) },
      peakRssMb: peakRssMb(),
      runs: opts.runs,
    };
  } finally {
    run.dispose();
  }
}
