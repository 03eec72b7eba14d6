// The test-time local converter (TLC; Chu et al., "Improving Image Restoration by Revisiting
// Global Information Aggregation", ECCV 2022). A network trained on crops and run on a full
// frame pools its global statistics over far more pixels than it ever saw; TLC replaces each
// global aggregation by the same aggregation over a local window around every pixel, the window
// 1.5x the size the feature map had on a training crop. Where the window covers the whole feature
// map, the result is the original global operation.
//
// Window sums are computed from cumulative sums along H, then along W (a separable integral
// image), so their cost does not grow with the window. A window near the border is shifted
// inside the map rather than cut, as the original's replicate padding of the valid outputs does.
import type * as t from 'io-ts';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { pairOf, PositiveInt, strict } from '../config/codecs.ts';
import { conv2d } from '../nn/conv.ts';
import { channelAttention } from '../nn/gates.ts';

/**
 * The `tlc` model option: `trainSize` is the [H, W] of the crops the model was trained on. Absent,
 * the model keeps its global operations.
 */
export const tlcOption = strict({ trainSize: pairOf(PositiveInt, 'pair of positive integers [H, W]') }, {}, 'TLC options');
/** Decoded `tlc` option: the training crop size [H, W]. */
export type TlcOptions = t.TypeOf<typeof tlcOption>;

/** A local window [height, width] in feature-map pixels. */
export type Window = readonly [number, number];

/**
 * The local window of an aggregation site `level` stride-2 levels down a network that pads its
 * input to a multiple of `multiple`: 1.5x the site's feature size on a training crop, as
 * `feature · floor(1.5 · train) // train` (the reference implementation's formula; it is
 * floor(1.5 · feature) whenever the training size is even).
 */
export function tlcWindow(tlc: TlcOptions, multiple: number, level: number): [number, number] {
  const [h, w] = tlc.trainSize.map((size) => {
    const feature = (Math.ceil(size / multiple) * multiple) / 2 ** level;
    return Math.floor((feature * Math.floor(1.5 * size)) / size);
  }) as [number, number];
  return [h, w];
}

/**
 * Sums along `axis` over a window of `k`: position i gets the entries from
 * j = clamp(i - floor((k - 1) / 2), 0, n - k) to j + k - 1. A window of the whole axis or more
 * gives the total, kept as a size-1 axis (it broadcasts).
 */
function windowSums(x: Tensor, axis: number, k: number): Tensor {
  const n = x.shape[axis]!;
  if (k >= n) return tf.sum(x, axis, true);
  const zeroFirst = x.shape.map((_, a): [number, number] => (a === axis ? [1, 0] : [0, 0]));
  const c = tf.pad(cumsum(x, axis), zeroFirst);
  const before = Math.floor((k - 1) / 2);
  const lo = Int32Array.from({ length: n }, (_, i) => Math.min(Math.max(i - before, 0), n - k));
  const hi = lo.map((j) => j + k);
  return tf.sub(tf.gather(c, tf.tensor1d(hi, 'int32'), axis), tf.gather(c, tf.tensor1d(lo, 'int32'), axis));
}

/**
 * Inclusive cumulative sum along `axis`, with its own gradient (the reverse cumulative sum):
 * tfjs's gradient of cumsum along any axis but the last has the wrong shape.
 */
function cumsum(x: Tensor, axis: number): Tensor {
  const op = tf.customGrad((...args) => {
    const [input] = args as [Tensor];
    return { value: tf.cumsum(input, axis), gradFunc: (dy: Tensor) => tf.cumsum(dy, axis, false, true) };
  });
  return op(x);
}

/** The window clamped to the map: rows and columns it actually spans. */
function span(x: Tensor, window: Window): [number, number] {
  return [Math.min(window[0], x.shape[1]!), Math.min(window[1], x.shape[2]!)];
}

/**
 * Sums of `x` (`[B, H, W, ...]`) over the `window` around each pixel of axes 1 and 2 (a window
 * shifted inside the map near its border; one reaching past the map on an axis sums that whole
 * axis, and that axis of the result has size 1). The map mean is taken out before the cumulative
 * sums and added back, so their float32 rounding error scales with the values' spread, not their
 * size.
 */
export function boxSum(x: Tensor, window: Window): Tensor {
  if (x.rank < 3) throw new Error(`boxSum: input must be [B, H, W, ...], got shape ${JSON.stringify(x.shape)}`);
  return tf.tidy(() => {
    const [kh, kw] = span(x, window);
    if (kh === x.shape[1] && kw === x.shape[2]) return tf.sum(x, [1, 2], true);
    const mean = tf.mean(x, [1, 2], true);
    // Each step in its own scope, so that no more than a few map-sized tensors live at once.
    const rows = tf.tidy(() => windowSums(tf.sub(x, mean), 1, kh));
    const both = tf.tidy(() => windowSums(rows, 2, kw));
    rows.dispose();
    return tf.add(both, tf.mul(mean, kh * kw));
  });
}

/** Means of `x` (`[B, H, W, ...]`) over the `window` around each pixel, as {@link boxSum}. */
export function boxMean(x: Tensor, window: Window): Tensor {
  const [kh, kw] = span(x, window);
  return tf.tidy(() => tf.div(boxSum(x, window), kh * kw));
}

/** Whether `window` covers the whole H x W of `x` (the local operation is then the global one). */
export function coversMap(x: Tensor, window: Window): boolean {
  return window[0] >= x.shape[1]! && window[1] >= x.shape[2]!;
}

/**
 * NAFNet's simplified channel attention with TLC: x · conv1x1(local mean of x), the mean over
 * `window` around each pixel; `weight` HWIO `[1, 1, C, C]`, optional `bias` `[C]`. A window
 * covering the map is the original (global mean) op.
 */
export function localChannelAttention(x: Tensor, weight: Tensor, bias: Tensor | null, window: Window): Tensor {
  if (coversMap(x, window)) return channelAttention(x, weight, bias);
  const c = x.shape[3]!;
  return tf.tidy(() => tf.mul(x, conv2d(boxMean(x, window), tf.reshape(weight, [1, 1, c, c]), bias)));
}

/**
 * Default size of the largest intermediates of one step of {@link localTransposedAttention} (the
 * per-pixel products of a group of query channels with every key channel), in elements: 16 MiB of
 * float32.
 */
export const ATTENTION_GROUP_ELEMENTS = 1 << 22;

/**
 * Restormer's transposed attention (MDTA) with TLC. The original, per head, L2-normalises each
 * channel of q and k over all pixels and takes softmax(temperature · q̂ᵀk̂), a C×C map applied to v
 * at every pixel. Here every pixel has its own map, computed over the `window` around it:
 * attn_p[c1, c2] = softmax_c2(temperature · Σ_w q[c1] k[c2] / (‖q[c1]‖_w ‖k[c2]‖_w)), with the
 * sums and norms over the window (box sums of the products), and out_p = attn_p · v_p.
 * `q`, `k`, `v` are `[B, H, W, heads·ch]` (channels ordered (head, c)), `temperature` holds one
 * value per head; returns `[B, H, W, heads·ch]`. The products of query channels with all key
 * channels are formed a group of query channels at a time, sized so that the largest
 * intermediate holds at most `groupElements` elements (but at least one channel:
 * B·heads·H·W·ch elements); in inference about five such tensors are alive at once, whatever the
 * frame size (a gradient tape keeps every group's for the backward pass). The work is
 * O(B·H·W·heads·ch²), like the original's, but in elementwise passes rather than one matrix
 * product, so it runs many times slower. A window covering the map gives the original's values
 * (the model then runs the original).
 */
export function localTransposedAttention(q: Tensor, k: Tensor, v: Tensor, temperature: Tensor, heads: number, window: Window, groupElements = ATTENTION_GROUP_ELEMENTS): Tensor {
  const [b, h, w, dim] = q.shape as [number, number, number, number];
  if (q.rank !== 4 || dim % heads !== 0) throw new Error(`localTransposedAttention: q must be [B, H, W, heads·ch] with ${heads} heads, got shape ${JSON.stringify(q.shape)}`);
  const ch = dim / heads;
  return tf.tidy(() => {
    // Heads become batch entries: [B·heads, H, W, ch].
    const perHead = (x: Tensor): Tensor => x.reshape([b, h, w, heads, ch]).transpose([0, 3, 1, 2, 4]).reshape([b * heads, h, w, ch]);
    const [qh, kh, vh] = [q, k, v].map(perHead) as [Tensor, Tensor, Tensor];
    const temp = tf.tile(tf.reshape(temperature, [1, heads]), [b, 1]).reshape([b * heads, 1, 1, 1, 1]);
    // ‖·‖_w clamped below at 1e-12 as F.normalize does (√max(s, 1e-24) = max(√s, 1e-12); the
    // clamp also keeps rounding below zero out of the square root).
    const norm = (x: Tensor): Tensor => tf.sqrt(tf.maximum(boxSum(tf.square(x), window), 1e-24));
    const nq = norm(qh);
    const nk = norm(kh).expandDims(3);
    const kk = kh.expandDims(3);
    const vv = vh.expandDims(3);
    const group = Math.max(1, Math.min(ch, Math.floor(groupElements / (b * heads * h * w * ch))));
    const parts: Tensor[] = [];
    for (let c0 = 0; c0 < ch; c0 += group) {
      const g = Math.min(group, ch - c0);
      parts.push(
        tf.tidy(() => {
          // [B·heads, H, W, g, ch]: query channels c0..c0+g against every key channel.
          const logits = tf.tidy(() => {
            const sums = tf.tidy(() => boxSum(tf.mul(qh.slice([0, 0, 0, c0], [b * heads, h, w, g]).expandDims(4), kk), window));
            const nqg = nq.slice([0, 0, 0, c0], [b * heads, nq.shape[1]!, nq.shape[2]!, g]).expandDims(4);
            return tf.mul(tf.div(sums, tf.mul(nqg, nk)), temp);
          });
          const attn = tf.softmax(logits);
          logits.dispose();
          return tf.sum(tf.mul(attn, vv), 4);
        }),
      );
    }
    const out = (parts.length === 1 ? parts[0]! : tf.concat(parts, 3)).reshape([b, heads, h, w, ch]);
    return out.transpose([0, 2, 3, 1, 4]).reshape([b, h, w, dim]);
  });
}
