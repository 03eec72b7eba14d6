import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './helpers/engine.ts';

const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8' });
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!);

test('examples/custom-model.ts: a model defined in one file trains from a recipe and through the CLI', () => {
  const direct = run(['examples/custom-model.ts', '--work-dir', tempDir(), '--quiet', '--set', 'run.iterations=4', '--set', 'model.features=8']);
  assert.equal(direct.status, 0, direct.stderr);
  assert.equal(lastJson(direct.stdout).iteration, 4);
  const viaCli = run(['src/cli/main.ts', 'train', 'examples/custom-model.ts', '--work-dir', tempDir(), '--quiet', '--set', 'run.iterations=2']);
  assert.equal(viaCli.status, 0, viaCli.stderr);
  const bad = run(['src/cli/main.ts', 'train', 'examples/custom-model.ts', '--set', 'model.layers=1']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /model\.layers: expected at least 2, got 1/);
});

test('examples/custom-loop.ts: hooks composed by hand', () => {
  const r = run(['examples/custom-loop.ts', '--iterations', '8', '--work-dir', tempDir()]);
  assert.equal(r.status, 0, r.stderr);
  const out = lastJson(r.stdout);
  assert.equal(out.iteration, 8);
  assert.ok(Number.isFinite(out.bestPsnr));
});

test('recipes/quickstart.ts synthesises its data, trains, evaluates and ends with a JSON summary', () => {
  const wd = tempDir();
  // The cosine schedule's length follows run.iterations.
  const r = run(['recipes/quickstart.ts', '--work-dir', wd, '--set', 'run.iterations=2']);
  assert.equal(r.status, 0, r.stderr);
  const summary = lastJson(r.stdout);
  for (const k of ['inputPsnr', 'outputPsnr', 'seconds']) assert.ok(Number.isFinite(summary[k]), k);
  assert.match(summary.image, /side-by-side\.png$/);
  // It writes what every run writes.
  assert.equal(JSON.parse(fs.readFileSync(path.join(wd, 'experiment.json'), 'utf8')).run.iterations, 2);
  assert.deepEqual(fs.readdirSync(path.join(wd, 'checkpoints')).sort(), ['best', 'iter_00000002']);
  assert.ok(fs.existsSync(path.join(wd, 'log.jsonl')) && fs.existsSync(path.join(wd, 'tensorboard')));
});
