// Elementwise activations with PyTorch's definitions.
import { tf, isNative } from '../runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { attr, floatT, op } from './native.ts';
import { once } from '../util/once.ts';

// On the native backend, ReLU's gradient is one ReluGrad op (dy where the output is positive,
// 0 elsewhere, as PyTorch's threshold_backward) instead of tfjs's Step (IsNan, Select, Greater,
// Fill) and Multiply.
const nativeRelu = once(() => tf.customGrad((...args) => {
  const [x, save] = args as [Tensor, (ts: Tensor[]) => void];
  const y = op('Relu', floatT(), [x]);
  save([y]);
  return { value: y, gradFunc: (dy: Tensor, saved: Tensor[]) => op('ReluGrad', floatT(), [dy, saved[0]!]) };
}));

/** ReLU, max(x, 0); on the native backend a single op with a one-op gradient. */
export const relu = (x: Tensor): Tensor => (isNative() && x.dtype === 'float32' ? nativeRelu()(x) : tf.relu(x));
/** The logistic sigmoid, 1 / (1 + e^−x). */
export const sigmoid = (x: Tensor): Tensor => tf.sigmoid(x);
/** The hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => tf.tanh(x);

function nativeLeakyRelu(x: Tensor, slope: number): Tensor {
  const attrs = [...floatT(), attr.float('alpha', slope)];
  const run = tf.customGrad((...args) => {
    const [xi, save] = args as [Tensor, (ts: Tensor[]) => void];
    save([xi]);
    // The gradient reads the input (not the output), which is right for any slope sign.
    return { value: op('LeakyRelu', attrs, [xi]), gradFunc: (dy: Tensor, saved: Tensor[]) => op('LeakyReluGrad', attrs, [dy, saved[0]!]) };
  });
  return run(x);
}

/** PyTorch's default negative slope is 0.01. */
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => (isNative() && x.dtype === 'float32' ? nativeLeakyRelu(x, slope) : tf.leakyRelu(x, slope));

/** Exact GELU, 0.5·x·(1 + erf(x/√2)) (PyTorch's default, not the tanh approximation). */
export function gelu(x: Tensor): Tensor {
  return tf.tidy(() => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5));
}
