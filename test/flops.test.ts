// MAC counting from the operations actually run, checked against counts worked out by hand:
// a model of three convolution layers (plain, strided, transposed), and NAFNet's default
// configuration; the per-op formulas; the `flops` command; and the cost measurement leaving
// no tensor behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../src/runtime/index.ts';
import { strict, PositiveInt } from '../src/config/codecs.ts';
import { buildModel, defineModel } from '../src/models/define.ts';
import { makeModel, type Model } from '../src/models/model.ts';
import { conv2dLayer, convTranspose2dLayer } from '../src/nn/layers.ts';
import { modelFlops } from '../src/leaderboard/flops.ts';
import { countMacs, tensorflowOpMacs, tfjsKernelMacs } from '../src/leaderboard/macs.ts';
import { measureCost } from '../src/leaderboard/cost.ts';
import { singleScale } from '../src/engine/strategy.ts';
import type { ParamStore } from '../src/nn/params.ts';

// conv 3x3 3→c, conv 3x3 stride 2 c→2c, transposed conv 4x4 stride 2 2c→3.
function buildThreeConvs(o: { channels: number }, store: ParamStore): Model {
  const c = o.channels;
  const root = store.root();
  const a = conv2dLayer(root.child('a'), { inChannels: 3, outChannels: c, kernelSize: 3, padding: 1 });
  const b = conv2dLayer(root.child('b'), { inChannels: c, outChannels: 2 * c, kernelSize: 3, stride: 2, padding: 1 });
  const u = convTranspose2dLayer(root.child('u'), { inChannels: 2 * c, outChannels: 3, kernelSize: 4, stride: 2, padding: 1 });
  return makeModel('ThreeConvs', store, (p, x) => {
    const img = (x as Tensor).rank === 5 ? (x as Tensor).squeeze([1]) : (x as Tensor);
    return u(p, b(p, a(p, img)));
  });
}
defineModel({ type: 'flopsTestThreeConvs', codec: strict({ channels: PositiveInt }), defaults: { channels: 8 }, build: buildThreeConvs });

test('the MACs of a three-layer network are those worked out by hand', async () => {
  const r = await modelFlops({ type: 'flopsTestThreeConvs' }, [32, 32]);
  const conv = 32 * 32 * 8 * (3 * 3 * 3); // every output: 3x3 window over 3 channels
  const strided = 16 * 16 * 16 * (3 * 3 * 8); // 16x16x16 outputs, 3x3 over 8 channels
  const transposed = 16 * 16 * 16 * (4 * 4 * 3); // each input element spreads over 4x4x3 outputs
  assert.equal(r.macsPerFrame, conv + strided + transposed);
  assert.equal(r.params, 3 * 3 * 3 * 8 + 8 + 3 * 3 * 8 * 16 + 16 + 4 * 4 * 16 * 3 + 3);
  assert.equal(r.outputFrames, 1);
  assert.equal(r.flopsPerFrame, 2 * r.macsPerFrame);
});

test("NAFNet's default configuration: 2688 MACs per pixel plus its channel attention's 16x16", async () => {
  // intro 3x3 3→16 (432), conv1 1x1 16→32 (512), depthwise 3x3 on 32 (288), conv3 16→16 (256),
  // conv4 16→32 (512), conv5 16→16 (256), ending 3x3 16→3 (432); the attention's 1x1 conv acts
  // on the pooled 1x1 map (256 once).
  const r = await modelFlops({ type: 'nafnet' }, [32, 48]);
  assert.equal(r.macsPerFrame, 2688 * 32 * 48 + 256);
});

test('per-op formulas: transposes, batches, grouped and depthwise filters', () => {
  assert.equal(tensorflowOpMacs('MatMul', [[4, 6], [6, 5]], [4, 5]), 4 * 5 * 6);
  assert.equal(tensorflowOpMacs('MatMul', [[6, 4], [6, 5]], [4, 5], [{ name: 'transpose_a', value: true }]), 4 * 5 * 6);
  assert.equal(tensorflowOpMacs('BatchMatMulV2', [[2, 3, 4, 7], [2, 3, 7, 5]], [2, 3, 4, 5]), 2 * 3 * 4 * 5 * 7);
  assert.equal(tensorflowOpMacs('BatchMatMulV2', [[2, 7, 4], [2, 7, 5]], [2, 4, 5], [{ name: 'adj_x', value: true }]), 2 * 4 * 5 * 7);
  // Grouped: a filter [3, 3, in/groups, out].
  assert.equal(tensorflowOpMacs('Conv2D', [[1, 8, 8, 16], [3, 3, 4, 32]], [1, 8, 8, 32]), 8 * 8 * 32 * 3 * 3 * 4);
  assert.equal(tensorflowOpMacs('DepthwiseConv2dNative', [[1, 8, 8, 16], [5, 5, 16, 1]], [1, 8, 8, 16]), 8 * 8 * 16 * 25);
  assert.equal(tensorflowOpMacs('Conv3D', [[1, 3, 8, 8, 4], [3, 3, 3, 4, 6]], [1, 3, 8, 8, 6]), 3 * 8 * 8 * 6 * 27 * 4);
  assert.equal(tensorflowOpMacs('Relu', [[1, 8, 8, 4]], [1, 8, 8, 4]), 0);
  // tfjs's kernels (other backends): inputs in tfjs's order.
  assert.equal(tfjsKernelMacs('Conv2DBackpropInput', [[1, 4, 4, 16], [4, 4, 8, 16]], [[1, 8, 8, 8]]), 4 * 4 * 16 * (4 * 4 * 8));
  assert.equal(tfjsKernelMacs('BatchMatMul', [[2, 4, 7], [2, 7, 5]], [[2, 4, 5]]), 2 * 4 * 5 * 7);
});

test('countMacs sees plain tfjs ops too, and leaves no tensor behind', async () => {
  const x = tf.ones([2, 3, 4]);
  const w = tf.ones([4, 5]);
  const before = tf.memory().numTensors;
  const r = await countMacs(() => tf.tidy(() => tf.relu(tf.matMul(x.reshape([6, 4]), w))));
  assert.equal(r.macs, 6 * 5 * 4);
  assert.ok(r.ops >= 2);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, w]);
});

test('measureCost leaves the tensor count unchanged', async () => {
  const m = buildModel({ type: 'flopsTestThreeConvs' }, 1);
  const before = tf.memory().numTensors;
  const c = await measureCost(m, m.params, singleScale, { size: [16, 16], runs: 1, sampling: { sampling: 'n_c', numFrames: 1, interval: 1, overlapping: true } });
  assert.equal(tf.memory().numTensors, before);
  assert.ok(c.inferenceMsPerFrame > 0 && c.macsPerFrame === 16 * 16 * 8 * 27 + 8 * 8 * 16 * 72 + 8 * 8 * 16 * 48);
  m.dispose();
});

test('simdeblur flops prints the count as JSON, and rejects bad sizes and models', () => {
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'flops', ...args], { encoding: 'utf8' });
  const ok = run(['--model', 'nafnet', '--set', 'model.width=8', '--size', '32x16', '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  const r = JSON.parse(ok.stdout) as { macsPerFrame: number; spec: { width: number } };
  assert.equal(r.spec.width, 8);
  // Width 8: 216 + 128 + 144 + 64 + 128 + 64 + 216 = 960 per pixel, plus the attention's 8x8.
  assert.equal(r.macsPerFrame, 960 * 32 * 16 + 64);
  const table = run(['--model', 'dbn', '--set', 'innerChannels=8', '--size', '64x64']);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /MACs\/frame/);
  assert.match(table.stdout, /5 input frames -> 1 output frame/);
  const size = run(['--model', 'dbn', '--size', '64by64']);
  assert.equal(size.status, 2);
  assert.match(size.stderr, /--size: expected WxH/);
  const model = run(['--model', 'dbm', '--size', '64x64']);
  assert.equal(model.status, 2);
  assert.match(model.stderr, /dbm/);
});
