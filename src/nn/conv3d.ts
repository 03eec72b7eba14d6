// 3-D convolution with PyTorch semantics (nn.Conv3d, groups 1, dilation 1) on channels-last
// clips `[B, D, H, W, C]`.
//
// It is computed as one 2-D convolution: every output time step t reads the input frames
// t·sd … t·sd+kd−1, which are gathered and stacked on the channel axis (frame-major), and the
// time steps are folded into the batch. The kernel `[kd, kh, kw, Cin, Cout]` becomes a 2-D
// kernel `[kh, kw, kd·Cin, Cout]` with the same frame-major channel order. This reuses the
// tuned conv2d (and its gradients) instead of a separate, slower 3-D kernel.
import type { Tensor, Tensor5D } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { conv2d } from './conv.ts';
import { getParam } from './params.ts';
import type { Params, Scope } from './params.ts';
import { torchDefault } from './init.ts';

export type Triple = number | readonly [number, number, number];

export interface Conv3dOptions {
  /** `(sd, sh, sw)`; default 1. */
  readonly stride?: Triple;
  /** Zero padding `(pd, ph, pw)` on both sides of each axis; default 0. */
  readonly padding?: Triple;
}

export function triple(v: Triple | undefined, dflt: number, what: string): [number, number, number] {
  const t: [number, number, number] = v === undefined ? [dflt, dflt, dflt] : typeof v === 'number' ? [v, v, v] : [v[0], v[1], v[2]];
  if (!t.every((n) => Number.isInteger(n) && n >= 0)) throw new Error(`${what} must be non-negative integers, got ${JSON.stringify(v)}`);
  return t;
}

/**
 * PyTorch's F.conv3d on NDHWC: `x` `[B, D, H, W, Cin]`, `w` `[kd, kh, kw, Cin, Cout]`,
 * optional `bias` `[Cout]`. Output size along each axis floor((n + 2p − k)/s) + 1.
 */
export function conv3d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv3dOptions = {}): Tensor5D {
  if (x.rank !== 5) throw new Error(`conv3d: input must be [B, D, H, W, C], got shape ${JSON.stringify(x.shape)}`);
  if (w.rank !== 5) throw new Error(`conv3d: weight must be [kd, kh, kw, in, out], got shape ${JSON.stringify(w.shape)}`);
  const [b, d, h, wd, cin] = x.shape as [number, number, number, number, number];
  const [kd, kh, kw, win, cout] = w.shape as [number, number, number, number, number];
  if (win !== cin) throw new Error(`conv3d: input has ${cin} channels but the weight ${JSON.stringify(w.shape)} expects ${win}`);
  const [sd, sh, sw] = triple(opts.stride, 1, 'conv3d stride');
  if (sd === 0 || sh === 0 || sw === 0) throw new Error('conv3d: stride must be positive');
  const [pd, ph, pw] = triple(opts.padding, 0, 'conv3d padding');
  const dOut = Math.floor((d + 2 * pd - kd) / sd) + 1;
  if (dOut < 1) throw new Error(`conv3d: ${d} frames (padding ${pd}) are too few for a temporal kernel of ${kd}`);
  if (h + 2 * ph < kh || wd + 2 * pw < kw) throw new Error(`conv3d: input ${h}x${wd} (padding ${ph}, ${pw}) is smaller than the ${kh}x${kw} kernel`);
  return tf.tidy(() => {
    const xp = pd === 0 ? x : tf.pad(x, [[0, 0], [pd, pd], [0, 0], [0, 0], [0, 0]]);
    // Frame indices of every window, window-major: [t·sd, …, t·sd+kd−1] for t = 0 … dOut−1.
    const idx = Array.from({ length: dOut * kd }, (_, i) => Math.floor(i / kd) * sd + (i % kd));
    const windows = tf.gather(xp, tf.tensor1d(idx, 'int32'), 1);
    const stacked = windows
      .reshape([b, dOut, kd, h, wd, cin])
      .transpose([0, 1, 3, 4, 2, 5])
      .reshape([b * dOut, h, wd, kd * cin]);
    const w2 = w.transpose([1, 2, 0, 3, 4]).reshape([kh, kw, kd * cin, cout]);
    const y = conv2d(stacked, w2, bias ?? null, { stride: [sh, sw], padding: [ph, pw] });
    const [, ho, wo] = y.shape;
    return y.reshape([b, dOut, ho, wo, cout]) as Tensor5D;
  });
}

export interface Conv3dLayerOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: Triple;
  readonly stride?: Triple;
  readonly padding?: Triple;
  /** Default true, as in nn.Conv3d. */
  readonly bias?: boolean;
}

/** PyTorch's layout `[out, in, kd, kh, kw]` to the op's `[kd, kh, kw, in, out]`. */
export const CONV3D_WEIGHT_TO_OURS = [2, 3, 4, 1, 0] as const;

/**
 * nn.Conv3d: `weight` and optional `bias`. The parameter layouts known to state-dict
 * conversion (conv, convT, linear, plain) have no 3-D kernel, so the weight is kept in
 * PyTorch's own layout `[out, in, kd, kh, kw]` as a 'plain' parameter — PyTorch state dicts
 * load and save unchanged — and permuted to `[kd, kh, kw, in, out]` on use (a small tensor).
 */
export function conv3dLayer(scope: Scope, o: Conv3dLayerOptions): (p: Params, x: Tensor) => Tensor5D {
  for (const [k, v] of [['inChannels', o.inChannels], ['outChannels', o.outChannels]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${scope.full('weight')}: ${k} must be a positive integer, got ${v}`);
  }
  const [kd, kh, kw] = triple(o.kernelSize, 1, 'kernelSize');
  if (kd === 0 || kh === 0 || kw === 0) throw new Error(`${scope.full('weight')}: kernelSize must be positive`);
  const fanIn = o.inChannels * kd * kh * kw;
  const w = scope.param('weight', [o.outChannels, o.inChannels, kd, kh, kw], 'plain', torchDefault(fanIn));
  const b = o.bias ?? true ? scope.param('bias', [o.outChannels], 'plain', torchDefault(fanIn)) : null;
  const opts: Conv3dOptions = { stride: o.stride ?? 1, padding: o.padding ?? 0 };
  return (p, x) =>
    tf.tidy(() => conv3d(x, getParam(p, w).transpose([...CONV3D_WEIGHT_TO_OURS]), b === null ? null : getParam(p, b), opts));
}
