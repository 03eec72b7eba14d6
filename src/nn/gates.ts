// NAFNet's multiplicative gates on NHWC tensors: SimpleGate (split channels in halves, multiply)
// and Simplified Channel Attention (scale channels by a 1x1 conv of their spatial mean). On the
// native backend each is one custom-gradient op of a few TensorFlow ops; on pure JS they are
// composed of tfjs ops.
import { tf, isNative } from '../runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { conv2d } from './conv.ts';
import { attr, biasAttrs, floatT, int32, op, ops, reduce, reshapeRaw, reshapeTo } from './native.ts';
import { once } from '../util/once.ts';

function checkNhwc(x: Tensor, what: string): void {
  if (x.rank !== 4) throw new Error(`${what}: input must be [B, H, W, C], got shape ${JSON.stringify(x.shape)}`);
}

const nativeSimpleGate = once(() => tf.customGrad((...args) => {
  const [x, save] = args as [Tensor, (ts: Tensor[]) => void];
  const half = x.shape[3]! / 2;
  const sizes = int32([half, half]);
  const axis = int32(3);
  const [a, b] = ops('SplitV', [attr.float32('T'), attr.int32Type('Tlen'), attr.int('num_split', 2)], [x, sizes, axis], 2) as [Tensor, Tensor];
  save([a, b]);
  return {
    value: op('Mul', floatT(), [a, b]),
    gradFunc: (dy: Tensor, saved: Tensor[]) =>
      tf.tidy(() => {
        const [as, bs] = saved as [Tensor, Tensor];
        const ax = int32(3);
        return op('ConcatV2', [attr.float32('T'), attr.int('N', 2), attr.int32Type('Tidx')], [op('Mul', floatT(), [dy, bs]), op('Mul', floatT(), [dy, as]), ax]);
      }),
  };
}));

/** SimpleGate: `[B, H, W, 2C]` -> first C channels times the last C. */
export function simpleGate(x: Tensor): Tensor {
  checkNhwc(x, 'simpleGate');
  if (x.shape[3]! % 2 !== 0) throw new Error(`simpleGate: channel count ${x.shape[3]} is odd`);
  if (isNative()) return nativeSimpleGate()(x);
  return tf.tidy(() => {
    const [a, b] = tf.split(x, 2, 3) as [Tensor, Tensor];
    return tf.mul(a, b);
  });
}

/**
 * x·(mean_hw(x)·W + b) as one op. With m = mean_hw(x) `[B, C]`, s = m·W + b, n = H·W:
 * dx = dy·s + (ds·Wᵀ)/n broadcast over H, W, where ds = Σ_hw dy·x; dW = mᵀ·ds; db = Σ_b ds.
 */
function nativeChannelAttention(x: Tensor, w2: Tensor, bias: Tensor | null): Tensor {
  const [bsz, h, w, c] = x.shape as [number, number, number, number];
  const T = floatT();
  const mm = (ta: boolean, tb: boolean): ReturnType<typeof floatT> => [...T, attr.bool('adj_x', ta), attr.bool('adj_y', tb)];
  const inputs = bias === null ? [x, w2] : [x, w2, bias];
  const run = tf.customGrad((...args) => {
    const save = args[inputs.length] as (ts: Tensor[]) => void;
    const [xi, wi, bi] = args as [Tensor, Tensor, Tensor | undefined];
    const m = reduce('Mean', xi, [1, 2], false);
    const lin = op('BatchMatMulV2', mm(false, false), [m, wi]);
    const s = bias === null ? lin : op('BiasAdd', biasAttrs(), [lin, bi!]);
    const s4 = reshapeRaw(s, [bsz, 1, 1, c]);
    save([xi, wi, m, s4]);
    return {
      value: op('Mul', T, [xi, s4]),
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [xs, ws, ms, ss] = saved as [Tensor, Tensor, Tensor, Tensor];
          const ds = reduce('Sum', op('Mul', T, [dy, xs]), [1, 2], false);
          const invN = tf.scalar(1 / (h * w));
          const dm = op('Mul', T, [op('BatchMatMulV2', mm(false, true), [ds, ws]), invN]);
          const dx = op('AddV2', T, [op('Mul', T, [dy, ss]), reshapeRaw(dm, [bsz, 1, 1, c])]);
          const dw = op('BatchMatMulV2', mm(true, false), [ms, ds]);
          return bias === null ? [dx, dw] : [dx, dw, op('BiasAddGrad', biasAttrs(), [ds])];
        }),
    };
  });
  return run(...inputs);
}

/**
 * Simplified Channel Attention: x · conv1x1(adaptive_avg_pool(x)), with the conv's `weight`
 * HWIO `[1, 1, C, C]` and optional `bias` `[C]`.
 */
export function channelAttention(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  checkNhwc(x, 'channelAttention');
  const c = x.shape[3]!;
  if (weight.size !== c * c) throw new Error(`channelAttention: weight ${JSON.stringify(weight.shape)} is not a 1x1 conv from ${c} to ${c} channels`);
  if (bias !== null && bias.size !== c) throw new Error(`channelAttention: bias has ${bias.size} values for ${c} channels`);
  return tf.tidy(() => {
    if (isNative()) return nativeChannelAttention(x, reshapeTo(weight, [c, c]), bias === null ? null : reshapeTo(bias, [c]));
    return tf.mul(x, conv2d(tf.mean(x, [1, 2], true), reshapeTo(weight, [1, 1, c, c]), bias));
  });
}

const nativeScaledResidual = once(() => tf.customGrad((...args) => {
  const [base, x, s, save] = args as [Tensor, Tensor, Tensor, (ts: Tensor[]) => void];
  save([x, s]);
  const xs = op('Mul', floatT(), [x, s]);
  return {
    value: op('AddV2', floatT(), [base, xs]),
    gradFunc: (dy: Tensor, saved: Tensor[]) =>
      tf.tidy(() => {
        const [xv, sv] = saved as [Tensor, Tensor];
        const outer = Array.from({ length: dy.rank - 1 }, (_, i) => i);
        return [dy.clone(), op('Mul', floatT(), [dy, sv]), reduce('Sum', op('Mul', floatT(), [dy, xv]), outer, false)];
      }),
  };
}));

/** base + x·scale, with a per-channel `scale` of any shape holding C values (NAFNet's beta, gamma). */
export function scaledResidual(base: Tensor, x: Tensor, scale: Tensor): Tensor {
  const c = x.shape[x.rank - 1]!;
  if (scale.size !== c) throw new Error(`scaledResidual: scale has ${scale.size} values for ${c} channels`);
  if (base.shape.length !== x.shape.length || base.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`scaledResidual: shapes ${JSON.stringify(base.shape)} and ${JSON.stringify(x.shape)} differ`);
  }
  return tf.tidy(() => {
    const s = reshapeTo(scale, [c]);
    if (isNative()) return nativeScaledResidual()(base, x, s);
    return tf.add(base, tf.mul(x, s));
  });
}
