// Benchmarks of the modulated deformable convolution (DCNv2, 3×3, padding 1) and of the
// transposed convolution (stride-2 upsampling), each against a plain convolution of the same
// multiply-adds, measured in the same process so the ratio compares across machines. Default
// deformable size: EDVR's finest alignment level for a 5-frame 128×128 clip with hr_in
// (5 × 32×32 × 64 channels, 8 deformable groups).
import { tf } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';
import { conv2d, convTranspose2d } from '../nn/conv.ts';
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

export interface ConvTransposeBenchRow {
  readonly bench: 'conv-transpose';
  readonly pass: 'forward' | 'forward+backward';
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly outputPadding: number;
  /** Input `[B, H, W, C]`; the output has the same channels. */
  readonly input: readonly number[];
  readonly output: readonly number[];
  readonly ms: number;
  /** The dual convolution: same kernel and stride, from the output size back to the input's. */
  readonly convMs: number;
  /** ms / convMs. */
  readonly ratio: number;
}

export interface ConvTransposeBenchOptions {
  readonly size?: number;
  readonly channels?: number;
  /** Default 3×3, stride 2, padding 1, output_padding 1 (CDVD-TSP's and ESTRNN's upsampler). */
  readonly kernel?: number;
  readonly stride?: number;
  readonly padding?: number;
  readonly outputPadding?: number;
  /** Default 'forward'; 'forward+backward' differentiates input, weight and bias. */
  readonly pass?: 'forward' | 'forward+backward';
  readonly warmup?: number;
  readonly runs?: number;
}

export function convTransposeBench(opts: ConvTransposeBenchOptions = {}): ConvTransposeBenchRow {
  const s = opts.size ?? 64;
  const c = opts.channels ?? 64;
  const k = opts.kernel ?? 3;
  const stride = opts.stride ?? 2;
  const padding = opts.padding ?? 1;
  const outputPadding = opts.outputPadding ?? (k === 3 ? 1 : 0);
  const pass = opts.pass ?? 'forward';
  const o = { warmup: opts.warmup ?? 2, runs: opts.runs ?? 5 };
  const x = tf.randomUniform([1, s, s, c], 0, 1, 'float32', 1);
  const w = tf.randomNormal([k, k, c, c], 0, 0.05, 'float32', 2);
  const bias = tf.zeros([c]);
  const up = (xs: Tensor[]): Tensor => convTranspose2d(xs[0]!, xs[1]!, xs[2]!, { stride, padding, outputPadding });
  const output = tf.tidy(() => up([x, w, bias]).shape);
  // The convolution whose input gradient the transposed one is: same multiply-adds.
  const y = tf.randomUniform(output, 0, 1, 'float32', 3);
  const down = (xs: Tensor[]): Tensor => conv2d(xs[0]!, xs[1]!, xs[2]!, { stride, padding });
  const timed = (f: (xs: Tensor[]) => Tensor, inputs: Tensor[]): number =>
    time(
      pass === 'forward' ? () => tf.tidy(() => f(inputs)) : () => tf.tidy(() => tf.grads((...xs: Tensor[]) => f(xs).square().mean())(inputs)),
      o,
    ).medianMs;
  try {
    const ms = timed(up, [x, w, bias]);
    const convMs = timed(down, [y, w, bias]);
    return { bench: 'conv-transpose', pass, kernel: k, stride, padding, outputPadding, input: [1, s, s, c], output, ms: round(ms), convMs: round(convMs), ratio: round(ms / convMs, 2) };
  } finally {
    tf.dispose([x, w, bias, y]);
  }
}
