import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { ifirnn } from '../src/models/ifirnn.ts';
import { buildModel, fromOriginal } from '../src/models/define.ts';
import { loadStateDict } from '../src/models/model.ts';
import type { StateDict } from '../src/models/model.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff, sgdStep } from './helpers/fixtures.ts';

const fx = loadFixture('ifirnn');
// The fixture's model: 8 inner channels, two cells, 3 iterations.
const spec = fromOriginal('IFIRNN', fx.meta.kwargs);

test('IFIRNN with one cell runs that cell 1 + intraIters times per frame', () => {
  // A single-cell model equals a dual-cell one whose two cells share the same weights.
  const cell1: StateDict = {};
  for (const [k, v] of Object.entries(fx.weights)) if (k.startsWith('rnncells.1.')) cell1[k.slice('rnncells.1.'.length)] = v;
  const single: StateDict = {};
  const dual: StateDict = {};
  for (const [k, v] of Object.entries(cell1)) {
    single[`rnncells.0.${k}`] = v;
    dual[`rnncells.1.${k}`] = v;
    if (!k.startsWith('F_L.')) dual[`rnncells.0.${k}`] = v;
  }
  const a = buildModel({ ...spec, dualCell: false, intraIters: 2 }, 0);
  const b = buildModel({ ...spec, intraIters: 2 }, 0);
  try {
    assert.deepEqual(Object.keys(a.params).sort(), Object.keys(single).sort());
    loadStateDict(a, single, { layout: 'pytorch', strict: true });
    loadStateDict(b, dual, { layout: 'pytorch', strict: true });
    const full = toTensor(ioTensor(fx, 'input'));
    const x = full.slice([0, 0, 0, 0, 0], [1, 2, 16, 16, 3]);
    full.dispose();
    const ya = a.apply(a.params, x, { training: false }) as Tensor;
    const yb = b.apply(b.params, x, { training: false }) as Tensor;
    assert.deepEqual(ya.shape, [1, 2, 16, 16, 3]);
    assert.ok(maxAbsDiff(ya.dataSync(), yb.dataSync()) < 1e-6);
    tf.dispose([x, ya, yb]);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('IFIRNN rejects bad clips and options with clear errors', () => {
  const m = buildModel({ ...spec, innerChannels: 2 }, 0);
  try {
    const bad = (shape: number[], re: RegExp): void => {
      const x = tf.zeros(shape);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    };
    bad([1, 2, 8, 8, 1], /1 channels, the model was built for 3/);
    bad([1, 8, 8, 3], /clip \[B, T, H, W, C\]/);
  } finally {
    m.dispose();
  }
  assert.throws(() => ifirnn.create({ intraIters: 0 }, 0), /ifirnn\.intraIters: expected positive integer, got 0/);
});

test('IFIRNN training steps leak no tensors and lower the loss on a fixed batch', () => {
  const m = ifirnn.create({ innerChannels: 2, intraIters: 2 }, 7);
  try {
    const x = tf.randomUniform([2, 2, 8, 8, 3], 0, 1, 'float32', 1);
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
