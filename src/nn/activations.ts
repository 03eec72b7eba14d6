// Elementwise activations with PyTorch's definitions.
import { tf } from '../runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';

export const relu = (x: Tensor): Tensor => tf.relu(x);
export const sigmoid = (x: Tensor): Tensor => tf.sigmoid(x);
export const tanh = (x: Tensor): Tensor => tf.tanh(x);

/** PyTorch's default negative slope is 0.01. */
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => tf.leakyRelu(x, slope);

/** Exact GELU, 0.5·x·(1 + erf(x/√2)) (PyTorch's default, not the tanh approximation). */
export function gelu(x: Tensor): Tensor {
  return tf.tidy(() => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5));
}
