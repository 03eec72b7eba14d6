import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Scalar, Tensor } from '../src/runtime/index.ts';
import { Rng } from '../src/util/rng.ts';
import { mse, l1, charbonnier, hem, randomPixelMask, weightedSum, single } from '../src/losses/index.ts';

const close = (a: number, b: number, tol = 1e-5): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
const value = (s: Scalar): number => {
  const v = s.dataSync()[0]!;
  s.dispose();
  return v;
};

// B=2, H=2, W=3, C=2
const shape: [number, number, number, number] = [2, 2, 3, 2];
const gtArr = Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.3) * 0.5 + 0.5);
const predArr = Array.from({ length: 24 }, (_, i) => Math.cos(i * 0.7) * 0.5 + 0.5);

test('mse, l1 and charbonnier match plain-JS definitions', () => {
  const gt = tf.tensor4d(gtArr, shape);
  const pred = tf.tensor4d(predArr, shape);
  const d = gtArr.map((g, i) => g - predArr[i]!);
  const before = tf.memory().numTensors;
  close(value(mse()(gt, pred)), d.reduce((a, x) => a + x * x, 0) / 24);
  close(value(l1()(gt, pred)), d.reduce((a, x) => a + Math.abs(x), 0) / 24);
  const pen = d.map((x) => Math.sqrt(x * x + 1e-6));
  const sum = pen.reduce((a, x) => a + x, 0);
  close(value(charbonnier()(gt, pred)), sum / 2); // default: sum over elements / batch size
  close(value(charbonnier({ reduction: 'sumOverBatch' })(gt, pred)), sum / 2);
  close(value(charbonnier({ reduction: 'mean' })(gt, pred)), sum / 24);
  const pen2 = d.map((x) => Math.sqrt(x * x + 1e-2));
  close(value(charbonnier({ eps: 1e-2, reduction: 'mean' })(gt, pred)), pen2.reduce((a, x) => a + x, 0) / 24);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([gt, pred]);
});

test('losses reject mismatched shapes and bad options', () => {
  const a = tf.zeros([1, 4, 4, 3]);
  const b = tf.zeros([1, 4, 4, 1]);
  assert.throws(() => mse()(a, b), /mse: ground truth has shape \[1,4,4,3\] but prediction has shape \[1,4,4,1\]/);
  assert.throws(() => l1()(a, b), /l1/);
  assert.throws(() => charbonnier()(a, b), /charbonnier/);
  assert.throws(() => charbonnier({ eps: -1 }), /eps/);
  assert.throws(() => charbonnier({ reduction: 'sum' as never }), /reduction/);
  assert.throws(() => hem({ hardThreP: 1 }), /hardThreP/);
  assert.throws(() => hem({ randomThreP: 1.5 }), /randomThreP/);
  const flat = tf.zeros([4, 3]);
  assert.throws(() => hem({})(flat, flat, Rng.seeded(0)), /NHWC/);
  assert.throws(() => hem({})(a, a), /hem: needs a random stream/);
  tf.dispose([a, b, flat]);
});

test('randomPixelMask: exactly the requested count per image, seeded, varies between images', () => {
  const m = randomPixelMask(Rng.seeded(5), 3, 50, 7);
  for (let b = 0; b < 3; b++) assert.equal(m.subarray(b * 50, (b + 1) * 50).reduce((a, x) => a + x, 0), 7);
  assert.deepEqual(m, randomPixelMask(Rng.seeded(5), 3, 50, 7));
  assert.notDeepEqual(m.subarray(0, 50), m.subarray(50, 100));
  // Every pixel gets chosen sometimes (uniform placement, not a fixed prefix).
  const counts = new Float32Array(50);
  const rng = Rng.seeded(9);
  for (let k = 0; k < 200; k++) randomPixelMask(rng, 1, 50, 5).forEach((v, i) => (counts[i] = counts[i]! + v));
  assert.ok(counts.every((c) => c > 0));
});

/** Plain-JS HEM on NHWC arrays with a given random mask [B, H*W]. */
function hemRef(gt: number[], pred: number[], [b, h, w, c]: number[], hardP: number, rand: Float32Array): number {
  const hw = h! * w!;
  let total = 0;
  for (let n = 0; n < b!; n++) {
    const r = Array.from({ length: hw }, (_, p) => {
      let s = 0;
      for (let k = 0; k < c!; k++) s += Math.abs(gt[(n * hw + p) * c! + k]! - pred[(n * hw + p) * c! + k]!);
      return s;
    });
    const thr = [...r].sort((x, y) => y - x)[Math.floor(hardP * w! * h!)]!;
    for (let p = 0; p < hw; p++) {
      const m = r[p]! > thr || rand[n * hw + p] === 1 ? 1 : 0;
      for (let k = 0; k < c!; k++) total += Math.abs(gt[(n * hw + p) * c! + k]! * m - pred[(n * hw + p) * c! + k]! * m);
    }
  }
  return total / gtArr.length;
}

test('hem matches a sort-based reference (hard mask only, then with the random mask)', () => {
  const gt = tf.tensor4d(gtArr, shape);
  const pred = tf.tensor4d(predArr, shape);
  const noRandom = new Float32Array(12);
  close(value(hem({ hardThreP: 0.5, randomThreP: 0 })(gt, pred, Rng.seeded(1))), hemRef(gtArr, predArr, shape, 0.5, noRandom));
  close(value(hem({ hardThreP: 0, randomThreP: 0 })(gt, pred, Rng.seeded(1))), 0);
  // hardThreP 0.3 → index floor(0.3·6)=1: only the largest residual is strictly above it.
  close(value(hem({ hardThreP: 0.3, randomThreP: 0 })(gt, pred, Rng.seeded(1))), hemRef(gtArr, predArr, shape, 0.3, noRandom));
  const rand = randomPixelMask(Rng.seeded(3), 2, 6, Math.floor(0.4 * 3 * 2));
  // The seed is chosen so that the random pixels add to the hard ones.
  assert.ok(hemRef(gtArr, predArr, shape, 0.5, rand) > hemRef(gtArr, predArr, shape, 0.5, noRandom) + 1e-3);
  const before = tf.memory().numTensors;
  const loss = hem({ hardThreP: 0.5, randomThreP: 0.4 });
  close(value(loss(gt, pred, Rng.seeded(3))), hemRef(gtArr, predArr, shape, 0.5, rand));
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([gt, pred]);
});

test('hem: the mask is constant for differentiation', () => {
  const gt = tf.tensor4d(gtArr, shape);
  const pred = tf.tensor4d(predArr, shape);
  const g = tf.grad((p: Tensor) => hem({ hardThreP: 0.5, randomThreP: 0 })(gt, p, Rng.seeded(1)))(pred);
  const hw = 6;
  const expected: number[] = [];
  for (let n = 0; n < 2; n++) {
    const r = Array.from({ length: hw }, (_, p) => Math.abs(gtArr[(n * hw + p) * 2]! - predArr[(n * hw + p) * 2]!) + Math.abs(gtArr[(n * hw + p) * 2 + 1]! - predArr[(n * hw + p) * 2 + 1]!));
    const thr = [...r].sort((x, y) => y - x)[3]!;
    for (let p = 0; p < hw; p++) {
      for (let k = 0; k < 2; k++) {
        const i = (n * hw + p) * 2 + k;
        expected.push(r[p]! > thr ? Math.sign(predArr[i]! - gtArr[i]!) / 24 : 0);
      }
    }
  }
  Array.from(g.dataSync()).forEach((v, i) => close(v, expected[i]!, 1e-6));
  tf.dispose([gt, pred, g]);
});

test('weightedSum: total is the weighted sum, terms are unweighted, names unique', () => {
  const gt = tf.tensor4d(gtArr, shape);
  const pred = tf.tensor4d(predArr, shape);
  const loss = weightedSum([
    { name: 'CharbonnierLoss', weight: 1, fn: charbonnier() },
    { name: 'MSELoss', weight: 0.25, fn: mse() },
  ]);
  assert.deepEqual(loss.names, ['CharbonnierLoss', 'MSELoss']);
  const before = tf.memory().numTensors;
  const r = loss(gt, pred);
  assert.equal(tf.memory().numTensors, before + 3);
  const c = r.terms.CharbonnierLoss!.dataSync()[0]!;
  const m = r.terms.MSELoss!.dataSync()[0]!;
  close(c, value(charbonnier()(gt, pred)));
  close(m, value(mse()(gt, pred)));
  close(r.total.dataSync()[0]!, c + 0.25 * m);
  tf.dispose([r.total, ...Object.values(r.terms)]);
  assert.equal(tf.memory().numTensors, before);
  const one = single('L1Loss', l1())(gt, pred);
  close(one.total.dataSync()[0]!, one.terms.L1Loss!.dataSync()[0]!);
  assert.notEqual(one.total, one.terms.L1Loss);
  tf.dispose([one.total, one.terms.L1Loss!]);
  assert.throws(() => weightedSum([]), /at least one/);
  assert.throws(() => weightedSum([{ name: 'a', weight: 1, fn: l1() }, { name: 'a', weight: 2, fn: mse() }]), /duplicate loss term name 'a'/);
  assert.throws(() => weightedSum([{ name: 'a', weight: NaN, fn: l1() }]), /weight/);
  tf.dispose([gt, pred]);
});

test('weightedSum under variableGrads: gradients of the total, terms kept for logging', () => {
  const gt = tf.tensor4d(gtArr, shape);
  const w = tf.variable(tf.tensor4d(predArr, shape), true);
  const loss = weightedSum([
    { name: 'l1', weight: 2, fn: l1() },
    { name: 'mse', weight: 0.5, fn: mse() },
  ]);
  const before = tf.memory().numTensors;
  let terms: Record<string, Scalar> = {};
  const { value: total, grads } = tf.variableGrads(() => {
    const r = loss(gt, w);
    terms = Object.fromEntries(Object.entries(r.terms).map(([k, v]) => [k, tf.keep(v)]));
    return r.total;
  }, [w]);
  const expected = predArr.map((p, i) => (2 * Math.sign(p - gtArr[i]!)) / 24 + (0.5 * 2 * (p - gtArr[i]!)) / 24);
  Array.from(grads[w.name]!.dataSync()).forEach((v, i) => close(v, expected[i]!, 1e-6));
  close(total.dataSync()[0]!, 2 * terms.l1!.dataSync()[0]! + 0.5 * terms.mse!.dataSync()[0]!);
  tf.dispose([total, ...Object.values(grads), ...Object.values(terms)]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([gt, w]);
});
