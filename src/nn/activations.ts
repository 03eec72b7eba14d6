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

// ln(1/√(2π)): the normal density's constant, folded into its exponent.
const LOG_INV_SQRT_2PI = -0.5 * Math.log(2 * Math.PI);

/**
 * GELU as 5 native ops forward and 7 back (tfjs's composition runs the same 5 forward and about
 * 15 back, and keeps four input-sized tensors for the backward pass where this keeps two).
 * cdf = (1 + erf(x/√2))/2, y = x·cdf; dy/dx = cdf + x·φ(x) with φ(x) = exp(ln(1/√(2π)) − x²/2).
 * (Erfc would save an op but is 3× slower than Erf here.)
 */
const nativeGelu = once(() => {
  const T = floatT();
  return tf.customGrad((...args) => {
    const [x, save] = args as [Tensor, (ts: Tensor[]) => void];
    const erf = op('Erf', T, [op('Mul', T, [x, tf.scalar(Math.SQRT1_2)])]);
    const cdf = op('Mul', T, [op('AddV2', T, [erf, tf.scalar(1)]), tf.scalar(0.5)]);
    save([x, cdf]);
    return {
      value: op('Mul', T, [x, cdf]),
      // Runs outside any per-op scope: the tidy frees the intermediates now.
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        tf.tidy(() => {
          const [xs, cdfs] = saved as [Tensor, Tensor];
          const exponent = op('Sub', T, [tf.scalar(LOG_INV_SQRT_2PI), op('Mul', T, [op('Square', T, [xs]), tf.scalar(0.5)])]);
          return op('Mul', T, [dy, op('AddV2', T, [cdfs, op('Mul', T, [xs, op('Exp', T, [exponent])])])]);
        }),
    };
  });
});

/** Exact GELU, 0.5·x·(1 + erf(x/√2)) (PyTorch's default, not the tanh approximation). */
export function gelu(x: Tensor): Tensor {
  if (isNative() && x.dtype === 'float32') return nativeGelu()(x);
  return tf.tidy(() => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5));
}
