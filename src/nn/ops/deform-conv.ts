// Modulated deformable convolution (DCNv2) on NHWC tensors with the semantics of torchvision's
// deform_conv2d:
//
//   out[b,y,x,o] = bias[o] + Σ_{c,i,j} W[i,j,c,o] · m[g(c),k] · S_c(y·s − p + i·d + Δy[g(c),k], x·s − p + j·d + Δx[g(c),k])
//
// with k = i·kw + j, g(c) = c div (Cin/G), S_c torchvision's zero-outside bilinear sampling.
// Written as a deformable im2col (the bilinear sample of every channel at every shifted tap,
// times the mask) followed by one matrix product with the weight. The im2col step is a
// custom-gradient op with the exact gradient of the expression (as the DCNv2 kernels compute
// it): two implementations, TensorFlow's CropAndResize ops on the native backend
// (deform-crop.ts) and gathers / segment sums anywhere (deform-gather.ts). The matrix product
// and bias are ordinary tfjs ops.
import { tf, isNative } from '../../runtime/index.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { pair } from '../conv.ts';
import type { Pair } from '../conv.ts';
import { convOutSize } from './deform-layout.ts';
import type { DeformGeometry } from './deform-layout.ts';
import { gatherSampler } from './deform-gather.ts';
import { cropSampler } from './deform-crop.ts';

/** 'crop': TensorFlow's CropAndResize ops (native backend only, several times faster); 'gather': any backend. */
export type DeformSampling = 'auto' | 'crop' | 'gather';

export interface DeformConv2dOptions {
  readonly stride?: Pair;
  /** Symmetric zero padding: a number or `[ph, pw]` (torchvision's). */
  readonly padding?: Pair;
  readonly dilation?: Pair;
  /** Weight groups (torchvision's n_weight_grps), default 1. */
  readonly groups?: number;
  /** Offset groups; default inferred from the offset channels (2·G·kh·kw). */
  readonly deformableGroups?: number;
  /** Sampling implementation; 'auto' (default) is 'crop' on the native backend, else 'gather'. */
  readonly sampling?: DeformSampling;
}

const shapeStr = (t: Tensor): string => JSON.stringify(t.shape);

function geometry(x: Tensor, offset: Tensor, mask: Tensor | null, kernel: readonly [number, number], opts: DeformConv2dOptions): DeformGeometry {
  if (x.rank !== 4) throw new Error(`deformConv2d: input must be [B, H, W, C], got ${shapeStr(x)}`);
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const stride = pair(opts.stride, 1, 'deformConv2d stride');
  const padding = pair(opts.padding, 0, 'deformConv2d padding');
  const dilation = pair(opts.dilation, 1, 'deformConv2d dilation');
  if (stride.includes(0) || dilation.includes(0)) throw new Error('deformConv2d: stride and dilation must be positive');
  const [kh, kw] = kernel;
  const k = kh * kw;
  const ho = convOutSize(h, kh, stride[0], padding[0], dilation[0]);
  const wo = convOutSize(w, kw, stride[1], padding[1], dilation[1]);
  if (ho < 1 || wo < 1) throw new Error(`deformConv2d: input ${h}x${w} is too small for a ${kh}x${kw} kernel (padding ${padding}, dilation ${dilation})`);
  if (offset.rank !== 4) throw new Error(`deformConv2d: offset must be [B, Ho, Wo, 2·G·kh·kw], got ${shapeStr(offset)}`);
  const oc = offset.shape[3]!;
  if (oc % (2 * k) !== 0 || oc === 0) throw new Error(`deformConv2d: offset has ${oc} channels, not a positive multiple of 2·kh·kw = ${2 * k}`);
  const groups = opts.deformableGroups ?? oc / (2 * k);
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`deformConv2d: deformableGroups must be a positive integer, got ${groups}`);
  if (oc !== 2 * groups * k) throw new Error(`deformConv2d: offset has ${oc} channels, expected 2·${groups}·${k} = ${2 * groups * k} for ${groups} deformable groups`);
  if (c % groups !== 0) throw new Error(`deformConv2d: ${c} input channels are not divisible by ${groups} deformable groups`);
  const expected = [b, ho, wo];
  if (!expected.every((d, i) => offset.shape[i] === d)) throw new Error(`deformConv2d: offset ${shapeStr(offset)} does not match the output size [${b}, ${ho}, ${wo}, ·]`);
  if (mask !== null) {
    if (mask.rank !== 4 || !expected.every((d, i) => mask.shape[i] === d) || mask.shape[3] !== groups * k) {
      throw new Error(`deformConv2d: mask must be [${b}, ${ho}, ${wo}, ${groups * k}], got ${shapeStr(mask)}`);
    }
  }
  return { batch: b, height: h, width: w, outHeight: ho, outWidth: wo, kernel: [kh, kw], stride, padding, dilation, deformableGroups: groups };
}

function chooseSampler(sampling: DeformSampling | undefined): typeof gatherSampler {
  const s = sampling ?? 'auto';
  if (s === 'gather') return gatherSampler;
  if (s === 'crop') {
    if (!isNative()) throw new Error(`deformConv2d: sampling 'crop' needs the native TensorFlow backend (running on '${tf.getBackend()}')`);
    return cropSampler;
  }
  if (s !== 'auto') throw new Error(`deformConv2d: unknown sampling '${String(s)}' (expected 'auto', 'crop' or 'gather')`);
  return isNative() ? cropSampler : gatherSampler;
}

/**
 * Deformable im2col: `[B, Ho, Wo, G·kh·kw·Cin/G]`, column ((g·K + k)·Cin/G + c) holding
 * mask × bilinear sample of channel g·Cin/G + c at tap k (group-major, matching the offset and
 * mask channel order). `mask` null means unmodulated (DCNv1). Differentiable with respect to
 * x, offset and mask.
 */
export function deformIm2col(x: Tensor, offset: Tensor, mask: Tensor | null, kernelSize: Pair, opts: DeformConv2dOptions = {}): Tensor4D {
  const kernel = pair(kernelSize, 1, 'deformIm2col kernelSize');
  if (kernel.includes(0)) throw new Error('deformIm2col: kernelSize must be positive');
  const g = geometry(x, offset, mask, kernel, opts);
  const run = chooseSampler(opts.sampling)(g, x.shape[3]!, mask !== null);
  return (mask === null ? run(x, offset) : run(x, offset, mask)) as Tensor4D;
}

/**
 * torchvision's deform_conv2d on NHWC: `x` `[B, H, W, Cin]`, `offset` `[B, Ho, Wo, 2·G·kh·kw]`
 * (Δy, Δx pairs per deformable group and tap), `mask` `[B, Ho, Wo, G·kh·kw]` or null,
 * `weight` HWIO `[kh, kw, Cin/groups, Cout]`, `bias` `[Cout]` or null. Returns `[B, Ho, Wo, Cout]`.
 */
export function deformConv2d(
  x: Tensor, offset: Tensor, mask: Tensor | null, weight: Tensor, bias: Tensor | null, opts: DeformConv2dOptions = {},
): Tensor4D {
  if (weight.rank !== 4) throw new Error(`deformConv2d: weight must be HWIO [kh, kw, Cin/groups, Cout], got ${shapeStr(weight)}`);
  const [kh, kw, inPerGroup, cout] = weight.shape as [number, number, number, number];
  const groups = opts.groups ?? 1;
  const cin = x.shape[3] ?? 0;
  if (!Number.isInteger(groups) || groups < 1 || cin % groups !== 0 || cout % groups !== 0) {
    throw new Error(`deformConv2d: groups=${groups} must divide both input channels (${cin}) and output channels (${cout})`);
  }
  if (inPerGroup * groups !== cin) throw new Error(`deformConv2d: input has ${cin} channels but the weight ${shapeStr(weight)} with groups=${groups} expects ${inPerGroup * groups}`);
  if (bias !== null && bias.size !== cout) throw new Error(`deformConv2d: bias has ${bias.size} values for ${cout} output channels`);
  return tf.tidy(() => {
    const cols = deformIm2col(x, offset, mask, [kh, kw], opts);
    const [b, ho, wo] = cols.shape;
    const n = b * ho * wo;
    const k = kh * kw;
    const G = offset.shape[3]! / (2 * k); // deformable groups (checked by deformIm2col)
    const dg = cin / G;
    let y: Tensor;
    if (groups === 1) {
      // Weight rows (k, c) reordered to the columns' (group, k, c within group).
      const wr = G === 1 ? weight.reshape([k * cin, cout]) : weight.reshape([k, G, dg, cout]).transpose([1, 0, 2, 3]).reshape([k * cin, cout]);
      y = tf.matMul(cols.reshape([n, k * cin]), wr);
    } else {
      // Columns to (k, weight group, c) and weight (k, c, group, o) to one batched product per weight group.
      const ck = G === 1 ? cols : cols.reshape([n, G, k, dg]).transpose([0, 2, 1, 3]);
      const cg = ck.reshape([n, k, groups, inPerGroup]).transpose([2, 0, 1, 3]).reshape([groups, n, k * inPerGroup]);
      const wg = weight.reshape([k, inPerGroup, groups, cout / groups]).transpose([2, 0, 1, 3]).reshape([groups, k * inPerGroup, cout / groups]);
      y = tf.matMul(cg, wg).transpose([1, 0, 2]).reshape([n, cout]);
    }
    if (bias !== null) y = tf.add(y, bias.reshape([cout]));
    return y.reshape([b, ho, wo, cout]) as Tensor4D;
  });
}
