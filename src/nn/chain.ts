// Sequential layers that free what they no longer need. tfjs keeps every tensor a function
// makes until the end of the enclosing tf.tidy, so a network written as nested calls holds all
// of its activations at once; PyTorch frees each as soon as nothing refers to it. Disposing an
// intermediate as soon as the next step has consumed it brings the peak down to a few
// activations. It is safe under a gradient tape too: what the backward pass reads is saved as
// clones that keep the data alive.
import type { Tensor } from '@tensorflow/tfjs';

/** One step of a chain: a function of the previous step's output. */
export type Step = (x: Tensor) => Tensor;

/**
 * Applies `steps` in order to `x` and returns the last result, disposing each intermediate
 * result once the following step has returned. `x` itself (the caller's) is never disposed, nor
 * a result a step passes through unchanged.
 */
export function chain(x: Tensor, ...steps: readonly Step[]): Tensor {
  let h = x;
  for (const step of steps) {
    const next = step(h);
    if (h !== x && next !== h) h.dispose();
    h = next;
  }
  return h;
}
