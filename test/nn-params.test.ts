// The parameter builder: PyTorch names and kinds, PyTorch default initialisation, seeding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import { ParamStore, getParam } from '../src/nn/params.ts';
import { batchNormLayer, conv2dLayer, convTranspose2dLayer, layerNorm2dLayer, linearLayer } from '../src/nn/layers.ts';
import { torchFanIn } from '../src/nn/init.ts';

function build(seed: number) {
  const store = new ParamStore(seed);
  const s = store.root();
  const conv = conv2dLayer(s.child('body').child(0), { inChannels: 6, outChannels: 8, kernelSize: 3, padding: 1, groups: 2 });
  const up = convTranspose2dLayer(s.child('up'), { inChannels: 8, outChannels: 4, kernelSize: 4, stride: 2, padding: 1 });
  const bn = batchNormLayer(s.child('body').child(1), { channels: 8, eps: 1e-3 });
  const fc = linearLayer(s.child('fc'), { inFeatures: 4, outFeatures: 5, bias: false });
  const ln = layerNorm2dLayer(s.child('norm'), { channels: 4 });
  return { store, conv, up, bn, fc, ln };
}

const bound = (data: ArrayLike<number>): number => Math.max(...Array.from(data, Math.abs));

test('layers register PyTorch state_dict names, our shapes and layout kinds', () => {
  const { store } = build(0);
  try {
    const shapes = Object.fromEntries(Object.entries(store.params).map(([k, v]) => [k, v.shape]));
    assert.deepEqual(shapes, {
      'body.0.weight': [3, 3, 3, 8],
      'body.0.bias': [8],
      'up.weight': [4, 4, 4, 8],
      'up.bias': [4],
      'body.1.weight': [8],
      'body.1.bias': [8],
      'fc.weight': [4, 5],
      'norm.weight': [4],
      'norm.bias': [4],
    });
    assert.deepEqual(Object.keys(store.buffers).sort(), ['body.1.num_batches_tracked', 'body.1.running_mean', 'body.1.running_var']);
    assert.equal(store.buffers['body.1.num_batches_tracked']!.dtype, 'int32');
    assert.equal(store.kinds['body.0.weight'], 'conv');
    assert.equal(store.kinds['up.weight'], 'convT');
    assert.equal(store.kinds['fc.weight'], 'linear');
    assert.equal(store.kinds['body.0.bias'], 'plain');
    assert.equal(store.kinds['body.1.running_var'], 'plain');
    assert.ok(Object.values(store.params).every((v) => v.trainable));
    assert.ok(Object.values(store.buffers).every((v) => !v.trainable));
  } finally {
    store.dispose();
  }
});

test('PyTorch default init: U(±1/sqrt(fan_in)); convT fan_in from weight dim 1; BN and LN constants', () => {
  const { store } = build(0);
  try {
    const p = store.params;
    // Conv2d(6, 8, 3, groups 2): fan_in = 3·3·3 = 27.
    const convBound = 1 / Math.sqrt(27);
    assert.ok(bound(p['body.0.weight']!.dataSync()) <= convBound);
    assert.ok(bound(p['body.0.weight']!.dataSync()) > 0.8 * convBound, 'weights should fill the range');
    assert.ok(bound(p['body.0.bias']!.dataSync()) <= convBound);
    // ConvTranspose2d(8, 4, 4): PyTorch weight [8, 4, 4, 4], fan_in = 4·4·4 = 64.
    assert.equal(torchFanIn([8, 4, 4, 4]), 64);
    const upBound = 1 / 8;
    assert.ok(bound(p['up.weight']!.dataSync()) <= upBound);
    assert.ok(bound(p['up.weight']!.dataSync()) > 0.8 * upBound);
    assert.ok(bound(p['fc.weight']!.dataSync()) <= 0.5);
    assert.deepEqual(Array.from(p['body.1.weight']!.dataSync()), new Array(8).fill(1));
    assert.deepEqual(Array.from(p['body.1.bias']!.dataSync()), new Array(8).fill(0));
    assert.deepEqual(Array.from(store.buffers['body.1.running_mean']!.dataSync()), new Array(8).fill(0));
    assert.deepEqual(Array.from(store.buffers['body.1.running_var']!.dataSync()), new Array(8).fill(1));
    assert.deepEqual(Array.from(p['norm.weight']!.dataSync()), [1, 1, 1, 1]);
  } finally {
    store.dispose();
  }
});

test('initialisation is deterministic per seed and differs across seeds and names', () => {
  const a = build(5);
  const b = build(5);
  const c = build(6);
  try {
    const w = (s: ParamStore, k: string) => Array.from(s.params[k]!.dataSync());
    assert.deepEqual(w(a.store, 'body.0.weight'), w(b.store, 'body.0.weight'));
    assert.notDeepEqual(w(a.store, 'body.0.weight'), w(c.store, 'body.0.weight'));
    assert.notDeepEqual(w(a.store, 'body.0.bias'), w(a.store, 'body.0.weight').slice(0, 8));
  } finally {
    a.store.dispose();
    b.store.dispose();
    c.store.dispose();
  }
});

test('duplicate names and missing params give clear errors; dispose frees variables', () => {
  const before = tf.memory().numTensors;
  const { store, conv, fc } = build(0);
  assert.throws(() => conv2dLayer(store.root().child('body').child(0), { inChannels: 1, outChannels: 1, kernelSize: 1 }), /duplicate parameter name 'body.0.weight'/);
  const x = tf.zeros([1, 4, 4, 6]);
  assert.throws(() => conv({}, x), /missing parameter 'body.0.weight'/);
  const x3 = tf.zeros([2, 3]);
  assert.throws(() => fc(store.params, x3), /3 features, expected 4/);
  x3.dispose();
  assert.throws(() => getParam({}, 'a.b'), /missing parameter 'a.b'/);
  x.dispose();
  store.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('layers compute with their own parameters (linear, conv transpose shapes)', () => {
  const { store, up, fc, bn } = build(1);
  try {
    tf.tidy(() => {
      const y = fc(store.params, tf.ones([2, 3, 4]));
      const w = store.params['fc.weight']!.arraySync() as number[][];
      const colSums = [0, 1, 2, 3, 4].map((o) => w.reduce((s, row) => s + row[o]!, 0));
      assert.deepEqual(y.shape, [2, 3, 5]);
      const got = (y.arraySync() as number[][][])[1]![2]!;
      got.forEach((v, i) => assert.ok(Math.abs(v - colSums[i]!) < 1e-5));
      const z = up(store.params, tf.zeros([1, 3, 5, 8]));
      assert.deepEqual(z.shape, [1, 6, 10, 4]);
      const before = Array.from(store.buffers['body.1.running_mean']!.dataSync());
      tf.dispose(bn(store.params, tf.randomNormal([2, 3, 3, 8]), false));
      assert.deepEqual(Array.from(store.buffers['body.1.running_mean']!.dataSync()), before);
      tf.dispose(bn(store.params, tf.randomNormal([2, 3, 3, 8], 1), true));
      assert.notDeepEqual(Array.from(store.buffers['body.1.running_mean']!.dataSync()), before);
    });
  } finally {
    store.dispose();
  }
});
