// Every reference fixture is reproduced by the model its metadata names (original class and
// constructor arguments, mapped by the model definitions), and every zoo model has the original's
// parameter count at full size (counted from shapes, without allocating the weights).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../src/runtime/index.ts';
import { runParity } from '../src/models/parity.ts';
import { paramCount } from '../src/models/define.ts';
import { models } from '../src/index.ts';
import type { ComponentSpec } from '../src/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const local = path.join(repoRoot, 'test', 'fixtures', 'parity');
// The CDVD-TSP and PVDNet weights are large (fixed-width flow networks), so their fixtures are
// read where they are shared, beside the repository, when present.
const shared = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'parity');

const fixtures: Array<{ name: string; dir: string }> = [
  ...fs.readdirSync(local).filter((d) => d !== 'metrics').map((d) => ({ name: d, dir: path.join(local, d) })),
  ...['cdvd_tsp', 'pvdnet'].map((d) => ({ name: d, dir: path.join(shared, d) })),
].sort((a, b) => a.name.localeCompare(b.name));

for (const { name, dir } of fixtures) {
  const present = fs.existsSync(path.join(dir, 'weights.safetensors'));
  test(`${name}: the fixture's output is reproduced in eval mode (≤ 1e-4), parameter counts equal`, { skip: present ? false : `no fixture at ${dir}` }, () => {
    const before = tf.memory().numTensors;
    const r = runParity(dir);
    assert.equal(r.params, r.expectedParams, `${r.model}: ${r.params} trainable parameters, the original has ${r.expectedParams}`);
    assert.ok(r.maxAbsErr <= r.tolerance, `${r.model}: max abs error ${r.maxAbsErr}`);
    assert.ok(r.ok);
    assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  });
}

// Full-size trainable parameter counts of the original implementations.
const fullSize: Array<[string, ComponentSpec, number]> = [
  ['DBN(5, 3, 64)', models.dbn(), 15_305_291],
  ['NAFNet-GoPro (width 64, enc [1,1,1,28], middle 1, dec [1,1,1,1])', models.nafnet.preset('gopro'), 67_888_835],
  ['MSResNet(3, 64, 3, 19, 5, 3)', models.mscnn(), 11_721_321],
  ['SRN(6, 32, 3)', models.srn(), 10_158_563],
  ['SRN(6, 32, 3) without the LSTM', models.srn({ withLstm: false }), 6_881_251],
  ['MIMO-UNet(8)', models.mimoUnet(), 6_807_171],
  ['MIMO-UNet+(20)', models.mimoUnetPlus(), 16_107_651],
  ['Restormer()', models.restormer(), 26_126_644],
  ['DBLRNet(5, 3, 64)', models.dblrnet(), 1_885_411],
  ['STRCNN(5, 3, 32, 4, 4, dtb)', models.strcnn(), 257_284],
  ['IFIRNN(3, 16, dual cell, 3 iterations)', models.ifirnn(), 4_106_307],
  ['ESTRNN(16 features, 15 blocks, 2 past, 2 future, gelu)', models.estrnn(), 2_467_931],
  ['EDVR deblur (64 features, 10 reconstruction blocks, hr_in, pre-deblur, TSA)', models.edvr.preset('deblur'), 4_042_851],
  ['EDVR-L deblur (128 features, 40 reconstruction blocks)', models.edvr.preset('deblur', { numFeat: 128, numReconstructBlock: 40 }), 23_602_019],
  ['CDVD-TSP deblur (3 resblocks, 32 features)', models.cdvdTsp.preset('deblur'), 16_187_045],
  ['STFAN', models.stfan(), 5_372_547],
  ['PVDNet deblur (large, BIMNet frozen)', models.pvdnet.preset('deblur'), 17_979_811],
];

for (const [label, spec, count] of fullSize) {
  test(`${label} has ${count.toLocaleString('en')} trainable parameters`, () => {
    const before = tf.memory().numTensors;
    assert.equal(paramCount(spec), count);
    assert.equal(tf.memory().numTensors, before, 'a shape-only build allocates no tensor');
  });
}
