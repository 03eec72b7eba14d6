// 2-D convolution and transposed convolution with PyTorch semantics on NHWC tensors.
//
// On the native backend an undilated dense, 1x1 or depthwise convolution, and any transposed
// convolution, is one custom-gradient op of TensorFlow ops with the bias included
// (conv-native.ts). (tfjs's own conv2d cannot express asymmetric padding and its gradients
// reject dilation > 1.) TensorFlow's CPU kernels reject dilation > 1 in the backward pass too,
// so dilated convolutions are rewritten, on every backend, as an undilated convolution over a
// space-to-batch rearrangement (reshapes and transposes: differentiable everywhere). Grouped
// convolutions are split into dense ones. On the pure-JS backend a convolution is tf.pad +
// tf.conv2d 'valid', a transposed one tf.conv2dTranspose 'valid' + a crop.
//
// Weights are in our layout: conv HWIO `[kh, kw, in/groups, out]`; transposed conv
// `[kh, kw, out, in]` (tf.conv2dTranspose's filter).
import { tf, isNative } from '../runtime/index.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { reshapeTo } from './native.ts';
import { nativeConv, nativeConvTranspose, nativeDepthwise, nativePointwise } from './conv-native.ts';
import { isZeroPads, padNhwc, type Pads } from './pads.ts';

export type { Pads } from './pads.ts';

/** A size given as one number for both axes or as `[h, w]`, as PyTorch's int-or-tuple arguments. */
export type Pair = number | readonly [number, number];

/**
 * Options of `conv2d`, as PyTorch's F.conv2d: stride, zero padding, dilation and groups (defaults 1,
 * 0, 1, 1).
 */
export interface Conv2dOptions {
  readonly stride?: Pair;
  /** A number (all sides), `[ph, pw]` (PyTorch's tuple) or `[top, bottom, left, right]`. */
  readonly padding?: number | readonly [number, number] | Pads;
  readonly dilation?: Pair;
  readonly groups?: number;
}

/**
 * Options of `convTranspose2d`, as PyTorch's F.conv_transpose2d: stride, padding and output padding
 * (defaults 1, 0, 0).
 */
export interface ConvTranspose2dOptions {
  readonly stride?: Pair;
  readonly padding?: Pair;
  readonly outputPadding?: Pair;
}

/**
 * A {@link Pair} as `[h, w]` (`dflt` for both when undefined); throws, naming `what`, unless both are
 * non-negative integers.
 */
export function pair(v: Pair | undefined, dflt: number, what: string): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((n) => Number.isInteger(n) && n >= 0)) throw new Error(`${what} must be non-negative integers, got ${JSON.stringify(v)}`);
  return p;
}

/**
 * Convolution padding as `[top, bottom, left, right]`, from a number (all sides), `[ph, pw]` or four
 * values; throws unless all are non-negative integers.
 */
export function pads(v: Conv2dOptions['padding']): Pads {
  let p: Pads;
  if (v === undefined) p = [0, 0, 0, 0];
  else if (typeof v === 'number') p = [v, v, v, v];
  else if (v.length === 2) p = [v[0], v[0], v[1], v[1]];
  else if (v.length === 4) p = [v[0], v[1], v[2], v[3]];
  else throw new Error(`padding must be a number, [ph, pw] or [top, bottom, left, right], got ${JSON.stringify(v)}`);
  if (!p.every((n) => Number.isInteger(n) && n >= 0)) throw new Error(`padding must be non-negative integers, got ${JSON.stringify(v)}`);
  return p;
}

/** Undilated dense convolution with explicit zero padding. */
function denseConv(x: Tensor4D, w: Tensor4D, stride: readonly [number, number], p: Pads): Tensor4D {
  if (isNative()) return nativeConv(x, w, null, stride, p);
  return tf.conv2d(padNhwc(x, p), w, stride as [number, number], 'valid');
}

/** Undilated depthwise convolution; `w` is `[kh, kw, C, multiplier]`. */
function depthwiseConv(x: Tensor4D, w: Tensor4D, stride: readonly [number, number], p: Pads): Tensor4D {
  const [kh, kw] = w.shape;
  // With stride 1, TensorFlow's SAME padding puts floor((k-1)/2) before and the rest after;
  // when PyTorch's padding is exactly that, let the kernel pad instead of copying.
  const same = stride[0] === 1 && stride[1] === 1 && p[0] === Math.floor((kh - 1) / 2) && p[1] === kh - 1 - p[0] && p[2] === Math.floor((kw - 1) / 2) && p[3] === kw - 1 - p[2];
  if (same) return tf.depthwiseConv2d(x, w, 1, 'same');
  return tf.depthwiseConv2d(padNhwc(x, p), w, stride as [number, number], 'valid');
}

/**
 * Runs an undilated convolution `inner` as a dilated one (rate d, stride 1): sub-image (r, s)
 * of the padded input, rows r, r+d, r+2d, ..., convolved with the undilated kernel, gives the
 * output rows r, r+d, ...; the sub-images are stacked on the batch axis.
 */
function dilated(x: Tensor4D, p: Pads, d: readonly [number, number], k: readonly [number, number], inner: (xs: Tensor4D) => Tensor4D): Tensor4D {
  const [b, h, w, c] = x.shape;
  const hp = h + p[0] + p[1];
  const wp = w + p[2] + p[3];
  const outH = hp - (k[0] - 1) * d[0];
  const outW = wp - (k[1] - 1) * d[1];
  if (outH <= 0 || outW <= 0) throw new Error(`conv2d: input ${h}x${w} is too small for a dilated ${k[0]}x${k[1]} kernel (dilation ${d[0]}x${d[1]})`);
  const hq = Math.ceil(hp / d[0]);
  const wq = Math.ceil(wp / d[1]);
  const xp = tf.pad(x, [[0, 0], [p[0], p[1] + hq * d[0] - hp], [p[2], p[3] + wq * d[1] - wp], [0, 0]]);
  const sub = xp.reshape([b, hq, d[0], wq, d[1], c]).transpose([2, 4, 0, 1, 3, 5]).reshape([d[0] * d[1] * b, hq, wq, c]) as Tensor4D;
  const y = inner(sub);
  const [, ho, wo, o] = y.shape;
  const full = y.reshape([d[0], d[1], b, ho, wo, o]).transpose([2, 3, 0, 4, 1, 5]).reshape([b, ho * d[0], wo * d[1], o]) as Tensor4D;
  return full.shape[1] === outH && full.shape[2] === outW ? full : tf.slice(full, [0, 0, 0, 0], [b, outH, outW, o]);
}

function subsample(y: Tensor4D, s: readonly [number, number]): Tensor4D {
  if (s[0] === 1 && s[1] === 1) return y;
  // Rows 0, s, 2s, ...: pad to a multiple of s, fold the phase into its own axis, keep phase 0
  // (tfjs has no gradient for stridedSlice).
  const [b, h, w, c] = y.shape;
  const hq = Math.ceil(h / s[0]);
  const wq = Math.ceil(w / s[1]);
  const yp = tf.pad(y, [[0, 0], [0, hq * s[0] - h], [0, wq * s[1] - w], [0, 0]]);
  return yp.reshape([b, hq, s[0], wq, s[1], c]).slice([0, 0, 0, 0, 0, 0], [b, hq, 1, wq, 1, c]).reshape([b, hq, wq, c]);
}

function checkInput(x: Tensor, what: string): asserts x is Tensor4D {
  if (x.rank !== 4) throw new Error(`${what}: input must be [B, H, W, C], got shape ${JSON.stringify(x.shape)}`);
}

function addBias(y: Tensor4D, bias: Tensor | null | undefined, what: string): Tensor4D {
  if (bias === null || bias === undefined) return y;
  if (bias.size !== y.shape[3]) throw new Error(`${what}: bias has ${bias.size} values for ${y.shape[3]} output channels`);
  return tf.add(y, reshapeTo(bias, [y.shape[3]])) as Tensor4D;
}

/**
 * PyTorch's F.conv2d on NHWC: `x` `[B, H, W, Cin]`, `w` HWIO `[kh, kw, Cin/groups, Cout]`,
 * optional `bias` `[Cout]`. Output size floor((H + pt + pb - d(k-1) - 1)/s) + 1.
 */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor4D {
  checkInput(x, 'conv2d');
  if (w.rank !== 4) throw new Error(`conv2d: weight must be HWIO [kh, kw, in/groups, out], got shape ${JSON.stringify(w.shape)}`);
  const w4 = w as Tensor4D;
  const stride = pair(opts.stride, 1, 'conv2d stride');
  const dil = pair(opts.dilation, 1, 'conv2d dilation');
  if (stride.includes(0) || dil.includes(0)) throw new Error(`conv2d: stride and dilation must be positive`);
  const p = pads(opts.padding);
  const groups = opts.groups ?? 1;
  const [kh, kw, inPerGroup, out] = w4.shape;
  const cin = x.shape[3];
  if (!Number.isInteger(groups) || groups < 1 || cin % groups !== 0 || out % groups !== 0) {
    throw new Error(`conv2d: groups=${groups} must divide both input channels (${cin}) and output channels (${out})`);
  }
  if (inPerGroup * groups !== cin) {
    throw new Error(`conv2d: input has ${cin} channels but the weight ${JSON.stringify(w4.shape)} with groups=${groups} expects ${inPerGroup * groups}`);
  }
  if (bias !== null && bias !== undefined && bias.size !== out) throw new Error(`conv2d: bias has ${bias.size} values for ${out} output channels`);
  return tf.tidy(() => {
    // Native fast paths: the whole layer (bias included) is one custom-gradient op.
    if (isNative() && dil[0] === 1 && dil[1] === 1 && (groups === 1 || (groups === cin && inPerGroup === 1))) {
      const b = bias === null || bias === undefined ? null : reshapeTo(bias, [out]);
      if (groups === 1 && kh === 1 && kw === 1 && stride[0] === 1 && stride[1] === 1 && isZeroPads(p)) return nativePointwise(x, w4, b);
      return groups === 1 ? nativeConv(x, w4, b, stride, p) : nativeDepthwise(x, w4, b, stride, p);
    }
    let run: (xi: Tensor4D, s: readonly [number, number], pi: Pads) => Tensor4D;
    if (groups === 1) {
      run = (xi, s, pi) => denseConv(xi, w4, s, pi);
    } else if (groups === cin) {
      const wd = w4.reshape([kh, kw, cin, out / cin]) as Tensor4D;
      run = (xi, s, pi) => depthwiseConv(xi, wd, s, pi);
    } else {
      const ws = tf.split(w4, groups, 3) as Tensor4D[];
      run = (xi, s, pi) => {
        const xs = tf.split(xi, groups, 3) as Tensor4D[];
        return tf.concat(xs.map((xg, g) => denseConv(xg, ws[g]!, s, pi)), 3) as Tensor4D;
      };
    }
    let y: Tensor4D;
    if (dil[0] === 1 && dil[1] === 1) y = run(x, stride, p);
    else y = subsample(dilated(x, p, dil, [kh, kw], (xs) => run(xs, [1, 1], [0, 0, 0, 0])), stride);
    return addBias(y, bias, 'conv2d');
  });
}

/** Checked geometry of a transposed convolution. */
interface ConvTransposeGeometry {
  readonly w: Tensor4D;
  readonly stride: [number, number];
  readonly pad: [number, number];
  readonly outPad: [number, number];
  readonly outSize: [number, number];
  readonly out: number;
}

function convTransposeGeometry(x: Tensor, w: Tensor, bias: Tensor | null | undefined, opts: ConvTranspose2dOptions): ConvTransposeGeometry {
  checkInput(x, 'convTranspose2d');
  if (w.rank !== 4) throw new Error(`convTranspose2d: weight must be [kh, kw, out, in], got shape ${JSON.stringify(w.shape)}`);
  const w4 = w as Tensor4D;
  const stride = pair(opts.stride, 1, 'convTranspose2d stride');
  if (stride.includes(0)) throw new Error(`convTranspose2d: stride must be positive`);
  const [ph, pw] = pair(opts.padding, 0, 'convTranspose2d padding');
  const [oph, opw] = pair(opts.outputPadding, 0, 'convTranspose2d output_padding');
  if (oph >= stride[0] || opw >= stride[1]) throw new Error(`convTranspose2d: output_padding (${oph}, ${opw}) must be smaller than stride (${stride[0]}, ${stride[1]})`);
  const [kh, kw, out, cin] = w4.shape;
  const [, h, wd, c] = x.shape;
  if (c !== cin) throw new Error(`convTranspose2d: input has ${c} channels but the weight ${JSON.stringify(w4.shape)} expects ${cin}`);
  const outH = (h - 1) * stride[0] - 2 * ph + kh + oph;
  const outW = (wd - 1) * stride[1] - 2 * pw + kw + opw;
  if (outH <= 0 || outW <= 0) throw new Error(`convTranspose2d: output size ${outH}x${outW} is not positive`);
  if (bias !== null && bias !== undefined && bias.size !== out) throw new Error(`convTranspose2d: bias has ${bias.size} values for ${out} output channels`);
  return { w: w4, stride, pad: [ph, pw], outPad: [oph, opw], outSize: [outH, outW], out };
}

/**
 * PyTorch's F.conv_transpose2d (groups 1, dilation 1) on NHWC: `w` `[kh, kw, Cout, Cin]`.
 * Output size (H-1)·s - 2p + k + output_padding. On the native backend one custom-gradient
 * op (conv-native.ts), otherwise {@link convTranspose2dComposite}.
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor4D {
  if (!isNative()) return convTranspose2dComposite(x, w, bias, opts);
  const g = convTransposeGeometry(x, w, bias, opts);
  return tf.tidy(() => nativeConvTranspose(x as Tensor4D, g.w, bias === null || bias === undefined ? null : reshapeTo(bias, [g.out]), g.stride, g.outSize, g.pad, g.outPad));
}

/**
 * convTranspose2d composed of tfjs ops (differentiated by tfjs): the pure-JS backend's path,
 * and a reference for the native one on any backend.
 */
export function convTranspose2dComposite(x: Tensor, w: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor4D {
  const { w: w4, stride, pad, outPad, outSize, out } = convTransposeGeometry(x, w, bias, opts);
  const [b, h, wd] = x.shape as [number, number, number, number];
  const [kh, kw] = w4.shape;
  return tf.tidy(() => {
    // Full ("valid") transposed convolution, large enough to hold the crop, then crop.
    const fullH = (h - 1) * stride[0] + kh + Math.max(0, outPad[0] - pad[0]);
    const fullW = (wd - 1) * stride[1] + kw + Math.max(0, outPad[1] - pad[1]);
    const full = tf.conv2dTranspose(x as Tensor4D, w4, [b, fullH, fullW, out], stride, 'valid');
    const y = fullH === outSize[0] && fullW === outSize[1] ? full : tf.slice(full, [0, pad[0], pad[1], 0], [b, outSize[0], outSize[1], out]);
    return addBias(y, bias, 'convTranspose2d');
  });
}
