// Convolutions on the native backend, each (bias included) one custom-gradient op of
// TensorFlow ops, for conv.ts. PyTorch's zero padding is given to the kernels as SAME or VALID
// when equivalent (TensorFlow's fast CPU kernels), otherwise handled as described per op.
// All take dilation 1; weights in our layouts (conv HWIO `[kh, kw, in/groups, out]`,
// transposed conv `[kh, kw, out, in]`).
import { tf, nativeBackend } from '../runtime/index.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { isZeroPads, padNhwc, type Pads } from './pads.ts';
import { attr, biasAttrs, floatT, int32, op, reshapeRaw } from './native.ts';
import type { NativeAttr } from './native.ts';

type TfPadding = 'VALID' | 'SAME' | 'EXPLICIT';
type Stride = readonly [number, number];

function convAttrs(stride: Stride, padding: TfPadding, p: Pads, cudnnAttr = true): NativeAttr[] {
  const b = nativeBackend().binding;
  return [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'strides', type: b.TF_ATTR_INT, value: [1, stride[0], stride[1], 1] },
    ...(cudnnAttr ? [{ name: 'use_cudnn_on_gpu', type: b.TF_ATTR_BOOL, value: true }] : []),
    { name: 'padding', type: b.TF_ATTR_STRING, value: padding },
    { name: 'explicit_paddings', type: b.TF_ATTR_INT, value: padding === 'EXPLICIT' ? [0, 0, p[0], p[1], p[2], p[3], 0, 0] : [] },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'dilations', type: b.TF_ATTR_INT, value: [1, 1, 1, 1] },
  ];
}

/**
 * The padding actually read along one axis: PyTorch's bottom/right padding beyond the last
 * window is never used, so it is trimmed. Returns [before, after, SAME's before, SAME's after]
 * (the latter null when TensorFlow's SAME would give a different output size).
 */
function axisPadding(size: number, k: number, s: number, before: number, after: number): [number, number, number | null, number | null] {
  const out = Math.floor((size + before + after - k) / s) + 1;
  const used = Math.max(0, (out - 1) * s + k - size - before);
  const sameOut = Math.ceil(size / s);
  const sameTotal = Math.max(0, (sameOut - 1) * s + k - size);
  const sameBefore = Math.floor(sameTotal / 2);
  return out === sameOut ? [before, used, sameBefore, sameTotal - sameBefore] : [before, used, null, null];
}

/** TensorFlow's padding mode for a window over `size` (h, w) with PyTorch's padding `p`. */
function paddingMode(size: readonly [number, number], k: readonly [number, number], stride: Stride, p: Pads): { mode: TfPadding; eff: Pads } {
  const [t, bo, sameT, sameB] = axisPadding(size[0], k[0], stride[0], p[0], p[1]);
  const [l, r, sameL, sameR] = axisPadding(size[1], k[1], stride[1], p[2], p[3]);
  const eff: Pads = [t, bo, l, r];
  const mode: TfPadding = isZeroPads(eff) ? 'VALID' : t === sameT && bo === sameB && l === sameL && r === sameR ? 'SAME' : 'EXPLICIT';
  return { mode, eff };
}

/** A convolution without its bias: forward (with the tensors its backward reads) and backward. */
interface Kernel {
  forward(x: Tensor, w: Tensor): { y: Tensor; saved: Tensor[] };
  backward(dy: Tensor, saved: Tensor[]): [Tensor, Tensor];
}

/**
 * One custom-gradient op: the kernel plus BiasAdd over channels (BiasAddGrad for the bias).
 * tfjs runs gradient functions outside any per-op scope: the tidy frees the intermediates at
 * once instead of at the end of the backward pass.
 */
function withBias(k: Kernel, x: Tensor, w: Tensor, bias: Tensor | null): Tensor4D {
  const inputs = bias === null ? [x, w] : [x, w, bias];
  const run = tf.customGrad((...args) => {
    const save = args[inputs.length] as (ts: Tensor[]) => void;
    const [xi, wi, bi] = args as [Tensor, Tensor, Tensor | undefined];
    const { y, saved } = k.forward(xi, wi);
    save(saved);
    return {
      value: bias === null ? y : op('BiasAdd', biasAttrs(), [y, bi!]),
      gradFunc: (dy: Tensor, s: Tensor[]) =>
        tf.tidy(() => {
          const [dx, dw] = k.backward(dy, s);
          return bias === null ? [dx, dw] : [dx, dw, op('BiasAddGrad', biasAttrs(), [dy])];
        }),
    };
  });
  return run(...inputs) as Tensor4D;
}

/**
 * Conv2D with Conv2DBackpropInput / Conv2DBackpropFilter as the gradient. Padding that is not
 * SAME or VALID: EXPLICIT in the forward op, and the backward ops run VALID over a padded copy
 * of the input (made there, not in the forward pass, so it is not held for the backward pass)
 * with dx cropped back.
 */
export function nativeConv(x: Tensor4D, w: Tensor4D, bias: Tensor | null, stride: Stride, p: Pads): Tensor4D {
  const { mode, eff } = paddingMode([x.shape[1], x.shape[2]], [w.shape[0], w.shape[1]], stride, p);
  const back = convAttrs(stride, mode === 'EXPLICIT' ? 'VALID' : mode, eff);
  return withBias(
    {
      forward: (xi, wi) => ({ y: convOp(xi, wi, stride, mode, eff), saved: [xi, wi] }),
      backward: (dy, [xs, ws]) => {
        const xp = mode === 'EXPLICIT' ? padNhwc(xs!, eff) : xs!;
        const dx = op('Conv2DBackpropInput', back, [int32(xp.shape), ws!, dy]);
        const dw = op('Conv2DBackpropFilter', back, [xp, int32(ws!.shape), dy]);
        return [xp === xs ? dx : tf.slice(dx, [0, eff[0], eff[2], 0], xs!.shape), dw];
      },
    },
    x, w, bias,
  );
}

/** The op that runs forward convolutions: `Conv` (TensorFlow's generic convolution) or `Conv2D`. */
export type ForwardConvOp = 'Conv' | 'Conv2D';

let forwardOp: ForwardConvOp | undefined;

/**
 * Chooses the op of forward convolutions (default: `Conv` on the CPU, `Conv2D` on a GPU);
 * returns the previous choice. Exists for benchmarks and tests that compare the two.
 */
export function setForwardConvOp(choice: ForwardConvOp): ForwardConvOp {
  const previous = forwardConvOp();
  forwardOp = choice;
  return previous;
}

function forwardConvOp(): ForwardConvOp {
  return (forwardOp ??= (nativeBackend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true ? 'Conv2D' : 'Conv');
}

/**
 * A forward convolution (NHWC, HWIO weights) with TensorFlow's padding mode. On the CPU the op
 * is the generic `Conv`, which runs Eigen's spatial convolution: oneDNN rewrites `Conv2D` in
 * eager mode to an im2col + GEMM primitive whose patch matrix (output pixels × kh·kw·Cin floats)
 * makes it 1.5–3× slower at 3×3 and up to 100× slower on large frames, where its backward
 * ops (`Conv2DBackpropInput`/`Filter`, kept) run oneDNN's direct convolution. 1×1 kernels,
 * which need no patch matrix, stay `Conv2D`; so does a GPU (cuDNN).
 */
function convOp(x: Tensor, w: Tensor, stride: Stride, mode: TfPadding, eff: Pads): Tensor {
  if (forwardConvOp() === 'Conv2D' || w.shape[0]! * w.shape[1]! === 1) return op('Conv2D', convAttrs(stride, mode, eff), [x, w]);
  const b = nativeBackend().binding;
  return op('Conv', [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'strides', type: b.TF_ATTR_INT, value: [1, stride[0], stride[1], 1] },
    { name: 'padding', type: b.TF_ATTR_STRING, value: mode },
    { name: 'explicit_paddings', type: b.TF_ATTR_INT, value: mode === 'EXPLICIT' ? [0, 0, eff[0], eff[1], eff[2], eff[3], 0, 0] : [] },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'CHANNELS_LAST' },
    { name: 'dilations', type: b.TF_ATTR_INT, value: [1, 1, 1, 1] },
    { name: 'batch_dims', type: b.TF_ATTR_INT, value: 1 },
    { name: 'groups', type: b.TF_ATTR_INT, value: 1 },
  ], [x, w]);
}

/**
 * 1x1 convolution (stride 1, no padding) as a matrix product over the `[B·H·W, Cin]` view:
 * x·W, dx = dy·Wᵀ, dW = xᵀ·dy. About 10% less CPU than Conv2D and its backprop ops at NAFNet's
 * shapes (64-1024 channels, 8²-128² positions), mostly in the weight gradient. The op is
 * BatchMatMulV2 (what tfjs's matMul runs), not MatMul: the process crashed with heap
 * corruption under Node's sampling profiler (--cpu-prof) with MatMul, never with BatchMatMulV2.
 */
export function nativePointwise(x: Tensor4D, w: Tensor4D, bias: Tensor | null): Tensor4D {
  const [b, h, wd, cin] = x.shape;
  const cout = w.shape[3];
  const p = b * h * wd;
  const mm = (ta: boolean, tb: boolean): NativeAttr[] => [...floatT(), attr.bool('adj_x', ta), attr.bool('adj_y', tb)];
  return withBias(
    {
      forward: (xi, wi) => {
        const x2 = reshapeRaw(xi, [p, cin]);
        const w2 = reshapeRaw(wi, [cin, cout]);
        return { y: reshapeRaw(op('BatchMatMulV2', mm(false, false), [x2, w2]), [b, h, wd, cout]), saved: [x2, w2] };
      },
      backward: (dy, [x2, w2]) => {
        const dy2 = reshapeRaw(dy, [p, cout]);
        return [reshapeRaw(op('BatchMatMulV2', mm(false, true), [dy2, w2!]), x.shape), reshapeRaw(op('BatchMatMulV2', mm(true, false), [x2!, dy2]), w.shape)];
      },
    },
    x, w, bias,
  );
}

/**
 * Depthwise convolution. `w` is in our grouped layout `[kh, kw, 1, C·m]`; TensorFlow's is
 * `[kh, kw, C, m]` with the same output channel order (c·m + j), so a reshape converts.
 * Padding that is not SAME or VALID: a padded copy of the input and VALID.
 */
export function nativeDepthwise(x: Tensor4D, w: Tensor4D, bias: Tensor | null, stride: Stride, p: Pads): Tensor4D {
  const [kh, kw, , out] = w.shape;
  const c = x.shape[3];
  const { mode, eff } = paddingMode([x.shape[1], x.shape[2]], [kh, kw], stride, p);
  const xin = mode === 'EXPLICIT' ? padNhwc(x, eff) : x;
  const attrs = convAttrs(stride, mode === 'EXPLICIT' ? 'VALID' : mode, eff, false);
  const tfShape = [kh, kw, c, out / c];
  return withBias(
    {
      forward: (xi, wi) => {
        const wt = reshapeRaw(wi, tfShape);
        return { y: op('DepthwiseConv2dNative', attrs, [xi, wt]), saved: [xi, wt] };
      },
      backward: (dy, [xs, wt]) => [
        op('DepthwiseConv2dNativeBackpropInput', attrs, [int32(xs!.shape), wt!, dy]),
        reshapeRaw(op('DepthwiseConv2dNativeBackpropFilter', attrs, [xs!, int32(wt!.shape), dy]), w.shape),
      ],
    },
    xin, w, bias,
  );
}

/** A crop `[B, size…]` of `x` from `begin`, one native op (inside custom-gradient functions only). */
function sliceRaw(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const b = int32(begin);
  const s = int32(size);
  const y = op('Slice', [attr.float32('T'), attr.int32Type('Index')], [x, b, s]);
  tf.dispose([b, s]);
  return y;
}

/** Zero padding of the two spatial axes, one native op (inside custom-gradient functions only). */
function padRaw(x: Tensor, p: Pads): Tensor {
  if (isZeroPads(p)) return x;
  const pt = tf.tensor2d([0, 0, p[0], p[1], p[2], p[3], 0, 0], [4, 2], 'int32');
  const y = op('Pad', [attr.float32('T'), attr.int32Type('Tpaddings')], [x, pt]);
  pt.dispose();
  return y;
}

/**
 * Transposed convolution as the input gradient of the convolution of its output: over `outH`
 * rows with padding `pad` before and `pad - outPad` after (what the last window reads). When
 * that padding is SAME or VALID, forward and both gradients are single fast ops
 * (Conv2DBackpropInput forward, Conv2D for dx, Conv2DBackpropFilter for dw). Otherwise
 * (e.g. 3x3, stride 2, padding 1, output_padding 1) the forward op computes the full VALID
 * output and crops it, and the backward ops run VALID over dy zero-padded back to that size:
 * TensorFlow's CPU kernels with EXPLICIT padding are slower (the filter gradient up to 3x).
 */
export function nativeConvTranspose(
  x: Tensor4D, w: Tensor4D, bias: Tensor | null, stride: Stride,
  outSize: readonly [number, number], pad: readonly [number, number], outPad: readonly [number, number],
): Tensor4D {
  const [kh, kw, out] = w.shape;
  const batch = x.shape[0];
  const dual: Pads = [pad[0], Math.max(0, pad[0] - outPad[0]), pad[1], Math.max(0, pad[1] - outPad[1])];
  const { mode, eff } = paddingMode(outSize, [kh, kw], stride, dual);
  if (mode !== 'EXPLICIT') {
    const attrs = convAttrs(stride, mode, eff);
    const yShape = [batch, outSize[0], outSize[1], out];
    return withBias(
      {
        forward: (xi, wi) => ({ y: op('Conv2DBackpropInput', attrs, [int32(yShape), wi, xi]), saved: [xi, wi] }),
        backward: (dy, [xs, ws]) => [convOp(dy, ws!, stride, mode, eff), op('Conv2DBackpropFilter', attrs, [dy, int32(ws!.shape), xs!])],
      },
      x, w, bias,
    );
  }
  // Full output: every row a window writes, plus the zero rows output_padding adds beyond
  // them (VALID accepts up to stride - 1 extra rows); PyTorch's output starts at row `pad`.
  const fullH = (x.shape[1] - 1) * stride[0] + kh + Math.max(0, outPad[0] - pad[0]);
  const fullW = (x.shape[2] - 1) * stride[1] + kw + Math.max(0, outPad[1] - pad[1]);
  const crop: Pads = [pad[0], fullH - pad[0] - outSize[0], pad[1], fullW - pad[1] - outSize[1]];
  const valid = convAttrs(stride, 'VALID', crop);
  const yShape = [batch, outSize[0], outSize[1], out];
  return withBias(
    {
      forward: (xi, wi) => {
        const full = op('Conv2DBackpropInput', valid, [int32([batch, fullH, fullW, out]), wi, xi]);
        const y = sliceRaw(full, [0, pad[0], pad[1], 0], yShape);
        full.dispose();
        return { y, saved: [xi, wi] };
      },
      backward: (dy, [xs, ws]) => {
        const dyp = padRaw(dy, crop);
        return [convOp(dyp, ws!, stride, 'VALID', crop), op('Conv2DBackpropFilter', valid, [dyp, int32(ws!.shape), xs!])];
      },
    },
    x, w, bias,
  );
}
