import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { GRAY_WEIGHTS, grayscale, pixelVolume } from '../src/nn/ops/pixel-volume.ts';
import { Rng } from '../src/util/rng.ts';

/**
 * The original's procedure, written as loops: for each (i, j) compute the channel at every
 * pixel from that pixel's own displaced position, then shift the channel by (j, i) with zero fill.
 */
function naivePixelVolume(prev: Float32Array, flow: Float32Array, fill: Float32Array, b: number, h: number, w: number, k: number): Float64Array {
  const r = (k - 1) / 2;
  const gray = (img: Float32Array, n: number, y: number, x: number): number => {
    const o = ((n * h + y) * w + x) * 3;
    return GRAY_WEIGHTS[0] * img[o]! + GRAY_WEIGHTS[1] * img[o + 1]! + GRAY_WEIGHTS[2] * img[o + 2]!;
  };
  const out = new Float64Array(b * h * w * k * k);
  for (let n = 0; n < b; n++) {
    for (let i = -r; i <= r; i++) {
      for (let j = -r; j <= r; j++) {
        const v = new Float64Array(h * w);
        const m = new Float64Array(h * w);
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const f = ((n * h + y) * w + x) * 2;
            const tx = Math.trunc(Math.fround(x + flow[f]!)) + i;
            const ty = Math.trunc(Math.fround(y + flow[f + 1]!)) + j;
            v[y * w + x] = gray(prev, n, Math.min(Math.max(ty, 0), h - 1), Math.min(Math.max(tx, 0), w - 1));
            m[y * w + x] = tx < 1 || tx > w - 2 || ty < 1 || ty > h - 2 ? 1 : 0;
          }
        }
        const ch = (i + r) * k + (j + r);
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const ys = y - j;
            const xs = x - i;
            const inside = ys >= 0 && ys < h && xs >= 0 && xs < w;
            const vs = inside ? v[ys * w + xs]! : 0;
            const ms = inside ? m[ys * w + xs]! : 0;
            out[((n * h + y) * w + x) * k * k + ch] = vs * (1 - ms) + gray(fill, n, y, x) * ms;
          }
        }
      }
    }
  }
  return out;
}

function inputs(seed: number, b: number, h: number, w: number, maxFlow: number): { prev: Float32Array; flow: Float32Array; fill: Float32Array } {
  const rng = Rng.seeded(seed);
  return {
    prev: rng.uniformArray(b * h * w * 3, -1, 1),
    flow: rng.uniformArray(b * h * w * 2, -maxFlow, maxFlow),
    fill: rng.uniformArray(b * h * w * 3, -1, 1),
  };
}

test('pixelVolume matches the original procedure written as loops (k = 5 and 3, negative flows, borders)', () => {
  for (const [b, h, w, k, maxFlow] of [
    [2, 9, 11, 5, 4.5],
    [1, 7, 6, 3, 2.2],
    [1, 6, 8, 1, 1.5],
  ] as const) {
    const d = inputs(b * 100 + k, b, h, w, maxFlow);
    const before = tf.memory().numTensors;
    const [prev, flow, fill] = [tf.tensor(d.prev, [b, h, w, 3]), tf.tensor(d.flow, [b, h, w, 2]), tf.tensor(d.fill, [b, h, w, 3])];
    const pv = pixelVolume(prev, flow, fill, k);
    assert.deepEqual(pv.shape, [b, h, w, k * k]);
    const got = pv.dataSync();
    const want = naivePixelVolume(d.prev, d.flow, d.fill, b, h, w, k);
    for (let q = 0; q < want.length; q++) assert.ok(Math.abs(got[q]! - want[q]!) <= 1e-6, `k=${k} element ${q}: ${got[q]} vs ${want[q]}`);
    tf.dispose([prev, flow, fill, pv]);
    assert.equal(tf.memory().numTensors, before);
  }
});

test('pixelVolume with zero flow reads the previous frame around each pixel, the current one at the border', () => {
  const [h, w] = [6, 7];
  const d = inputs(3, 1, h, w, 0);
  const pv = tf.tidy(() => pixelVolume(tf.tensor(d.prev, [1, h, w, 3]), tf.zeros([1, h, w, 2]), tf.tensor(d.fill, [1, h, w, 3]), 3));
  const g = tf.tidy(() => grayscale(tf.tensor(d.prev, [1, h, w, 3])));
  const gf = tf.tidy(() => grayscale(tf.tensor(d.fill, [1, h, w, 3])));
  const [v, gp, gc] = [pv.dataSync(), g.dataSync(), gf.dataSync()];
  // Channel 4 is (i, j) = (0, 0): the pixel itself inside, the fill on the one-pixel border.
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const onBorder = x < 1 || x > w - 2 || y < 1 || y > h - 2;
      const want = onBorder ? gc[y * w + x]! : gp[y * w + x]!;
      assert.ok(Math.abs(v[(y * w + x) * 9 + 4]! - want) < 1e-6, `(${y}, ${x})`);
    }
  }
  // An interior pixel's channel (i, j) reads the previous frame at (y, x) itself: the shift undoes the offset.
  for (let c = 0; c < 9; c++) assert.ok(Math.abs(v[(3 * w + 3) * 9 + c]! - gp[3 * w + 3]!) < 1e-6, `channel ${c}`);
  tf.dispose([pv, g, gf]);
});

test('pixelVolume gradients: finite differences for prev and fill, zero for the flow', () => {
  const [b, h, w, k] = [1, 6, 7, 3];
  const d = inputs(11, b, h, w, 2.7);
  const rng = Rng.seeded(12);
  const weights = tf.tensor(rng.uniformArray(b * h * w * k * k, -1, 1), [b, h, w, k * k]);
  const flow = tf.tensor(d.flow, [b, h, w, 2]);
  const loss = (p: Tensor, f: Tensor, fl: Tensor): Tensor => tf.sum(pixelVolume(p, fl, f, k).mul(weights));
  const prev = tf.tensor(d.prev, [b, h, w, 3]);
  const fill = tf.tensor(d.fill, [b, h, w, 3]);
  const before = tf.memory().numTensors;
  const [gPrev, gFill, gFlow] = tf.grads(loss)([prev, fill, flow]) as [Tensor, Tensor, Tensor];
  // The output is linear in prev and fill for a fixed flow, so central differences are exact
  // up to rounding; check every element.
  const eps = 0.05;
  for (const [which, base, grad] of [
    ['prev', d.prev, gPrev],
    ['fill', d.fill, gFill],
  ] as const) {
    const g = grad.dataSync();
    for (let q = 0; q < base.length; q++) {
      const at = (delta: number): number =>
        tf.tidy(() => {
          const v = Float32Array.from(base);
          v[q] = v[q]! + delta;
          const t = tf.tensor(v, [b, h, w, 3]);
          return (which === 'prev' ? loss(t, fill, flow) : loss(prev, t, flow)).dataSync()[0]!;
        });
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      assert.ok(Math.abs(fd - g[q]!) < 2e-3, `${which}[${q}]: analytic ${g[q]} vs finite difference ${fd}`);
    }
  }
  const flowGradMax = tf.tidy(() => tf.max(tf.abs(gFlow)));
  assert.equal(flowGradMax.dataSync()[0], 0);
  tf.dispose([gPrev, gFill, gFlow, flowGradMax]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([weights, flow, prev, fill]);
});

test('pixelVolume rejects bad sizes', () => {
  const x = tf.zeros([1, 4, 4, 3]);
  const f = tf.zeros([1, 4, 4, 2]);
  assert.throws(() => pixelVolume(x, f, x, 4), /odd positive/);
  assert.throws(() => pixelVolume(x, tf.zeros([1, 4, 5, 2]), x, 3), /flow must be/);
  assert.throws(() => pixelVolume(tf.zeros([1, 4, 4, 1]), f, x, 3), /prev must be/);
  tf.dispose([x, f]);
});
