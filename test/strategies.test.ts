import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor4D } from '../src/runtime/index.ts';
import { rfft2 } from '../src/engine/strategies/fft.ts';
import { multiScale, pyramid } from '../src/engine/strategies/multi-scale.ts';
import { mimo } from '../src/engine/strategies/mimo.ts';
import { mscnn } from '../src/models/mscnn.ts';
import { mimoUnet } from '../src/models/mimounet.ts';

/** Naive 2-D DFT of one channel, one-sided along the width. */
function naiveRfft2(img: number[][], ): { re: number[][]; im: number[][] } {
  const h = img.length;
  const w = img[0]!.length;
  const wf = Math.floor(w / 2) + 1;
  const re = Array.from({ length: h }, () => new Array(wf).fill(0));
  const im = Array.from({ length: h }, () => new Array(wf).fill(0));
  for (let k = 0; k < h; k++) for (let l = 0; l < wf; l++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const a = -2 * Math.PI * ((k * y) / h + (l * x) / w);
    re[k]![l] += img[y]![x]! * Math.cos(a);
    im[k]![l] += img[y]![x]! * Math.sin(a);
  }
  return { re, im };
}

test('rfft2 matches a direct DFT, channel by channel, with the batch kept first', () => {
  const x = tf.randomUniform([2, 6, 5, 3], 0, 1, 'float32', 5) as Tensor4D;
  const y = rfft2(x);
  assert.deepEqual(y.shape, [2, 3 * 6, 3, 2]);
  const xs = x.arraySync() as number[][][][];
  const ys = y.arraySync() as number[][][][];
  for (let n = 0; n < 2; n++) for (let c = 0; c < 3; c++) {
    const { re, im } = naiveRfft2(xs[n]!.map((row) => row.map((px) => px[c]!)));
    for (let k = 0; k < 6; k++) for (let l = 0; l < 3; l++) {
      assert.ok(Math.abs(ys[n]![c * 6 + k]![l]![0]! - re[k]![l]!) < 1e-4);
      assert.ok(Math.abs(ys[n]![c * 6 + k]![l]![1]! - im[k]![l]!) < 1e-4);
    }
  }
  tf.dispose([x, y]);
});

test('rfft2 is differentiable (finite differences)', () => {
  const x = tf.randomUniform([1, 4, 4, 1], 0, 1, 'float32', 6) as Tensor4D;
  const f = (t: Tensor4D) => tf.sum(tf.square(rfft2(t)));
  const g = tf.grad((t) => f(t as Tensor4D))(x);
  const xv = x.dataSync();
  const gv = g.dataSync();
  for (const i of [0, 5, 11]) {
    const eps = 1e-2;
    const plus = Float32Array.from(xv);
    const minus = Float32Array.from(xv);
    plus[i]! += eps;
    minus[i]! -= eps;
    const fd = (f(tf.tensor4d(plus, [1, 4, 4, 1])).dataSync()[0]! - f(tf.tensor4d(minus, [1, 4, 4, 1])).dataSync()[0]!) / (2 * eps);
    assert.ok(Math.abs(fd - gv[i]!) < 2e-2 * Math.max(1, Math.abs(fd)), `${fd} vs ${gv[i]}`);
  }
});

test('pyramid downsamples by nearest neighbour: [x, x/2, x/4]', () => {
  const x = tf.reshape(tf.range(0, 64, 1, 'float32'), [1, 8, 8, 1]) as Tensor4D;
  const p = pyramid(x, 3);
  assert.deepEqual(p.map((t) => t.shape), [[1, 8, 8, 1], [1, 4, 4, 1], [1, 2, 2, 1]]);
  assert.deepEqual(Array.from(p[2]!.dataSync()), [0, 4, 32, 36]);
  tf.dispose([x, ...p]);
});

test('multiScale pairs every output scale with the matching ground-truth scale', () => {
  const m = mscnn.create({ numFeats: 4, numResblocks: 1 }, 0);
  const x = tf.randomUniform([2, 1, 16, 16, 3]);
  const gt = tf.randomUniform([2, 1, 16, 16, 3]);
  const pairs = tf.tidy(() => multiScale({ numScales: 3 }).forward(m, m.params, x, gt, false).map((p) => [tf.keep(p.out), tf.keep(p.gt)] as const));
  assert.deepEqual(pairs.map(([o, g]) => [o.shape, g.shape]), [[[2, 16, 16, 3], [2, 16, 16, 3]], [[2, 8, 8, 3], [2, 8, 8, 3]], [[2, 4, 4, 3], [2, 4, 4, 3]]]);
  assert.throws(() => multiScale({ numScales: 3 }).forward(m, m.params, tf.zeros([1, 1, 10, 16, 3]), tf.zeros([1, 1, 10, 16, 3]), false), /divisible by 4/);
  tf.dispose([x, gt, ...pairs.flat()]);
  m.dispose();
});

test('mimo compares [full, half, quarter] in space and, weighted, in frequency', () => {
  const m = mimoUnet.create({ numRes: 1 }, 0);
  const x = tf.randomUniform([1, 1, 16, 16, 3]);
  const gt = tf.randomUniform([1, 1, 16, 16, 3]);
  tf.tidy(() => {
    const pairs = mimo({ fftWeight: 0.1 }).forward(m, m.params, x, gt, false);
    assert.equal(pairs.length, 6);
    assert.deepEqual(pairs.slice(0, 3).map((p) => p.out.shape[1]), [16, 8, 4]);
    assert.deepEqual(pairs.slice(3).map((p) => p.weight), [0.1, 0.1, 0.1]);
    assert.equal(mimo({ fftWeight: 0 }).forward(m, m.params, x, gt, false).length, 3);
  });
  tf.dispose([x, gt]);
  m.dispose();
});
