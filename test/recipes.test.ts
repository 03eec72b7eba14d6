// Every recipe decodes, and runs two iterations (with validation and a checkpoint) on a tiny
// synthesised dataset in its benchmark's layout.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { synthesize } from '../src/synth/index.ts';
import { loadRecipe } from '../src/cli/recipe.ts';
import { decodeExperiment } from '../src/index.ts';
import { isRight } from 'fp-ts/lib/Either.js';
import { tempDir } from './helpers/engine.ts';
import { writeSafetensors } from '../src/io/safetensors.ts';
import { randomVggStateDict } from './helpers/vgg.ts';

const root = tempDir('simdeblur-recipes-');
const data = { gopro: path.join(root, 'gopro'), dvd: path.join(root, 'dvd'), reds: path.join(root, 'reds') };
// Random (not ImageNet) VGG19 weights of the right shapes, for recipes with a perceptual loss.
const vggWeights = path.join(root, 'vgg19-features.safetensors');

before(async () => {
  for (const layout of ['gopro', 'dvd', 'reds'] as const) {
    await synthesize({ layout, out: data[layout], videos: 2, frames: 13, width: 64, height: 64, seed: 5, split: 'both' });
  }
  writeSafetensors(vggWeights, randomVggStateDict(7));
});

const recipes = fs.readdirSync('recipes').filter((f) => f.endsWith('.ts') && f !== 'quickstart.ts').sort();

test('every recipe decodes to a complete experiment', async () => {
  for (const f of recipes) {
    const value = await loadRecipe(path.join('recipes', f));
    assert.ok(isRight(decodeExperiment(JSON.parse(JSON.stringify(value)))), f);
  }
});

interface RecipeValue {
  readonly model: { readonly type: string };
  readonly data: { readonly train: { readonly type: string; readonly numFrames?: number }; readonly val?: { readonly sampling?: unknown; readonly numFrames?: number } };
  readonly loss: { readonly terms: ReadonlyArray<{ readonly loss: { readonly type: string } }> };
}

/** `--set` overrides pointing a recipe's datasets at the synthesised data, for a 2-iteration run. */
function smokeSets(value: RecipeValue): string[] {
  const layout = value.data.train.type;
  // PVDNet's flow network needs 64x64 at least; the others run on 32x32 crops.
  const crop = value.model.type === 'pvdnet' ? 64 : 32;
  const sets = ['run={"iterations":2}', 'data.batchSize=1', 'data.workers=0', `data.augment.0.size=[${crop},${crop}]`];
  // The synthesised videos have 13 frames.
  if ((value.data.train.numFrames ?? 0) > 13) sets.push('data.train.numFrames=5');
  if ((value.data.val?.numFrames ?? 0) > 13) sets.push('data.val.numFrames=5');
  value.loss.terms.forEach((t, i) => {
    if (t.loss.type === 'perceptualVgg19') sets.push(`loss.terms.${i}.loss.weights=${vggWeights}`);
  });
  if (layout === 'reds') {
    sets.push(`data.train.rootGt=${data.reds}/train/train_sharp`, `data.train.rootInput=${data.reds}/train/train_blur`);
    sets.push(`data.val.rootGt=${data.reds}/val/val_sharp`, `data.val.rootInput=${data.reds}/val/val_blur`);
  } else if (layout === 'dvd') {
    sets.push(`data.train.root=${data.dvd}/quantitative_datasets`, `data.val.root=${data.dvd}/test`);
    // dvd_test needs videos of 98 frames or more; the synthesised ones are short.
    if (value.data.val?.sampling === 'dvd_test') sets.push('data.val.sampling="n_c"');
  } else {
    sets.push(`data.train.root=${data.gopro}/train`, `data.val.root=${data.gopro}/test`);
  }
  return sets.flatMap((s) => ['--set', s]);
}

for (const f of recipes) {
  test(`recipes/${f} runs 2 iterations on synthesised data`, async () => {
    const wd = tempDir();
    const value = JSON.parse(JSON.stringify(await loadRecipe(path.join('recipes', f)))) as RecipeValue;
    const sets = smokeSets(value);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', path.join('recipes', f), '--work-dir', wd, '--quiet', '--no-tensorboard', ...sets], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(summary.iteration, 2);
    assert.ok(Number.isFinite(summary.loss) && Number.isFinite(summary.psnr), JSON.stringify(summary));
    assert.ok(fs.existsSync(path.join(wd, 'checkpoints', 'iter_00000002', 'weights.safetensors')));
  });
}
