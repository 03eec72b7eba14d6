// PixelShuffle / PixelUnshuffle in PyTorch's channel order on NHWC tensors. tfjs's
// depthToSpace has no gradient and orders channels (i, j, c) instead of PyTorch's (c, i, j),
// so both are written as reshape + transpose, which are differentiable.
import { tf } from '../runtime/index.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';

/** `[B, H, W, C·r²]` -> `[B, H·r, W·r, C]`; input channel c·r² + i·r + j -> output (h·r+i, w·r+j, c). */
export function pixelShuffle(x: Tensor, r: number): Tensor4D {
  if (x.rank !== 4) throw new Error(`pixelShuffle: input must be [B, H, W, C], got ${JSON.stringify(x.shape)}`);
  const [b, h, w, cr] = x.shape as [number, number, number, number];
  if (!Number.isInteger(r) || r < 1 || cr % (r * r) !== 0) throw new Error(`pixelShuffle: ${cr} channels are not divisible by r²=${r * r}`);
  const c = cr / (r * r);
  return tf.tidy(() => x.reshape([b, h, w, c, r, r]).transpose([0, 1, 4, 2, 5, 3]).reshape([b, h * r, w * r, c]));
}

/** The inverse: `[B, H·r, W·r, C]` -> `[B, H, W, C·r²]`. */
export function pixelUnshuffle(x: Tensor, r: number): Tensor4D {
  if (x.rank !== 4) throw new Error(`pixelUnshuffle: input must be [B, H, W, C], got ${JSON.stringify(x.shape)}`);
  const [b, hr, wr, c] = x.shape as [number, number, number, number];
  if (!Number.isInteger(r) || r < 1 || hr % r !== 0 || wr % r !== 0) throw new Error(`pixelUnshuffle: spatial size ${hr}x${wr} is not divisible by ${r}`);
  const h = hr / r;
  const w = wr / r;
  return tf.tidy(() => x.reshape([b, h, r, w, r, c]).transpose([0, 1, 3, 5, 2, 4]).reshape([b, h, w, c * r * r]));
}
