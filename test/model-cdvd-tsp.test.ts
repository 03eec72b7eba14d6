import { test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { cdvdTsp, CDVD_FLOW_PREFIX, sharpnessPrior } from '../src/models/cdvd-tsp.ts';
import type { CdvdTspOptions } from '../src/models/cdvd-tsp.ts';
import { estimateFlow } from '../src/models/pwcnet.ts';
import { flowNetStateDict as pwcStateDict, setFlowWeightsWarningSink } from '../src/models/flow-weights.ts';
import { paramCount, paramShapes } from '../src/models/define.ts';
import { loadStateDict } from '../src/models/model.ts';
import type { Model } from '../src/models/model.ts';
import { loadFixture, sgdStep, withoutFlowWarning } from './helpers/fixtures.ts';

// The weights are ~40 MB (PWC-Net has fixed widths), so the fixture is read where it is shared,
// beside the repository, rather than copied into it.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'parity', 'cdvd_tsp');
const haveFixture = fs.existsSync(path.join(FIXTURE, 'weights.safetensors'));
const skip = haveFixture ? false : `CDVD-TSP fixture not found at ${FIXTURE}`;

const SMALL: Partial<CdvdTspOptions> = { nResblock: 1, nFeat: 8, isMaskFilter: true };
const create = (options: Partial<CdvdTspOptions>, seed: number): Model => withoutFlowWarning(() => cdvdTsp.create(options, seed));

test('a PWC-Net state dict in either naming loads under the flow network prefix', { skip }, () => {
  const fx = loadFixture(FIXTURE);
  const flow = Object.fromEntries(Object.entries(fx.weights).filter(([k]) => k.startsWith(CDVD_FLOW_PREFIX)));
  const bare = Object.fromEntries(Object.entries(flow).map(([k, v]) => [k.slice(CDVD_FLOW_PREFIX.length), v]));
  assert.equal(Object.keys(bare).length, 126);
  // The later pytorch-pwc naming: netExtractor.netOne.0.weight, netRefiner.netMain.0.bias, ...
  const renamed = Object.fromEntries(Object.entries(bare).map(([k, v]) => [k.replace(/module([A-Z])/g, 'net$1'), v]));
  assert.ok('netExtractor.netOne.0.weight' in renamed);
  for (const sd of [bare, renamed]) {
    const mapped = pwcStateDict(sd, CDVD_FLOW_PREFIX);
    assert.deepEqual(Object.keys(mapped).sort(), Object.keys(flow).sort());
    const m = create({ ...SMALL, nFeat: 2 }, 0);
    try {
      const report = loadStateDict(m, mapped, { layout: 'pytorch', strict: false });
      assert.deepEqual(report.unexpected, []);
      assert.ok(report.missing.every((k) => k.startsWith('recons_net.')));
    } finally {
      m.dispose();
    }
  }
});

test('CDVD-TSP at full size: PWC-Net is 9,374,274 of the parameters, under the original names', () => {
  const { params } = paramShapes(cdvdTsp.preset('deblur'));
  const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
  const flow = Object.entries(params).filter(([k]) => k.startsWith(CDVD_FLOW_PREFIX));
  assert.equal(flow.reduce((n, [, s]) => n + size(s), 0), 9_374_274);
  assert.ok(params['flow_net.moduleNetwork.moduleExtractor.moduleOne.0.weight'] !== undefined);
  assert.ok(params['flow_net.moduleNetwork.moduleRefiner.moduleMain.12.bias'] !== undefined);
  assert.ok(params['recons_net.decoder_second.3.0.weight'] !== undefined);
});

test('a shape-only CDVD-TSP build reads no flowWeights file and prints no warning', () => {
  const warnings: string[] = [];
  const previous = setFlowWeightsWarningSink((m) => warnings.push(m));
  try {
    assert.equal(paramCount(cdvdTsp.preset('deblur', { flowWeights: '/no/such/pwc.safetensors' })), 16_187_045);
    assert.equal(paramCount(cdvdTsp.preset('deblur')), 16_187_045);
  } finally {
    setFlowWeightsWarningSink(previous);
  }
  assert.deepEqual(warnings, []);
});

test('CDVD-TSP rejects unsupported options and inputs with clear errors', () => {
  assert.throws(() => create({ ...SMALL, nSequence: 3 }, 0), /cdvdTsp\.nSequence: expected 5 .*got 3/);
  assert.throws(() => create({ ...SMALL, inChannels: 1, outChannels: 1 }, 0), /cdvdTsp\.inChannels: expected 3 .*got 1/);
  assert.throws(() => create({ ...SMALL, outChannels: 1 }, 0), /cdvdTsp\.outChannels: expected 3 like inChannels .*got 1/);
  const m = create({ ...SMALL, nFeat: 2 }, 0);
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

test('estimateFlow resizes to multiples of 64 and rescales x and y by their own ratios', () => {
  const seen: number[][] = [];
  // A stand-in network: flow (1, 2) in 1/20 px everywhere, at a quarter of its input size.
  const net = (_p: unknown, a: Tensor): ReturnType<Parameters<typeof estimateFlow>[0]> => {
    seen.push([...a.shape]);
    const [b, h, w] = a.shape as [number, number, number, number];
    return tf.tensor1d([1, 2]).reshape([1, 1, 1, 2]).tile([b, h / 4, w / 4, 1]) as ReturnType<Parameters<typeof estimateFlow>[0]>;
  };
  const a = tf.zeros([2, 40, 72, 3]);
  const f = estimateFlow(net, {}, a, a);
  assert.deepEqual(seen, [[2, 64, 128, 3]]);
  assert.deepEqual(f.shape, [2, 40, 72, 2]);
  const d = f.dataSync();
  for (let i = 0; i < d.length; i += 2) {
    assert.ok(Math.abs(d[i]! - (20 * 72) / 128) < 1e-5 && Math.abs(d[i + 1]! - (2 * 20 * 40) / 64) < 1e-5, `flow at ${i / 2}: ${d[i]}, ${d[i + 1]}`);
  }
  tf.dispose([a, f]);
});

test('sharpness prior: exp(−sqrt(Σ_c Σ (img − mid)² / 2)), masked, optionally mean-filtered, no gradient', () => {
  const mid = tf.fill([1, 6, 6, 3], 0.5);
  const prev = tf.fill([1, 6, 6, 3], 0.5).add(tf.tensor1d([0.3, 0, 0]));
  const next = tf.fill([1, 6, 6, 3], 0.1);
  const mp = tf.ones([1, 6, 6, 1]);
  const mn = tf.ones([1, 6, 6, 1]).mul(tf.tensor([1, 1, 1, 1, 1, 0], [1, 1, 6, 1]));
  const plain = sharpnessPrior(prev, mid, next, mp, mn, false);
  // Σ_c: 0.09 + 3·0.16 = 0.57 → exp(−sqrt(0.285)).
  const want = Math.exp(-Math.sqrt(0.57 / 2));
  const d = plain.dataSync();
  for (let i = 0; i < 36; i++) assert.ok(Math.abs(d[i]! - (i % 6 === 5 ? 0 : want)) < 1e-6, `prior[${i}] = ${d[i]}`);
  // Mean filter with zero padding: identical constant images stay equal in the interior, and the
  // corner (9 of 25 taps inside) scales every difference by 9/25.
  const filtered = sharpnessPrior(prev, mid, next, mp, mp, true).dataSync();
  assert.ok(Math.abs(filtered[14]! - want) < 1e-6);
  assert.ok(Math.abs(filtered[0]! - Math.exp(-(9 / 25) * Math.sqrt(0.57 / 2))) < 1e-6);
  const g = tf.grad((t: Tensor) => sharpnessPrior(t, mid, next, mp, mn, true).sum())(prev);
  assert.equal(tf.abs(g).max().dataSync()[0], 0);
  tf.dispose([mid, prev, next, mp, mn, plain, g]);
});

test('a CDVD-TSP training step leaks no tensors, trains the flow network, and SGD lowers the loss', () => {
  const m = create({ ...SMALL, nFeat: 4 }, 3);
  try {
    const clean = tf.randomUniform([1, 1, 32, 32, 3], 0, 1, 'float32', 5);
    // Five noisy copies of one frame; the target is the clean frame.
    const x = tf.tidy(() => clean.tile([1, 5, 1, 1, 1]).add(tf.randomNormal([1, 5, 32, 32, 3], 0, 0.1, 'float32', 6)));
    const target = clean.reshape([1, 32, 32, 3]);
    const pwc = m.params['flow_net.moduleNetwork.moduleTwo.moduleOne.0.weight']!;
    const w0 = pwc.dataSync().slice();
    const lr = 0.05;
    const l0 = sgdStep(m, x, target, lr); // also warms up any cached tensors
    const before = tf.memory().numTensors;
    const l1 = sgdStep(m, x, target, lr);
    assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
    const l2 = sgdStep(m, x, target, lr);
    assert.ok(l1 < l0 && l2 < l1, `loss should fall: ${l0} → ${l1} → ${l2}`);
    assert.notDeepEqual(pwc.dataSync(), w0, 'the flow network is trained with the rest, as in the original');
    tf.dispose([clean, x, target]);
  } finally {
    m.dispose();
  }
});
