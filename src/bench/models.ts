// Benchmark rows per model: forward (eval) and forward+backward (training mode, Charbonnier
// loss summed over the outputs, gradients of every parameter) at the reference input size of
// each model, median over runs after warm-up.
import { tf } from '../runtime/index.ts';
import type { Scalar, Tensor, Variable } from '../runtime/index.ts';
import { buildDbn } from '../models/dbn.ts';
import { buildNafnet } from '../models/nafnet.ts';
import { buildDblrnet } from '../models/dblrnet.ts';
import { buildStrcnn } from '../models/strcnn.ts';
import { buildIfirnn } from '../models/ifirnn.ts';
import { buildEstrnn } from '../models/estrnn.ts';
import { buildSrn } from '../models/srn.ts';
import { buildMscnn } from '../models/mscnn.ts';
import { buildMimoUnet } from '../models/mimounet.ts';
import { buildRestormer } from '../models/restormer.ts';
import { buildEdvr } from '../models/edvr.ts';
import { buildCdvdTsp } from '../models/cdvd-tsp.ts';
import { countParams, type Model } from '../models/model.ts';
import { charbonnier } from '../losses/index.ts';
import { time, peakRssMb } from './timing.ts';
import { round } from './conv.ts';

export interface ModelBenchCase {
  readonly name: string;
  readonly build: () => Model;
  /** Input shape(s), ours: `[B, T, H, W, C]` or `[B, H, W, C]`; several for a pyramid. */
  readonly input: readonly (readonly number[])[];
}

const pyramid128 = [[1, 128, 128, 3], [1, 64, 64, 3], [1, 32, 32, 3]];

/** The full-size configurations of the original recipes, at the sizes of the reference table. */
export const modelBenchCases: readonly ModelBenchCase[] = [
  { name: 'dbn', build: () => buildDbn({ numFrames: 5, inChannels: 3, innerChannels: 64 }, 0), input: [[1, 5, 128, 128, 3]] },
  {
    name: 'nafnet-w64',
    build: () => buildNafnet({ imgChannels: 3, width: 64, middleBlkNum: 1, encBlkNums: [1, 1, 1, 28], decBlkNums: [1, 1, 1, 1] }, 0),
    input: [[1, 128, 128, 3]],
  },
  { name: 'dblrnet', build: () => buildDblrnet({ numFrames: 5, inChannels: 3, innerChannels: 64 }, 0), input: [[1, 5, 128, 128, 3]] },
  { name: 'strcnn', build: () => buildStrcnn({ numFramesEncoded: 5, inChannels: 3, innerChannels: 32, encoderBlocks: 4, decoderBlocks: 4, isDtb: true }, 0), input: [[1, 12, 128, 128, 3]] },
  { name: 'ifirnn', build: () => buildIfirnn({ inChannels: 3, innerChannels: 16, dualCell: true, intraIters: 3 }, 0), input: [[1, 12, 128, 128, 3]] },
  { name: 'estrnn', build: () => buildEstrnn({}, 0), input: [[1, 8, 128, 128, 3]] },
  { name: 'srn', build: () => buildSrn({ inChannels: 6, innerChannels: 32, numLevels: 3, withLstm: true }, 0), input: pyramid128 },
  { name: 'mscnn', build: () => buildMscnn({}, 0), input: pyramid128 },
  { name: 'mimounet', build: () => buildMimoUnet({ numRes: 8 }, 0), input: [[1, 128, 128, 3]] },
  { name: 'restormer', build: () => buildRestormer({}, 0), input: [[1, 128, 128, 3]] },
  { name: 'edvr', build: () => buildEdvr({ numInCh: 3, numOutCh: 3, numFeat: 64, numFrame: 5, deformableGroups: 8, numExtractBlock: 5, numReconstructBlock: 10, centerFrameIdx: 2, hrIn: true, withPredeblur: true, withTsa: true }, 0), input: [[1, 5, 128, 128, 3]] },
  { name: 'cdvd-tsp', build: () => buildCdvdTsp({ inChannels: 3, nSequence: 5, outChannels: 3, nResblock: 3, nFeat: 32, isMaskFilter: true }, 0), input: [[1, 5, 128, 128, 3]] },
];

const asList = (o: Tensor | Tensor[]): Tensor[] => (Array.isArray(o) ? o : [o]);

export function benchModel(c: ModelBenchCase, opts: { warmup: number; runs: number }): Record<string, unknown> {
  const model = c.build();
  const inputs = c.input.map((shape, i) => tf.randomUniform([...shape], 0, 1, 'float32', 3 + i));
  const x = inputs.length === 1 ? inputs[0]! : inputs;
  const loss = charbonnier();
  try {
    const gts = tf.tidy(() => asList(model.apply(model.params, x, { training: false })).map((o) => tf.randomUniform(o.shape, 0, 1, 'float32', 4)));
    const vars = Object.values(model.params) as Variable[];
    const fwd = time(() => tf.tidy(() => asList(model.apply(model.params, x, { training: false }))), opts);
    const fb = time(
      () =>
        tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => tf.addN(asList(model.apply(model.params, x, { training: true })).map((o, i) => loss(gts[i]!, o))) as Scalar, vars);
          return [value, ...Object.values(grads)];
        }),
      opts,
    );
    tf.dispose(gts);
    const batch = c.input[0]![0]!;
    return {
      bench: 'model',
      model: c.name,
      input: c.input,
      params: countParams(model),
      forwardS: round(fwd.medianMs / 1000, 4),
      forwardBackwardS: round(fb.medianMs / 1000, 4),
      imagesPerSecTrain: round((batch * 1000) / fb.medianMs, 2),
      imagesPerSecInfer: round((batch * 1000) / fwd.medianMs, 2),
      peakRssMb: peakRssMb(),
      runs: opts.runs,
    };
  } finally {
    tf.dispose(inputs);
    model.dispose();
  }
}
