// Benchmark of the modulated deformable convolution (DCNv2, 3×3, padding 1) against a plain 3×3
// convolution with the same input and output sizes, measured in the same process so the ratio
// compares across machines. Default size: EDVR's finest alignment level for a 5-frame 128×128
// clip with hr_in (5 × 32×32 × 64 channels, 8 deformable groups).
import { tf } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';
import { conv2d } from '../nn/conv.ts';
import { deformConv2d } from '../nn/ops/deform-conv.ts';
import type { DeformSampling } from '../nn/ops/deform-conv.ts';
import { time } from './timing.ts';
import { round } from './conv.ts';

export interface DeformConvBenchRow {
  readonly bench: 'deform-conv';
  readonly pass: 'forward' | 'forward+backward';
  readonly sampling: DeformSampling;
  /** Input `[B, H, W, C]`; output `[B, H, W, C]` as well. */
  readonly input: readonly number[];
  readonly deformableGroups: number;
  readonly ms: number;
  /** Plain 3×3 convolution, same input and output. */
  readonly convMs: number;
  /** ms / convMs. */
  readonly ratio: number;
}

export interface DeformConvBenchOptions {
  readonly batch?: number;
  readonly size?: number;
  readonly channels?: number;
  readonly deformableGroups?: number;
  /** Default 'forward'; 'forward+backward' differentiates input, offsets, mask and weight. */
  readonly pass?: 'forward' | 'forward+backward';
  readonly sampling?: DeformSampling;
  readonly warmup?: number;
  readonly runs?: number;
}

export function deformConvBench(opts: DeformConvBenchOptions = {}): DeformConvBenchRow {
  const b = opts.batch ?? 5;
  const s = opts.size ?? 32;
  const c = opts.channels ?? 64;
  const g = opts.deformableGroups ?? 8;
  const pass = opts.pass ?? 'forward';
  const sampling = opts.sampling ?? 'auto';
  const o = { warmup: opts.warmup ?? 2, runs: opts.runs ?? 5 };
  const x = tf.randomUniform([b, s, s, c], 0, 1, 'float32', 1);
  // Offsets of a few pixels, as a trained alignment produces.
  const offset = tf.randomUniform([b, s, s, 2 * g * 9], -2, 2, 'float32', 2);
  const mask = tf.randomUniform([b, s, s, g * 9], 0, 1, 'float32', 3);
  const w = tf.randomNormal([3, 3, c, c], 0, 0.05, 'float32', 4);
  const bias = tf.zeros([c]);
  const dcn = (xs: Tensor[]): Tensor => deformConv2d(xs[0]!, xs[1]!, xs[2]!, xs[3]!, bias, { padding: 1, deformableGroups: g, sampling });
  const conv = (xs: Tensor[]): Tensor => conv2d(xs[0]!, xs[1]!, bias, { padding: 1 });
  const timed = (f: (xs: Tensor[]) => Tensor, inputs: Tensor[]): number =>
    time(
      pass === 'forward' ? () => tf.tidy(() => f(inputs)) : () => tf.tidy(() => tf.grads((...xs: Tensor[]) => f(xs).square().mean())(inputs)),
      o,
    ).medianMs;
  try {
    const ms = timed(dcn, [x, offset, mask, w]);
    const convMs = timed(conv, [x, w]);
    return { bench: 'deform-conv', pass, sampling, input: [b, s, s, c], deformableGroups: g, ms: round(ms), convMs: round(convMs), ratio: round(ms / convMs, 2) };
  } finally {
    tf.dispose([x, offset, mask, w, bias]);
  }
}
