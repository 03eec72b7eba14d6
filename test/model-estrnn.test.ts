import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { ESTRNN_ACTIVATIONS, estrnn, estrnnActivation } from '../src/models/estrnn.ts';
import { ParamStore } from '../src/nn/params.ts';
import { Rng } from '../src/util/rng.ts';
import { countParams } from '../src/models/model.ts';
import { sgdStep } from './helpers/fixtures.ts';

const tiny = { nFeatures: 2, nBlocks: 1, futureFrames: 1, pastFrames: 1 };

test('ESTRNN activations: every factory name runs; PReLU adds one named parameter per module', () => {
  const x = tf.randomUniform([1, 3, 4, 4, 3], 0, 1, 'float32', 3);
  const base = estrnn.create({ ...tiny, activation: 'relu' }, 0);
  const baseCount = countParams(base);
  base.dispose();
  for (const a of [...ESTRNN_ACTIVATIONS, 'GELU']) {
    const m = estrnn.create({ ...tiny, activation: a }, 0);
    try {
      const y = m.apply(m.params, x, { training: false }) as Tensor;
      assert.deepEqual(y.shape, [1, 1, 4, 4, 3], a);
      assert.ok(Array.from(y.dataSync()).every(Number.isFinite), a);
      y.dispose();
      if (a === 'prelu') {
        // 3 dense layers in each of the 4 RDBs (F_B1, F_B2, one in F_R, F_h) + GSA's F_f.1.
        assert.equal(countParams(m) - baseCount, 13);
        assert.equal(m.params['cell.F_B1.rdb.dense_layers.0.act.weight']!.dataSync()[0], 0.25);
        assert.ok(m.params['fusion.F_f.1.weight'] !== undefined);
      } else {
        assert.equal(countParams(m), baseCount, a);
      }
    } finally {
      m.dispose();
    }
  }
  x.dispose();
  assert.throws(() => estrnn.create({ ...tiny, activation: 'swish' }, 0), /estrnn\.activation: expected one of relu, .*got "swish"/);
});

test('ESTRNN rrelu: slope 0.2 in eval mode, fresh seeded slopes in [0.1, 0.3] when training', () => {
  const store = new ParamStore(0);
  const act = estrnnActivation(store.root().child('act'), 'rrelu', Rng.seeded(5));
  const x = tf.tensor1d([-2, -1, -0.5, 0, 0.5, 3, -4, -1.5]);
  const xs = x.dataSync();
  const run = (training: boolean): Float32Array => {
    const y = act({}, x, training);
    const d = y.dataSync() as Float32Array;
    y.dispose();
    return d;
  };
  const ev = run(false);
  xs.forEach((v, i) => assert.ok(Math.abs(ev[i]! - (v < 0 ? 0.2 * v : v)) < 1e-7, `eval at ${v}`));
  const t1 = run(true);
  const t2 = run(true);
  xs.forEach((v, i) => {
    if (v >= 0) assert.equal(t1[i], v);
    else assert.ok(t1[i]! / v >= 0.1 - 1e-6 && t1[i]! / v <= 0.3 + 1e-6, `training slope at ${v}: ${t1[i]! / v}`);
  });
  assert.notDeepEqual(Array.from(t1), Array.from(t2), 'slopes are redrawn on every call');
  x.dispose();
  const prelu = estrnnActivation(store.root().child('p'), 'prelu', Rng.seeded(5));
  assert.deepEqual(Object.keys(store.params), ['p.weight']);
  const y = tf.tensor1d([-2, 2]);
  const py = prelu(store.params, y, false);
  assert.deepEqual(Array.from(py.dataSync()), [-0.5, 2]);
  tf.dispose([y, py]);
  store.dispose();
});

test('ESTRNN rejects bad clips and options with clear errors', () => {
  const m = estrnn.create(tiny, 0);
  try {
    const bad = (shape: number[], re: RegExp): void => {
      const x = tf.zeros(shape);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    };
    bad([1, 2, 8, 8, 3], /2 frames, needs at least pastFrames \+ 1 \+ futureFrames = 3/);
    bad([1, 3, 8, 8, 1], /1 channels, expected 3/);
    bad([1, 8, 8, 3], /clip \[B, T, H, W, C\]/);
  } finally {
    m.dispose();
  }
  assert.throws(() => estrnn.create({ ...tiny, nBlocks: 0 }, 0), /estrnn\.nBlocks: expected positive integer, got 0/);
  assert.throws(() => estrnn.create({ ...tiny, pastFrames: -1 }, 0), /estrnn\.pastFrames: expected non-negative integer, got -1/);
});

test('ESTRNN training steps leak no tensors and lower the loss on a fixed batch', () => {
  const m = estrnn.create(tiny, 7);
  try {
    const x = tf.randomUniform([2, 4, 8, 8, 3], 0, 1, 'float32', 1);
    const target = tf.randomUniform([2, 2, 8, 8, 3], 0, 1, 'float32', 2);
    const l0 = sgdStep(m, x, target, 0.02);
    const before = tf.memory().numTensors;
    sgdStep(m, x, target, 0.02);
    assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
    const l2 = sgdStep(m, x, target, 0.02);
    assert.ok(l2 < l0, `loss did not decrease: ${l0} -> ${l2}`);
    tf.dispose([x, target]);
  } finally {
    m.dispose();
  }
});
