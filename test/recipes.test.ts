// Every recipe decodes, and runs two iterations (with validation and a checkpoint) on a tiny
// synthesised dataset in its benchmark's layout.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { synthesize } from '../src/synth/index.ts';
import { loadRecipe } from '../src/cli/recipe.ts';
import { decodeExperiment } from '../src/spec/index.ts';
import { isRight } from 'fp-ts/lib/Either.js';
import { tempDir } from './helpers/engine.ts';

const root = tempDir('simdeblur-recipes-');
const data = { gopro: path.join(root, 'gopro'), dvd: path.join(root, 'dvd'), reds: path.join(root, 'reds') };

before(async () => {
  for (const layout of ['gopro', 'dvd', 'reds'] as const) {
    await synthesize({ layout, out: data[layout], videos: 2, frames: 13, width: 64, height: 48, seed: 5, split: 'both' });
  }
});

const recipes = fs.readdirSync('recipes').filter((f) => f.endsWith('.ts') && f !== 'quickstart.ts').sort();

test('every recipe decodes to a complete experiment', async () => {
  for (const f of recipes) {
    const value = await loadRecipe(path.join('recipes', f));
    assert.ok(isRight(decodeExperiment(JSON.parse(JSON.stringify(value)))), f);
  }
});

/** `--set` overrides pointing a recipe's datasets at the synthesised data, for a 2-iteration run. */
function smokeSets(layout: string, valSampling: unknown): string[] {
  const sets = ['run={"iterations":2}', 'data.batchSize=1', 'data.workers=0', 'data.augment.0.size=[32,32]'];
  if (layout === 'reds') {
    sets.push(`data.train.rootGt=${data.reds}/train/train_sharp`, `data.train.rootInput=${data.reds}/train/train_blur`);
    sets.push(`data.val.rootGt=${data.reds}/val/val_sharp`, `data.val.rootInput=${data.reds}/val/val_blur`);
  } else if (layout === 'dvd') {
    sets.push(`data.train.root=${data.dvd}/quantitative_datasets`, `data.val.root=${data.dvd}/test`);
    // dvd_test needs videos of 98 frames or more; the synthesised ones are short.
    if (valSampling === 'dvd_test') sets.push('data.val.sampling="n_c"');
  } else {
    sets.push(`data.train.root=${data.gopro}/train`, `data.val.root=${data.gopro}/test`);
  }
  return sets.flatMap((s) => ['--set', s]);
}

for (const f of recipes) {
  test(`recipes/${f} runs 2 iterations on synthesised data`, async () => {
    const wd = tempDir();
    const value = (await loadRecipe(path.join('recipes', f))) as { data: { train: { type: string }; val?: { sampling?: unknown } } };
    const sets = smokeSets(value.data.train.type, value.data.val?.sampling);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', path.join('recipes', f), '--work-dir', wd, '--quiet', '--no-tensorboard', ...sets], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(summary.iteration, 2);
    assert.ok(Number.isFinite(summary.loss) && Number.isFinite(summary.psnr), JSON.stringify(summary));
    assert.ok(fs.existsSync(path.join(wd, 'checkpoints', 'iter_00000002', 'weights.safetensors')));
  });
}
