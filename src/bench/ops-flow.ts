// Benchmarks of the flow ops: backward warping (CDVD-TSP's convention: grid_sample + mask) and
// the PWC-Net / LiteFlowNet cost volumes, forward and forward+backward. Each row carries the time
// of a plain 3×3 convolution from the same input to an output of the same size, measured in the
// same process, so the ratio compares across machines.
import { tf } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';
import { CDVD_WARP, warp } from '../nn/ops/warp.ts';
import { liteFlowNetCorrelation, pwcCorrelation } from '../nn/ops/correlation.ts';
import { time } from './timing.ts';
import { round } from './conv.ts';

export type OpsFlowBench = 'warp' | 'correlation-pwc' | 'correlation-lfn';

export interface OpsFlowBenchRow {
  readonly bench: OpsFlowBench;
  readonly pass: 'forward' | 'forward+backward';
  /** The op's inputs, ours ([B, H, W, C]; the flow is [B, H, W, 2]). */
  readonly input: readonly number[];
  readonly output: readonly number[];
  readonly ms: number;
  /** 3×3 convolution (stride 1, zero padding 1) from the input to the op's output size. */
  readonly convMs: number;
  /** ms / convMs. */
  readonly ratio: number;
}

export interface OpsFlowBenchOptions {
  /** Spatial size of the input features (default 64: PWC-Net's finest level on a 256 crop). */
  readonly size?: number;
  /** Feature channels (default 32). */
  readonly channels?: number;
  readonly warmup?: number;
  readonly runs?: number;
}

interface Case {
  readonly bench: OpsFlowBench;
  /** The op on its differentiable inputs. */
  readonly op: (xs: Tensor[]) => Tensor;
  readonly inputs: () => Tensor[];
  /** Input of the comparison convolution, and its output channels. */
  readonly convInput: readonly number[];
  readonly convOut: number;
}

function timePass(op: (xs: Tensor[]) => Tensor, inputs: Tensor[], backward: boolean, o: { warmup: number; runs: number }): number {
  const fn = backward
    ? () => tf.tidy(() => tf.grads((...xs: Tensor[]) => op(xs).square().mean())(inputs))
    : () => tf.tidy(() => op(inputs));
  return time(fn, o).medianMs;
}

export function opsFlowBench(opts: OpsFlowBenchOptions = {}): OpsFlowBenchRow[] {
  const s = opts.size ?? 64;
  const c = opts.channels ?? 32;
  const o = { warmup: opts.warmup ?? 2, runs: opts.runs ?? 5 };
  const feat = (seed: number, size = s): Tensor => tf.randomNormal([1, size, size, c], 0, 1, 'float32', seed);
  const cases: Case[] = [
    {
      bench: 'warp',
      op: ([x, f]) => warp(x!, f!, CDVD_WARP),
      inputs: () => [feat(1), tf.randomUniform([1, s, s, 2], -3, 3, 'float32', 2)],
      convInput: [1, s, s, c],
      convOut: c,
    },
    {
      bench: 'correlation-pwc',
      op: ([a, b]) => pwcCorrelation(a!, b!),
      inputs: () => [feat(3), feat(4)],
      convInput: [1, s, s, c],
      convOut: 81,
    },
    {
      bench: 'correlation-lfn',
      op: ([a, b]) => liteFlowNetCorrelation(a!, b!, 2),
      inputs: () => [feat(5), feat(6)],
      convInput: [1, Math.ceil(s / 2), Math.ceil(s / 2), c],
      convOut: 49,
    },
  ];
  const rows: OpsFlowBenchRow[] = [];
  for (const k of cases) {
    const inputs = k.inputs();
    const cx = tf.randomNormal([...k.convInput], 0, 1, 'float32', 7);
    const cw = tf.randomNormal([3, 3, c, k.convOut], 0, 0.05, 'float32', 8);
    const conv = ([x, w]: Tensor[]): Tensor => tf.conv2d(x as never, w as never, 1, 'same');
    try {
      const output = tf.tidy(() => k.op(inputs).shape);
      for (const backward of [false, true]) {
        const ms = timePass(k.op, inputs, backward, o);
        const convMs = timePass(conv, [cx, cw], backward, o);
        rows.push({
          bench: k.bench,
          pass: backward ? 'forward+backward' : 'forward',
          input: inputs[0]!.shape,
          output,
          ms: round(ms),
          convMs: round(convMs),
          ratio: round(ms / convMs),
        });
      }
    } finally {
      tf.dispose([...inputs, cx, cw]);
    }
  }
  return rows;
}
