// What a model costs to run: parameters, multiply-accumulates per output frame (counted from
// the operations one forward pass actually runs) and inference time per frame, on one clip of
// its evaluation windows at a given frame size, through its strategy in eval mode (as
// evaluation runs it).
import { tf } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';
import { countParams, type Model, type Params } from '../models/model.ts';
import type { Strategy } from '../engine/strategy.ts';
import { videoWindows, windowSpan, type SamplingOptions } from '../data/sampling.ts';
import { countMacs, type OpMacs } from './macs.ts';

/** What {@link measureCost} measures. */
export interface Cost {
  readonly params: number;
  /** Multiply-accumulates per restored frame. */
  readonly macsPerFrame: number;
  /** Frames one forward pass restored (MACs and time are divided by it). */
  readonly outputFrames: number;
  /** Input frames of that pass. */
  readonly inputFrames: number;
  /** Median wall time per restored frame over the timed runs, ms (outputs read back included). */
  readonly inferenceMsPerFrame: number;
  /** MACs per op name for the whole pass. */
  readonly byOp: Readonly<Record<string, OpMacs>>;
}

/** Options of {@link measureCost}: frame size, timed runs (0: count only) and the windows the model is evaluated with. */
export interface CostOptions {
  readonly size: readonly [number, number];
  readonly runs: number;
  /** The model's evaluation windows; `video` takes a clip of `numFrames` frames. */
  readonly sampling: SamplingOptions;
  /** Seed of the random input clip. */
  readonly seed?: number;
}

/** Input and output frame counts of one evaluation window. */
export function windowFrames(s: SamplingOptions): { input: number; gt: number } {
  const length = s.sampling === 'video' ? s.numFrames : windowSpan(s);
  const w = videoWindows(length, s)[0];
  if (w === undefined) throw new Error(`no ${s.sampling} window of ${s.numFrames} frames fits a clip of ${length} frames`);
  return { input: w.input.length, gt: w.gt.length };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Parameters, MACs per output frame and inference time per frame of `model` run by `strategy` in
 * eval mode on one random clip (one window of `sampling`) at `size`. The counted pass also warms
 * up; `runs` more passes are timed.
 */
export async function measureCost(model: Model, params: Params, strategy: Strategy, o: CostOptions): Promise<Cost> {
  const [h, w] = o.size;
  const frames = windowFrames(o.sampling);
  const input = tf.randomUniform([1, frames.input, h, w, 3], 0, 1, 'float32', o.seed ?? 0);
  const gt = tf.zeros([1, frames.gt, h, w, 3]);
  let outputFrames = 0;
  const forward = (): Tensor =>
    tf.tidy(() => {
      const out = strategy.forward(model, params, input, gt, false)[0]!.out;
      outputFrames = out.shape[0];
      return out;
    });
  try {
    const counted = await countMacs(forward);
    const times: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const t0 = performance.now();
      const out = forward();
      out.dataSync();
      times.push(performance.now() - t0);
      out.dispose();
    }
    return {
      params: countParams(model),
      macsPerFrame: Math.round(counted.macs / outputFrames),
      outputFrames,
      inputFrames: frames.input,
      inferenceMsPerFrame: median(times) / outputFrames,
      byOp: counted.byOp,
    };
  } finally {
    tf.dispose([input, gt]);
  }
}
