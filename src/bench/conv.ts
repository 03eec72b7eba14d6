// The calibration benchmark: a plain 3x3 convolution, 64 -> 64 channels, on 1x128x128x64.
// Every benchmark row carries its GFLOP/s from the same process, so rows taken on a noisy,
// shared machine compare as ratios.
import { tf } from '../runtime/index.ts';
import type { Scalar, Tensor4D } from '../runtime/index.ts';
import { time } from './timing.ts';

export interface ConvBenchRow {
  readonly bench: 'conv3x3';
  readonly backend: string;
  readonly input: readonly number[];
  readonly forwardMs: number;
  readonly forwardBackwardMs: number;
  readonly forwardGflops: number;
  readonly forwardBackwardGflops: number;
  readonly runs: { readonly forward: number; readonly forwardBackward: number };
}

export function convBench(opts: { size?: number; channels?: number; warmup?: number; runs?: number } = {}): ConvBenchRow {
  const size = opts.size ?? 128;
  const c = opts.channels ?? 64;
  const warmup = opts.warmup ?? 2;
  const runs = opts.runs ?? 5;
  const x = tf.randomUniform([1, size, size, c], 0, 1, 'float32', 1) as Tensor4D;
  const w = tf.variable(tf.randomNormal([3, 3, c, c], 0, 0.05, 'float32', 2));
  const flops = 2 * 9 * c * c * size * size; // multiply-adds of one forward pass, counted as 2
  try {
    const fwd = time(() => tf.tidy(() => tf.conv2d(x, w as unknown as Tensor4D, 1, 'same')), { warmup, runs });
    // Backward computes the input and the weight gradient: twice the forward work.
    const fb = time(
      () =>
        tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => tf.conv2d(x, w as unknown as Tensor4D, 1, 'same').square().mean() as Scalar, [w]);
          return [value, grads[w.name]!];
        }),
      { warmup, runs },
    );
    return {
      bench: 'conv3x3',
      backend: tf.getBackend(),
      input: [1, size, size, c],
      forwardMs: round(fwd.medianMs),
      forwardBackwardMs: round(fb.medianMs),
      forwardGflops: round(flops / fwd.medianMs / 1e6),
      forwardBackwardGflops: round((3 * flops) / fb.medianMs / 1e6),
      runs: { forward: fwd.runs, forwardBackward: fb.runs },
    };
  } finally {
    x.dispose();
    w.dispose();
  }
}

export function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
