import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { buildIfirnn } from '../src/models/ifirnn.ts';
import { countParams, loadStateDict } from '../src/models/model.ts';
import type { StateDict } from '../src/models/model.ts';
import { toTensor } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff, sgdStep, assertReproducesFixture } from './helpers/fixtures.ts';

const fx = loadFixture('ifirnn');
const kw = fx.meta.kwargs as { in_channels: number; inner_channels: number; dual_cell: boolean; intra_iters: number };
const opts = { inChannels: kw.in_channels, innerChannels: kw.inner_channels, dualCell: kw.dual_cell, intraIters: kw.intra_iters };

test('IFIRNN reproduces the fixture output in eval mode (≤ 1e-4)', () => {
  const m = buildIfirnn(opts, 0);
  try {
    assertReproducesFixture(m, fx);
  } finally {
    m.dispose();
  }
});

test('IFIRNN(3, 16, dual cell, 3 iterations) has 4,106,307 trainable parameters', () => {
  const m = buildIfirnn({ inChannels: 3, innerChannels: 16, dualCell: true, intraIters: 3 }, 1);
  try {
    assert.equal(countParams(m), 4_106_307);
  } finally {
    m.dispose();
  }
});

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
  const a = buildIfirnn({ ...opts, dualCell: false, intraIters: 2 }, 0);
  const b = buildIfirnn({ ...opts, intraIters: 2 }, 0);
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
  const m = buildIfirnn({ ...opts, innerChannels: 2 }, 0);
  try {
    const bad = (shape: number[], re: RegExp): void => {
      const x = tf.zeros(shape);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    };
    bad([1, 2, 8, 8, 1], /1 channels, the model was built for 3/);
    bad([1, 2, 10, 8, 3], /divisible by 4/);
    bad([1, 8, 8, 3], /clip \[B, T, H, W, C\]/);
  } finally {
    m.dispose();
  }
  assert.throws(() => buildIfirnn({ ...opts, intraIters: 0 }, 0), /intraIters must be a positive integer/);
});

test('IFIRNN training steps leak no tensors and lower the loss on a fixed batch', () => {
  const m = buildIfirnn({ inChannels: 3, innerChannels: 2, dualCell: true, intraIters: 2 }, 7);
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
