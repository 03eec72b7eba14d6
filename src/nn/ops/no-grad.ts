// Runs a computation as one custom-gradient op whose gradient is zero for every input, like
// PyTorch's `.detach()` on its result. The ops inside are not recorded on the gradient tape,
// so comparisons, casts and other ops without a tfjs gradient may be used freely.
import { tf } from '../../runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';

export function noGrad(fn: (...xs: Tensor[]) => Tensor, ...inputs: Tensor[]): Tensor {
  if (inputs.length === 0) return tf.tidy(() => fn());
  const shapes = inputs.map((x) => [...x.shape]);
  const run = tf.customGrad((...args) => {
    const xs = args.slice(0, inputs.length) as Tensor[];
    const value = tf.tidy(() => {
      const y = fn(...xs);
      // customGrad must return a new tensor, not one of its inputs.
      return xs.includes(y) ? y.clone() : y;
    });
    return { value, gradFunc: () => shapes.map((s) => tf.zeros(s)) };
  });
  return run(...inputs);
}
