// PyTorch's default initialisation, as value generators for the parameter builder.
// nn.Conv2d / nn.ConvTranspose2d / nn.Linear use kaiming_uniform(a=sqrt(5)) for the weight,
// which reduces to U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
import type { Rng } from '../util/rng.ts';

/** Fills `size` values from a random stream (the stream is derived per parameter name). */
export type Init = (rng: Rng, size: number) => Float32Array;

/** An initialiser that fills every value with `value`. */
export const constant = (value: number): Init => (_rng, size) => new Float32Array(size).fill(value);
/** An initialiser of zeros. */
export const zeros: Init = constant(0);
/** An initialiser of ones. */
export const ones: Init = constant(1);
/** An initialiser drawing uniformly from [`lo`, `hi`). */
export const uniform = (lo: number, hi: number): Init => (rng, size) => rng.uniformArray(size, lo, hi);
/** An initialiser drawing from a normal distribution with `mean` and standard deviation `std`. */
export const normal = (mean: number, std: number): Init => (rng, size) => rng.normalArray(size, mean, std);

/** U(±1/sqrt(fanIn)): PyTorch's default for conv/linear weights and biases. */
export function torchDefault(fanIn: number): Init {
  if (!(fanIn > 0)) throw new Error(`torchDefault: fan_in must be positive, got ${fanIn}`);
  const bound = 1 / Math.sqrt(fanIn);
  return uniform(-bound, bound);
}

/**
 * fan_in as PyTorch computes it from a weight in ITS layout: dim 1 times the receptive field.
 * For Conv2d that is in/groups·kh·kw; for ConvTranspose2d ([in, out/groups, kh, kw]) it is
 * out/groups·kh·kw; for Linear ([out, in]) it is in.
 */
export function torchFanIn(pytorchShape: readonly number[]): number {
  if (pytorchShape.length < 2) throw new Error(`torchFanIn: need rank >= 2, got ${JSON.stringify(pytorchShape)}`);
  return pytorchShape.slice(1).reduce((a, b) => a * b, 1);
}
