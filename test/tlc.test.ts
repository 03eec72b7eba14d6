// The test-time local converter: local box statistics against brute-force references, NAFNet and
// Restormer with `tlc` equal to the originals when the window covers the map and different (and
// local) when it does not, and the option's plumbing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor, Tensor4D } from '../src/runtime/index.ts';
import { boxMean, boxSum, localChannelAttention, localTransposedAttention, tlcWindow, type Window } from '../src/models/tlc-ops.ts';
import { TLC_MODELS } from '../src/models/tlc.ts';
import { channelAttention } from '../src/nn/gates.ts';
import { buildModel, fromOriginal } from '../src/models/define.ts';
import { loadStateDict, type Model } from '../src/models/model.ts';
import { nafnet } from '../src/models/nafnet.ts';
import { restormer } from '../src/models/restormer.ts';
import type { ComponentSpec } from '../src/config/registry.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff, sgdStep } from './helpers/fixtures.ts';

/** Where the window around position i starts: the original's valid windows, edge-replicated. */
function windowStart(i: number, n: number, k: number): number {
  const kk = Math.min(k, n);
  // The valid outputs (n - kk + 1 of them) are padded by (n - valid) // 2 before, the rest after.
  const before = Math.floor((n - (n - kk + 1)) / 2);
  return Math.min(Math.max(i - before, 0), n - kk);
}

/** Brute force: avgPool over every valid window, then edge-replicate back to H x W. */
function referenceMean(x: Tensor4D, [kh, kw]: Window): Float32Array {
  const [b, h, w, c] = x.shape;
  const kkh = Math.min(kh, h);
  const kkw = Math.min(kw, w);
  const valid = tf.avgPool(x, [kkh, kkw], 1, 'valid');
  const v = valid.dataSync();
  valid.dispose();
  const vw = w - kkw + 1;
  const vh = h - kkh + 1;
  const out = new Float32Array(b * h * w * c);
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const src = ((n * vh + windowStart(y, h, kh)) * vw + windowStart(xx, w, kw)) * c;
        out.set(v.subarray(src, src + c), ((n * h + y) * w + xx) * c);
      }
    }
  }
  return out;
}

test('boxMean and boxSum equal the brute-force window means and sums (edge windows shifted inside)', () => {
  const x = tf.randomUniform([2, 7, 9, 3], -1, 1, 'float32', 1) as Tensor4D;
  // Odd and even windows, one of a single pixel, one covering one axis, one covering both.
  for (const window of [[3, 4], [2, 2], [1, 1], [7, 2], [5, 9], [4, 20], [30, 30]] as Window[]) {
    const ref = referenceMean(x, window);
    const mean = boxMean(x, window);
    const full = tf.broadcastTo(mean, x.shape);
    assert.ok(maxAbsDiff(full.dataSync(), ref) <= 1e-5, `window ${window}: ${maxAbsDiff(full.dataSync(), ref)}`);
    const area = Math.min(window[0], 7) * Math.min(window[1], 9);
    const sums = tf.broadcastTo(boxSum(x, window), x.shape);
    assert.ok(maxAbsDiff(sums.dataSync(), ref.map((v) => v * area)) <= 1e-5 * area);
    tf.dispose([mean, full, sums]);
  }
  // A window covering the map is the global mean, kept as [B, 1, 1, C].
  const global = boxMean(x, [7, 9]);
  const mean = tf.mean(x, [1, 2], true);
  assert.deepEqual(global.shape, [2, 1, 1, 3]);
  assert.ok(maxAbsDiff(global.dataSync(), mean.dataSync()) <= 1e-6);
  // Large offsets do not cost precision (the map mean is taken out before the cumulative sums).
  const shifted = tf.add(x, 1000);
  const m1 = boxMean(shifted, [3, 4]);
  const back = tf.sub(m1, 1000);
  assert.ok(maxAbsDiff(back.dataSync(), referenceMean(x, [3, 4])) <= 1e-4);
  tf.dispose([x, global, mean, shifted, m1, back]);
});

test('local channel attention is x · conv1x1(local mean); a covering window is the original op', () => {
  const x = tf.randomUniform([2, 6, 8, 4], -1, 1, 'float32', 2) as Tensor4D;
  const weight = tf.randomNormal([1, 1, 4, 4], 0, 1, 'float32', 3);
  const bias = tf.randomNormal([4], 0, 1, 'float32', 4);
  const window: Window = [3, 5];
  const before = tf.memory().numTensors;
  const y = localChannelAttention(x, weight, bias, window);
  assert.equal(tf.memory().numTensors, before + 1);
  const mean = tf.tensor4d(referenceMean(x, window), x.shape);
  const ref = tf.mul(x, tf.add(tf.conv2d(mean, weight as Tensor4D, 1, 'valid'), bias));
  assert.ok(maxAbsDiff(y.dataSync(), ref.dataSync()) <= 1e-5);
  const globalRef = channelAttention(x, weight, bias);
  const global = localChannelAttention(x, weight, bias, [6, 8]);
  assert.ok(maxAbsDiff(global.dataSync(), globalRef.dataSync()) <= 1e-6);
  assert.ok(maxAbsDiff(y.dataSync(), globalRef.dataSync()) > 1e-2, 'a small window changes the output');
  tf.dispose([x, weight, bias, y, mean, ref, globalRef, global]);
});

/** Brute force local MDTA, one pixel and head at a time. q, k, v: [B, H, W, heads·ch]. */
function referenceAttention(q: Float32Array, k: Float32Array, v: Float32Array, temp: Float32Array, [b, h, w, dim]: readonly [number, number, number, number], heads: number, [kh, kw]: Window): Float32Array {
  const ch = dim / heads;
  const at = (n: number, y: number, x: number, head: number, c: number) => ((n * h + y) * w + x) * dim + head * ch + c;
  const out = new Float32Array(b * h * w * dim);
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const y0 = windowStart(y, h, kh);
        const x0 = windowStart(x, w, kw);
        const pixels: Array<[number, number]> = [];
        for (let yy = y0; yy < y0 + Math.min(kh, h); yy++) for (let xx = x0; xx < x0 + Math.min(kw, w); xx++) pixels.push([yy, xx]);
        for (let head = 0; head < heads; head++) {
          const norm = (t: Float32Array, c: number) => Math.max(Math.sqrt(pixels.reduce((s, [yy, xx]) => s + t[at(n, yy, xx, head, c)]! ** 2, 0)), 1e-12);
          for (let c1 = 0; c1 < ch; c1++) {
            const logits = Array.from({ length: ch }, (_, c2) => {
              const dot = pixels.reduce((s, [yy, xx]) => s + q[at(n, yy, xx, head, c1)]! * k[at(n, yy, xx, head, c2)]!, 0);
              return (temp[head]! * dot) / (norm(q, c1) * norm(k, c2));
            });
            const top = Math.max(...logits);
            const e = logits.map((l) => Math.exp(l - top));
            const z = e.reduce((s, a) => s + a, 0);
            out[at(n, y, x, head, c1)] = e.reduce((s, a, c2) => s + (a / z) * v[at(n, y, x, head, c2)]!, 0);
          }
        }
      }
    }
  }
  return out;
}

test('local transposed attention equals a brute-force per-pixel computation, in one group or several', () => {
  const shape = [2, 5, 6, 6] as const;
  const heads = 2;
  const [q, k, v] = [11, 12, 13].map((s) => tf.randomNormal([...shape], 0, 1, 'float32', s));
  const temp = tf.tensor1d([0.7, 1.9]);
  const [qd, kd, vd] = [q, k, v].map((t) => t!.dataSync() as Float32Array);
  for (const window of [[3, 4], [2, 2], [5, 3], [9, 9]] as Window[]) {
    const ref = referenceAttention(qd!, kd!, vd!, temp.dataSync() as Float32Array, shape, heads, window);
    // The default budget (one group of all 3 channels), then groups of 1 and of 2 channels.
    for (const budget of [undefined, 2 * 5 * 6 * 3, 2 * 2 * 5 * 6 * 3]) {
      const before = tf.memory().numTensors;
      const y = localTransposedAttention(q!, k!, v!, temp, heads, window, budget);
      assert.equal(tf.memory().numTensors, before + 1);
      assert.deepEqual(y.shape, [...shape]);
      assert.ok(maxAbsDiff(y.dataSync(), ref) <= 1e-5, `window ${window}, budget ${budget}: ${maxAbsDiff(y.dataSync(), ref)}`);
      y.dispose();
    }
  }
  tf.dispose([q!, k!, v!, temp]);
});

test('TLC windows: 1.5x the training crop at each level, as feature · floor(1.5 · train) // train', () => {
  assert.deepEqual([0, 1, 2, 3, 4].map((l) => tlcWindow({ trainSize: [256, 256] }, 16, l)), [[384, 384], [192, 192], [96, 96], [48, 48], [24, 24]]);
  // A crop the network pads to 256 (multiple 4): 256 · 382 // 255 = 383.
  assert.deepEqual(tlcWindow({ trainSize: [255, 100] }, 4, 0), [383, 150]);
  assert.deepEqual(tlcWindow({ trainSize: [255, 100] }, 4, 2), [95, 37]);
});

test('TLC applies to NAFNet and Restormer; the option is validated and is not an original argument', () => {
  assert.deepEqual([...TLC_MODELS].sort(), ['nafnet', 'restormer']);
  const spec = nafnet({ tlc: { trainSize: [256, 192] } });
  assert.deepEqual((spec as ComponentSpec & { tlc?: unknown }).tlc, { trainSize: [256, 192] });
  assert.throws(() => nafnet({ tlc: { trainSize: [0, 5] } } as never), /tlc\.trainSize\.0/);
  assert.throws(() => restormer({ tlc: { trainSize: [64] } } as never), /tlc\.trainSize/);
  assert.throws(() => restormer({ tlc: { size: [64, 64] } } as never), /tlc\.size/);
  assert.throws(() => fromOriginal('NAFNet', { tlc: { trainSize: [8, 8] } }), /unknown constructor argument "tlc"/);
});

/**
 * The fixture's model with its weights, built with extra options. NAFNet's residual scales
 * (beta, gamma) start at zero, which would make every block an identity: they are drawn instead.
 */
function fixtureModel(name: string, extra: Record<string, unknown>): Model {
  const fx = loadFixture(name);
  const m = buildModel({ ...fromOriginal(fx.meta.model, fx.meta.kwargs), ...extra }, 0);
  loadStateDict(m, fx.weights, { layout: 'pytorch', strict: true });
  Object.entries(m.params).forEach(([k, v], i) => {
    if (/\.(beta|gamma)$/.test(k)) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', i)));
  });
  return m;
}

function compareTlc(name: string, input: Tensor, covering: readonly [number, number], local: readonly [number, number]): void {
  const original = fixtureModel(name, {});
  const cover = fixtureModel(name, { tlc: { trainSize: covering } });
  const small = fixtureModel(name, { tlc: { trainSize: local } });
  try {
    const before = tf.memory().numTensors;
    const [y0, y1, y2] = [original, cover, small].map((m) => m.apply(m.params, input, { training: false }) as Tensor);
    assert.equal(tf.memory().numTensors, before + 3);
    assert.ok(maxAbsDiff(y1!.dataSync(), y0!.dataSync()) <= 1e-5, `${name}: a covering window changed the output by ${maxAbsDiff(y1!.dataSync(), y0!.dataSync())}`);
    assert.ok(maxAbsDiff(y2!.dataSync(), y0!.dataSync()) > 1e-3, `${name}: a small window left the output unchanged`);
    assert.ok(y2!.dataSync().every(Number.isFinite));
    tf.dispose([y0!, y1!, y2!]);
  } finally {
    [original, cover, small].forEach((m) => m.dispose());
  }
}

test('NAFNet with TLC: the original where the window covers every level, different with a small training crop', () => {
  const full = toTensor(ioTensor(loadFixture('nafnet'), 'input'));
  // 29x30 is zero-padded to 32x32 (3 levels of 32, 16, 8): a 22x22 crop (padded to 24) gives
  // windows 36, 18, 9; an 8x8 crop gives 12, 6, 3.
  const x = full.slice([0, 0, 0, 0], [1, 29, 30, 3]);
  compareTlc('nafnet', x, [22, 22], [8, 8]);
  tf.dispose([full, x]);
});

test('Restormer with TLC: the original where the window covers every level, different with a small training crop', () => {
  const x = toTensor(ioTensor(loadFixture('restormer'), 'input'));
  // Maps of 32, 16, 8, 4: a 24x32 crop gives windows (36, 48), (18, 24), ...; a 16x8 crop 24x12, ...
  compareTlc('restormer', x, [24, 32], [16, 8]);
  x.dispose();
});

test('NAFNet with TLC, one level: its output is the block computed with a brute-force local mean', () => {
  // intro → one NAFBlock → ending, plus the input: the block rebuilt here from plain ops.
  const opts = { imgChannels: 3, width: 4, middleBlkNum: 1, encBlkNums: [], decBlkNums: [] };
  const m = nafnet.create({ ...opts, tlc: { trainSize: [6, 4] } }, 5);
  try {
    // Non-zero beta and gamma, so the block is not an identity.
    for (const k of ['middle_blks.0.beta', 'middle_blks.0.gamma']) tf.tidy(() => m.params[k]!.assign(tf.randomNormal(m.params[k]!.shape, 0, 1, 'float32', 9)));
    const x = tf.randomUniform([1, 10, 11, 3], 0, 1, 'float32', 6) as Tensor4D;
    const y = m.apply(m.params, x, { training: false }) as Tensor;
    const ref = tf.tidy(() => {
      const p = (k: string): Tensor => m.params[k] ?? m.buffers[k]!;
      const conv = (t: Tensor, k: string, pad: 'same' | 'valid' = 'valid', groups = 1): Tensor4D => {
        const w = p(`${k}.weight`) as Tensor4D;
        const out = groups === 1 ? tf.conv2d(t as Tensor4D, w, 1, pad) : tf.depthwiseConv2d(t as Tensor4D, w.reshape([3, 3, w.shape[3], 1]) as Tensor4D, 1, pad);
        return tf.add(out, p(`${k}.bias`)) as Tensor4D;
      };
      const ln = (t: Tensor, k: string): Tensor => {
        const { mean, variance } = tf.moments(t, 3, true);
        return tf.add(tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-6))), p(`${k}.weight`)), p(`${k}.bias`));
      };
      const gate = (t: Tensor): Tensor => {
        const [a, b] = tf.split(t, 2, 3);
        return tf.mul(a!, b!);
      };
      const blk = 'middle_blks.0';
      const inp = conv(x, 'intro', 'same');
      let h = gate(conv(conv(ln(inp, `${blk}.norm1`), `${blk}.conv1`), `${blk}.conv2`, 'same', 8));
      // Windows on the 10x11 map: floor(6 · 9 / 6) = 9 rows, floor(4 · 6 / 4) = 6 columns.
      const mean = tf.tensor4d(referenceMean(h as Tensor4D, [9, 6]), h.shape as [number, number, number, number]);
      h = tf.mul(h, conv(mean, `${blk}.sca.1`));
      const yb = tf.add(inp, tf.mul(conv(h, `${blk}.conv3`), p(`${blk}.beta`).reshape([4])));
      const z = conv(gate(conv(ln(yb, `${blk}.norm2`), `${blk}.conv4`)), `${blk}.conv5`);
      return tf.add(conv(tf.add(yb, tf.mul(z, p(`${blk}.gamma`).reshape([4]))), 'ending', 'same'), x);
    });
    assert.ok(maxAbsDiff(y.dataSync(), ref.dataSync()) <= 1e-5, `max diff ${maxAbsDiff(y.dataSync(), ref.dataSync())}`);
    tf.dispose([x, y, ref]);
  } finally {
    m.dispose();
  }
});

test('models with TLC train: a step changes the weights and leaks nothing', () => {
  for (const m of [
    nafnet.create({ width: 4, middleBlkNum: 1, encBlkNums: [1], decBlkNums: [1], tlc: { trainSize: [4, 4] } }, 1),
    restormer.create({ dim: 4, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 1, 2, 2], tlc: { trainSize: [8, 8] } }, 2),
  ]) {
    try {
      const x = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 3);
      const target = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 4);
      sgdStep(m, x, target, 0.01);
      const before = tf.memory().numTensors;
      const w0 = Object.values(m.params).map((v) => v.dataSync().slice());
      const loss = sgdStep(m, x, target, 0.01);
      assert.ok(Number.isFinite(loss));
      assert.equal(tf.memory().numTensors, before, `${m.name}: a training step leaked tensors`);
      assert.ok(Object.values(m.params).some((v, i) => maxAbsDiff(v.dataSync(), w0[i]!) > 0), `${m.name}: no weight changed`);
      tf.dispose([x, target]);
    } finally {
      m.dispose();
    }
  }
});

test('boxMean has the gradient of the brute-force window means', () => {
  const x = tf.randomUniform([1, 6, 7, 2], -1, 1, 'float32', 31) as Tensor4D;
  const r = tf.randomNormal([1, 6, 7, 2], 0, 1, 'float32', 32);
  for (const window of [[3, 4], [2, 7], [6, 1]] as Window[]) {
    const [kh, kw] = [Math.min(window[0], 6), Math.min(window[1], 7)];
    const rows = tf.tensor1d(Array.from({ length: 6 }, (_, i) => windowStart(i, 6, kh)), 'int32');
    const cols = tf.tensor1d(Array.from({ length: 7 }, (_, i) => windowStart(i, 7, kw)), 'int32');
    const reference = (t: Tensor): Tensor => tf.gather(tf.gather(tf.avgPool(t as Tensor4D, [kh, kw], 1, 'valid'), rows, 1), cols, 2);
    const g = tf.grad((t: Tensor) => tf.sum(tf.mul(boxMean(t, window), r)))(x);
    const gRef = tf.grad((t: Tensor) => tf.sum(tf.mul(reference(t), r)))(x);
    assert.ok(maxAbsDiff(g.dataSync(), gRef.dataSync()) <= 1e-5, `window ${window}: ${maxAbsDiff(g.dataSync(), gRef.dataSync())}`);
    tf.dispose([rows, cols, g, gRef]);
  }
  tf.dispose([x, r]);
});
