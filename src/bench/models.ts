// Benchmark rows per model: forward (eval) and forward+backward (training mode, Charbonnier
// loss, gradients of every parameter) at a fixed input size, median over runs after warm-up.
import { tf } from '../runtime/index.ts';
import type { Scalar, Tensor, Variable } from '../runtime/index.ts';
import { buildDbn } from '../models/dbn.ts';
import { buildNafnet } from '../models/nafnet.ts';
import { countParams, type Model } from '../models/model.ts';
import { charbonnier } from '../losses/index.ts';
import { flattenFrames } from '../engine/strategy.ts';
import { time, peakRssMb } from './timing.ts';
import { round } from './conv.ts';

export interface ModelBenchCase {
  readonly name: string;
  readonly build: () => Model;
  /** Input shape, ours: `[B, T, H, W, C]` or `[B, H, W, C]`. */
  readonly input: readonly number[];
}

export const modelBenchCases: readonly ModelBenchCase[] = [
  { name: 'dbn', build: () => buildDbn({ numFrames: 5, inChannels: 3, innerChannels: 64 }, 0), input: [1, 5, 128, 128, 3] },
  {
    name: 'nafnet-w64',
    build: () => buildNafnet({ imgChannels: 3, width: 64, middleBlkNum: 1, encBlkNums: [1, 1, 1, 28], decBlkNums: [1, 1, 1, 1] }, 0),
    input: [1, 128, 128, 3],
  },
];

export function benchModel(c: ModelBenchCase, opts: { warmup: number; runs: number }): Record<string, unknown> {
  const model = c.build();
  const x = tf.randomUniform([...c.input], 0, 1, 'float32', 3);
  const loss = charbonnier();
  try {
    const out0 = tf.tidy(() => flattenFrames(model.apply(model.params, x, { training: false }) as Tensor));
    const gt = tf.randomUniform(out0.shape, 0, 1, 'float32', 4);
    out0.dispose();
    const vars = Object.values(model.params) as Variable[];
    const fwd = time(() => tf.tidy(() => model.apply(model.params, x, { training: false }) as Tensor), opts);
    const fb = time(
      () =>
        tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => loss(gt, flattenFrames(model.apply(model.params, x, { training: true }) as Tensor)) as Scalar, vars);
          return [value, ...Object.values(grads)];
        }),
      opts,
    );
    gt.dispose();
    const batch = c.input[0]!;
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
    x.dispose();
    model.dispose();
  }
}
