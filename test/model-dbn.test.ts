import { test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { dbn } from '../src/models/dbn.ts';
import { buildModel, fromOriginal } from '../src/models/define.ts';
import { loadStateDict, stateDict } from '../src/models/model.ts';
import { readSafetensors, toTensor, writeSafetensors } from '../src/io/safetensors.ts';
import { ioTensor, loadFixture, maxAbsDiff, sgdStep } from './helpers/fixtures.ts';

const fx = loadFixture('dbn');
// The fixture's configuration, from the original's constructor arguments.
const spec = fromOriginal(fx.meta.model, fx.meta.kwargs);

test('DBN rejects clips with the wrong frame count, channels or size', () => {
  const m = buildModel(spec, 0);
  try {
    const bad = (shape: number[], re: RegExp): void => {
      const x = tf.zeros(shape);
      assert.throws(() => m.apply(m.params, x, { training: false }), re);
      x.dispose();
    };
    bad([1, 3, 16, 16, 3], /3 frames/);
    bad([1, 5, 16, 16, 1], /1 channels/);
    bad([1, 16, 16, 3], /clip/);
  } finally {
    m.dispose();
  }
});

test('zeroInitResidual: DBN starts as the identity (the centre frame) and still learns; other weights unchanged', () => {
  const o = { numFrames: 3, inChannels: 3, innerChannels: 4 };
  const id = dbn.create({ ...o, zeroInitResidual: true }, 7);
  const plain = dbn.create(o, 7);
  try {
    const x = tf.randomUniform([2, 3, 16, 16, 3], 0, 1, 'float32', 1);
    const centre = x.slice([0, 1, 0, 0, 0], [2, 1, 16, 16, 3]).reshape([2, 16, 16, 3]);
    for (const training of [true, false]) {
      const y = id.apply(id.params, x, { training }) as Tensor;
      const yp = plain.apply(plain.params, x, { training }) as Tensor;
      assert.equal(maxAbsDiff(y.dataSync(), centre.dataSync()), 0, `training=${training}: output must be the centre frame`);
      assert.ok(maxAbsDiff(yp.dataSync(), centre.dataSync()) > 0.1, 'the original initialisation does not start at the identity');
      tf.dispose([y, yp]);
    }
    assert.deepEqual(Array.from(id.params['F6_2.1.weight']!.dataSync()), [0, 0, 0]);
    assert.deepEqual(Array.from(plain.params['F6_2.1.weight']!.dataSync()), [1, 1, 1]);
    for (const k of Object.keys(plain.params)) {
      if (k !== 'F6_2.1.weight') assert.deepEqual(id.params[k]!.dataSync(), plain.params[k]!.dataSync(), k);
    }
    const target = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 2);
    sgdStep(id, x, target, 0.01);
    assert.ok(Array.from(id.params['F6_2.1.weight']!.dataSync()).some((v) => v !== 0), 'the zero scale must receive a gradient');
    tf.dispose([x, centre, target]);
  } finally {
    id.dispose();
    plain.dispose();
  }
});

test('a DBN training step leaks no tensors; BN running stats move in training mode only', () => {
  const m = dbn.create({ numFrames: 3, inChannels: 3, innerChannels: 4 }, 7);
  try {
    const x = tf.randomUniform([2, 3, 16, 16, 3], 0, 1, 'float32', 1);
    const target = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 2);
    const rm = m.buffers['F0.1.running_mean']!;
    const nbt = m.buffers['F0.1.num_batches_tracked']!;
    const rm0 = rm.dataSync().slice();
    const w0 = m.params['F0.0.weight']!.dataSync().slice();

    tf.dispose(m.apply(m.params, x, { training: false }));
    assert.deepEqual(rm.dataSync(), rm0, 'eval mode must not touch running stats');
    assert.equal(nbt.dataSync()[0], 0);

    sgdStep(m, x, target, 0.01); // warm-up: first calls may allocate cached tensors
    const before = tf.memory().numTensors;
    sgdStep(m, x, target, 0.01);
    assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
    assert.notDeepEqual(rm.dataSync(), rm0, 'training mode must update running stats');
    assert.equal(nbt.dataSync()[0], 2);
    assert.notDeepEqual(m.params['F0.0.weight']!.dataSync(), w0, 'SGD step must change weights');
    tf.dispose([x, target]);
  } finally {
    m.dispose();
  }
});

test('loadStateDict: clear errors for missing, unexpected and mis-shaped keys; nothing assigned on error', () => {
  const m = buildModel(spec, 0);
  try {
    const w0 = m.params['F0.0.weight']!.dataSync().slice();
    const { 'D1.0.bias': _dropped, ...missing } = fx.weights;
    assert.throws(() => loadStateDict(m, missing, { layout: 'pytorch', strict: true }), /missing key 'D1\.0\.bias'/);
    assert.deepEqual(m.params['F0.0.weight']!.dataSync(), w0, 'a failed load must not assign anything');
    const extra = { ...fx.weights, 'F9.0.weight': { shape: [1], data: new Float32Array(1) } };
    assert.throws(() => loadStateDict(m, extra, { layout: 'pytorch', strict: true }), /unexpected key 'F9\.0\.weight'/);
    const report = loadStateDict(m, { ...missing, 'F9.0.weight': { shape: [1], data: new Float32Array(1) } }, { layout: 'pytorch', strict: false });
    assert.deepEqual(report, { missing: ['D1.0.bias'], unexpected: ['F9.0.weight'] });
    const bad = { ...fx.weights, 'F0.0.weight': { shape: [8, 14, 5, 5], data: new Float32Array(8 * 14 * 25) } };
    assert.throws(
      () => loadStateDict(m, bad, { layout: 'pytorch', strict: false }),
      /shape mismatch for 'F0\.0\.weight': file has \[8, 14, 5, 5\] \(PyTorch layout; \[5, 5, 14, 8\] in ours\), model has \[5, 5, 15, 8\]/,
    );
  } finally {
    m.dispose();
  }
});

test('stateDict: PyTorch-layout export equals the loaded file and reloads through safetensors', () => {
  const a = buildModel(spec, 0);
  const b = buildModel(spec, 123);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbn-'));
  try {
    loadStateDict(a, fx.weights, { layout: 'pytorch', strict: true });
    const sd = stateDict(a, 'pytorch');
    assert.deepEqual(Object.keys(sd).sort(), Object.keys(fx.weights).sort());
    for (const [k, t] of Object.entries(fx.weights)) {
      assert.deepEqual(Array.from(sd[k]!.data), Array.from(t.data), k);
      if (k.endsWith('num_batches_tracked')) assert.equal(sd[k]!.dtype, 'I64');
      else assert.deepEqual(sd[k]!.shape, t.shape, k);
    }
    const file = path.join(dir, 'weights.safetensors');
    writeSafetensors(file, sd);
    loadStateDict(b, readSafetensors(file).tensors, { layout: 'pytorch', strict: true });
    const ours = stateDict(a, 'ours');
    loadStateDict(b, ours, { layout: 'ours', strict: true });
    const x = toTensor(ioTensor(fx, 'input'));
    const ya = a.apply(a.params, x, { training: false }) as Tensor;
    const yb = b.apply(b.params, x, { training: false }) as Tensor;
    assert.deepEqual(Array.from(ya.dataSync()), Array.from(yb.dataSync()));
    tf.dispose([x, ya, yb]);
  } finally {
    a.dispose();
    b.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
