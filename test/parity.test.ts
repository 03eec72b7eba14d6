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
];

for (const [label, spec, count] of fullSize) {
  test(`${label} has ${count.toLocaleString('en')} trainable parameters`, () => {
    const before = tf.memory().numTensors;
    assert.equal(paramCount(spec), count);
    assert.equal(tf.memory().numTensors, before, 'a shape-only build allocates no tensor');
  });
}
