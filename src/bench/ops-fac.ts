// Benchmark of the filter-adaptive convolution (FAC, per-pixel 5×5 kernels) against a plain 3×3
// convolution from the same input to the same output size, measured in the same process so the
// ratio compares across machines. Default size: STFAN's FAC level on a 256×256 training crop
// (64×64 × 128 channels, kernel 5).
import { tf } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';
import { conv2d } from '../nn/conv.ts';
import { fac } from '../nn/ops/fac.ts';
import { time } from './timing.ts';
import { round } from './conv.ts';

export interface FacBenchRow {
  readonly bench: 'fac';
  readonly pass: 'forward' | 'forward+backward';
  /** Input `[B, H, W, C]`; the output has the same shape. */
  readonly input: readonly number[];
  readonly kernelSize: number;
  readonly ms: number;
  /** Plain 3×3 convolution (C → C, zero padding 1), same input and output. */
  readonly convMs: number;
  /** ms / convMs. */
  readonly ratio: number;
}

export interface FacBenchOptions {
  readonly batch?: number;
  readonly size?: number;
  readonly channels?: number;
  readonly kernelSize?: number;
  /** Default 'forward'; 'forward+backward' differentiates the input and the kernels. */
  readonly pass?: 'forward' | 'forward+backward';
  readonly warmup?: number;
  readonly runs?: number;
}

export function facBench(opts: FacBenchOptions = {}): FacBenchRow {
  const b = opts.batch ?? 1;
  const s = opts.size ?? 64;
  const c = opts.channels ?? 128;
  const k = opts.kernelSize ?? 5;
  const pass = opts.pass ?? 'forward';
  const o = { warmup: opts.warmup ?? 2, runs: opts.runs ?? 5 };
  const x = tf.randomUniform([b, s, s, c], 0, 1, 'float32', 1);
  const kernels = tf.randomUniform([b, s, s, c * k * k], -0.1, 0.1, 'float32', 2);
  const w = tf.randomNormal([3, 3, c, c], 0, 0.05, 'float32', 3);
  const timed = (f: (xs: Tensor[]) => Tensor, inputs: Tensor[]): number =>
    time(
      pass === 'forward' ? () => tf.tidy(() => f(inputs)) : () => tf.tidy(() => tf.grads((...xs: Tensor[]) => f(xs).square().mean())(inputs)),
      o,
    ).medianMs;
  try {
    const ms = timed((xs) => fac(xs[0]!, xs[1]!, k), [x, kernels]);
    const convMs = timed((xs) => conv2d(xs[0]!, xs[1]!, null, { padding: 1 }), [x, w]);
    return { bench: 'fac', pass, input: [b, s, s, c], kernelSize: k, ms: round(ms), convMs: round(convMs), ratio: round(ms / convMs, 2) };
  } finally {
    tf.dispose([x, kernels, w]);
  }
}
