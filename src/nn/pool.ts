// Pooling with PyTorch semantics on NHWC tensors.
import { tf } from '../runtime/index.ts';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { pair } from './conv.ts';
import type { Pair } from './conv.ts';

function check(x: Tensor, what: string): asserts x is Tensor4D {
  if (x.rank !== 4) throw new Error(`${what}: input must be [B, H, W, C], got ${JSON.stringify(x.shape)}`);
}

/** F.avg_pool2d without padding (floor mode): stride defaults to the kernel size. */
export function avgPool2d(x: Tensor, kernel: Pair, stride?: Pair): Tensor4D {
  check(x, 'avgPool2d');
  const k = pair(kernel, 1, 'avgPool2d kernel');
  const s = pair(stride ?? k, 1, 'avgPool2d stride');
  return tf.avgPool(x, k, s, 'valid');
}

/** F.max_pool2d with zero-or-more padding (padded cells never win, as in PyTorch). */
export function maxPool2d(x: Tensor, kernel: Pair, stride?: Pair, padding: Pair = 0): Tensor4D {
  check(x, 'maxPool2d');
  const k = pair(kernel, 1, 'maxPool2d kernel');
  const s = pair(stride ?? k, 1, 'maxPool2d stride');
  const [ph, pw] = pair(padding, 0, 'maxPool2d padding');
  return tf.tidy(() => {
    const xp = ph === 0 && pw === 0 ? x : tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]], -3.4e38);
    return tf.maxPool(xp as Tensor4D, k, s, 'valid');
  });
}

/** PyTorch's adaptive pooling windows: [floor(i·in/out), ceil((i+1)·in/out)). */
export function adaptiveWindows(inSize: number, outSize: number): Array<[number, number]> {
  return Array.from({ length: outSize }, (_, i) => [Math.floor((i * inSize) / outSize), Math.ceil(((i + 1) * inSize) / outSize)]);
}

function averagingMatrix(inSize: number, outSize: number): Tensor {
  const m = new Float32Array(outSize * inSize);
  adaptiveWindows(inSize, outSize).forEach(([a, b], i) => {
    for (let j = a; j < b; j++) m[i * inSize + j] = 1 / (b - a);
  });
  return tf.tensor2d(m, [outSize, inSize]);
}

/** F.adaptive_avg_pool2d to `[outH, outW]` (a number means square). */
export function adaptiveAvgPool2d(x: Tensor, size: Pair = 1): Tensor4D {
  check(x, 'adaptiveAvgPool2d');
  const [oh, ow] = pair(size, 1, 'adaptiveAvgPool2d size');
  const [b, h, w, c] = x.shape;
  if (oh < 1 || ow < 1) throw new Error(`adaptiveAvgPool2d: output size must be positive, got ${oh}x${ow}`);
  return tf.tidy(() => {
    if (oh === 1 && ow === 1) return tf.mean(x, [1, 2], true) as Tensor4D;
    // Separable: average rows (matrix on H), then columns (matrix on W).
    const ah = averagingMatrix(h, oh);
    const aw = averagingMatrix(w, ow);
    const rows = tf.matMul(ah, x.transpose([1, 0, 2, 3]).reshape([h, b * w * c])).reshape([oh, b, w, c]);
    const cols = tf.matMul(aw, rows.transpose([2, 1, 0, 3]).reshape([w, b * oh * c])).reshape([ow, b, oh, c]);
    return cols.transpose([1, 2, 0, 3]) as Tensor4D;
  });
}
