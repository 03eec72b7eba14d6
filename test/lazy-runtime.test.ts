import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Everything here runs in child processes: this process must not have loaded TensorFlow either
// way for the checks to mean anything, and the runtime loads once per process.
const RECIPE = 'test/fixtures/recipes/tiny-dbn.ts';
const MARKER = /SIMDEBLUR_FAIL_IF_RUNTIME_LOADS=1: the TensorFlow runtime was about to load/;
// In the child, the first use of `tf` throws instead of loading the runtime.
const FAIL_IF_LOADS = { SIMDEBLUR_FAIL_IF_RUNTIME_LOADS: '1' };
const node = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env } });
const cli = (args: string[], env: Record<string, string> = {}) => node(['bin/simdeblur.mjs', ...args], env);

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'simdeblur-lazy-'));
  dirs.push(d);
  return d;
};

// Imports every public entry point, builds and decodes an experiment, and prints whether the
// runtime loaded; then uses `tf` (through a reference taken before loading, too).
const IMPORT_AND_DECODE = `
import { createRequire } from 'node:module';
import { types } from 'node:util';
import * as simdeblur from './src/index.ts';
import './src/nn/index.ts';
import './src/io/index.ts';
import './src/data/index.ts';
import './src/optim/index.ts';
import './src/losses/index.ts';
import './src/synth/index.ts';
import { runtimeLoaded } from './src/runtime/index.ts';
const { experiment, models, losses, optim, schedules, datasets, augment, overrideExperiment, tf } = simdeblur;
const tfjsLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => /@tensorflow[\\\\/]tfjs/.test(k));
const exp = experiment({
  name: 'lazy',
  data: { train: datasets.synthetic({ videos: 2, height: 32, width: 32 }), batchSize: 2, augment: augment.original() },
  model: models.nafnet({ width: 8 }),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 1e-3 }),
  schedule: schedules.multiStep({ milestones: [3] }),
  run: { iterations: 2 },
  validation: { every: 1 },
  checkpoint: { every: 1 },
});
const decoded = overrideExperiment(exp, ['model.width=16']);
const early = tf;
// Awaiting it probes 'then', printing it probes symbols: neither may load the runtime.
await Promise.resolve(early);
const tag = Object.prototype.toString.call(early);
const before = { runtimeLoaded: runtimeLoaded(), tfjsLoaded: tfjsLoaded(), decoded: decoded._tag, typeofTf: typeof tf, tag };
const t = tf.zeros([2, 3]);
const total = early.sum(t);
const after = {
  runtimeLoaded: runtimeLoaded(),
  tfjsLoaded: tfjsLoaded(),
  sum: total.arraySync(),
  isTensor: t instanceof early.Tensor && t instanceof tf.Tensor,
  // Once loaded, the binding every module imported is the namespace itself.
  liveIsProxy: types.isProxy(simdeblur.tf),
  earlyIsProxy: types.isProxy(early),
  sameKeys: Object.keys(early).join() === Object.keys(simdeblur.tf).join() && Object.keys(early).length > 100,
  spread: typeof ({ ...early }).conv2d,
  has: 'conv2d' in early,
};
tf.dispose([t, total]);
console.log(JSON.stringify({ before, after, tensors: tf.memory().numTensors }));
`;

test('importing simdeblur, building and decoding an experiment do not load TensorFlow; first use of tf does', () => {
  const r = node(['--import', 'tsx', '--input-type=module', '-e', IMPORT_AND_DECODE]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.deepEqual(out.before, { runtimeLoaded: false, tfjsLoaded: false, decoded: 'Right', typeofTf: 'object', tag: '[object Object]' });
  assert.deepEqual(out.after, {
    runtimeLoaded: true,
    tfjsLoaded: true,
    sum: 0,
    isTensor: true,
    liveIsProxy: false,
    earlyIsProxy: true,
    sameKeys: true,
    spread: 'function',
    has: true,
  });
  assert.equal(out.tensors, 0);
});

test('a bad --set override is reported (exit 2) without loading TensorFlow', () => {
  const train = cli(['train', RECIPE, '--set', 'model.bogus=1'], FAIL_IF_LOADS);
  assert.equal(train.status, 2, train.stderr);
  assert.match(train.stderr, /invalid experiment in test\/fixtures\/recipes\/tiny-dbn\.ts:\n\s+model\.bogus: unknown key/);
  assert.doesNotMatch(train.stderr, MARKER);

  const t = cli(['test', RECIPE, '--checkpoint', tempDir(), '--set', 'model.innerChanels=3'], FAIL_IF_LOADS);
  assert.equal(t.status, 2, t.stderr);
  assert.match(t.stderr, /model\.innerChanels: unknown key \(did you mean innerChannels\?\)/);
  assert.doesNotMatch(t.stderr, MARKER);

  // Running the recipe file directly goes the same way.
  const direct = node(['--import', 'tsx', RECIPE, '--set', 'model.bogus=1'], FAIL_IF_LOADS);
  assert.equal(direct.status, 2, direct.stderr);
  assert.match(direct.stderr, /model\.bogus: unknown key/);
  assert.doesNotMatch(direct.stderr, MARKER);
});

test('a misspelt key in the recipe file is reported (exit 2) without loading TensorFlow', () => {
  const dir = tempDir();
  const file = path.join(dir, 'typo.ts');
  const src = fs.readFileSync(RECIPE, 'utf8').replace(/'\.\.\/\.\.\/\.\.\/src\//g, `'${path.resolve('src')}/`).replace('seed: 3,', 'sed: 3,');
  fs.writeFileSync(file, src);
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  const r = cli(['train', file], FAIL_IF_LOADS);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /cannot load recipe .*typo\.ts: .*\n\s+sed: unknown key \(did you mean seed\?\)/);
  assert.doesNotMatch(r.stderr, MARKER);
});

test('a valid recipe does reach the runtime (the check above is not vacuous)', () => {
  const r = cli(['train', RECIPE, '--work-dir', tempDir(), '--quiet', '--set', 'run.epochs=1'], FAIL_IF_LOADS);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, MARKER);
});
