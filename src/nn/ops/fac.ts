// Filter-adaptive convolution (STFAN's FAC layer, the original's KernelConv2D): a spatially
// variant depth-wise filter. Every pixel and channel has its own K×K kernel, predicted by the
// network; the input is replicate-padded by (K−1)/2 so the output keeps the input's size:
//
//   y[b, i, j, c] = Σ_{u,v < K} xpad[b, i+u, j+v, c] · kernels[b, i, j, c·K² + u·K + v]
//
// (the channel index of the kernels is the original's NCHW channel index, so kernels predicted by
// a convolution with PyTorch weights line up unchanged). Built from differentiable tfjs ops:
// gradients with respect to both the input and the kernels come from autodiff, and the input
// gradient flows back through the replicate padding (edge pixels collect the taps that read them).
import { tf } from '../../runtime/index.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';

/** Clamped source indices `clamp(i − p, 0, n − 1)` for i in [0, n + 2p): replicate padding. */
function edgeIndices(n: number, p: number): Tensor {
  const idx = new Int32Array(n + 2 * p);
  for (let i = 0; i < idx.length; i++) idx[i] = Math.min(n - 1, Math.max(0, i - p));
  return tf.tensor1d(idx, 'int32');
}

/** Replicate ("edge") padding of H and W by `p` on every side; tf.mirrorPad cannot do this. */
export function replicatePad(x: Tensor4D, p: number): Tensor4D {
  if (!Number.isInteger(p) || p < 0) throw new Error(`replicatePad: padding must be a non-negative integer, got ${p}`);
  if (p === 0) return x;
  const [, h, w] = x.shape;
  return tf.tidy(() => tf.gather(tf.gather(x, edgeIndices(h, p), 1), edgeIndices(w, p), 2) as Tensor4D);
}

function check(x: Tensor, kernels: Tensor, k: number): asserts x is Tensor4D {
  if (!Number.isInteger(k) || k < 1 || k % 2 === 0) throw new Error(`fac: kernel size must be a positive odd integer, got ${k}`);
  if (x.rank !== 4) throw new Error(`fac: input must be [B, H, W, C], got shape ${JSON.stringify(x.shape)}`);
  if (kernels.rank !== 4) throw new Error(`fac: kernels must be [B, H, W, C·k²], got shape ${JSON.stringify(kernels.shape)}`);
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const [kb, kh, kw, kc] = kernels.shape as [number, number, number, number];
  if (kb !== b || kh !== h || kw !== w) {
    throw new Error(`fac: kernels ${JSON.stringify(kernels.shape)} must match the input's batch and size ${JSON.stringify([b, h, w])}`);
  }
  if (kc !== c * k * k) throw new Error(`fac: kernels have ${kc} channels, expected C·k² = ${c}·${k * k} = ${c * k * k}`);
}

/**
 * The adjoint of replicatePad along `axis` (1 or 2): padded rows that copied an edge row are
 * summed back into it.
 */
function foldEdges(d: Tensor4D, p: number, n: number, axis: 1 | 2): Tensor4D {
  if (p === 0) return d;
  const part = (start: number, size: number): Tensor4D => {
    const begin = [0, 0, 0, 0];
    const sizes = [...d.shape] as number[];
    begin[axis] = start;
    sizes[axis] = size;
    return tf.slice(d, begin, sizes);
  };
  if (n === 1) return tf.sum(d, axis, true) as Tensor4D;
  const first = tf.sum(part(0, p + 1), axis, true);
  const last = tf.sum(part(p + n - 1, p + 1), axis, true);
  const parts = n > 2 ? [first, part(p + 1, n - 2), last] : [first, last];
  return tf.concat(parts, axis) as Tensor4D;
}

/** Depth-wise filter `[k, k, C, k²]` whose output `c·k² + u·k + v` copies input (u, v) of channel c. */
function tapSelector(c: number, k: number): Tensor4D {
  return tf.tidy(() => tf.tile(tf.eye(k * k).reshape([k, k, 1, k * k]), [1, 1, c, 1]) as Tensor4D);
}

/**
 * Per-pixel, per-channel K×K filtering with replicate padding. `x` `[B, H, W, C]`, `kernels`
 * `[B, H, W, C·k²]` (tap (u, v) of channel c at channel `c·k² + u·k + v`), `k` odd.
 * Returns `[B, H, W, C]`. Differentiable with respect to both inputs.
 */
export function fac(x: Tensor, kernels: Tensor, k: number): Tensor4D {
  check(x, kernels, k);
  const [b, h, w, c] = x.shape;
  const taps = k * k;
  const p = (k - 1) / 2;
  // Forward: one depth-wise convolution with a tap-selecting filter gathers every pixel's k×k
  // neighbourhood, already in the kernels' channel layout; then a multiply and a sum over taps.
  // Backward is written out: tfjs's generic depth-wise input gradient is several times slower
  // than shifting the k² tap planes back into place.
  const op = tf.customGrad((...args: Array<Tensor | ((ts: Tensor[]) => void)>) => {
    const [xi, ki, save] = args as [Tensor4D, Tensor, (ts: Tensor[]) => void];
    const patches = tf.depthwiseConv2d(replicatePad(xi, p), tapSelector(c, k), 1, 'valid');
    // Tensors the gradient reads must go through save: the forward pass's intermediates,
    // inputs included, are disposed before backprop runs.
    save([patches, ki]);
    const value = tf.sum(tf.reshape(tf.mul(patches, ki), [b, h, w, c, taps]), 4);
    const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor[] => {
      const dy5 = tf.reshape(dy, [b, h, w, c, 1]);
      const [savedPatches, savedKernels] = saved as [Tensor, Tensor];
      const dk = tf.reshape(tf.mul(tf.reshape(savedPatches, [b, h, w, c, taps]), dy5), [b, h, w, c * taps]);
      // Each tap plane (dy · its kernel) goes back to the padded pixel it read.
      const g = tf.unstack(tf.transpose(tf.mul(tf.reshape(savedKernels, [b, h, w, c, taps]), dy5), [4, 0, 1, 2, 3]), 0);
      const shifted = g.map((gt, t) => {
        const u = Math.floor(t / k);
        const v = t % k;
        return tf.pad(gt, [[0, 0], [u, k - 1 - u], [v, k - 1 - v], [0, 0]]);
      });
      const dxp = tf.addN(shifted) as Tensor4D;
      return [foldEdges(foldEdges(dxp, p, h, 1), p, w, 2), dk];
    };
    return { value, gradFunc };
  });
  return tf.tidy(() => op(x, kernels) as Tensor4D);
}
