// Every recipe decodes, and runs two iterations (with validation and a checkpoint) on a tiny
// synthesised dataset in its benchmark's layout, with its model shrunk to a tiny width and
// depth. The runs are in-process (`trainValue`, what `simdeblur train` calls), except one
// that goes through the command line.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isRight } from 'fp-ts/lib/Either.js';
import { synthesize } from '../src/synth/index.ts';
import { loadRecipe } from '../src/cli/recipe.ts';
import { trainValue } from '../src/cli/train.ts';
import { decodeExperiment, overrideExperiment } from '../src/index.ts';
import { readJsonl } from '../src/io/jsonl.ts';
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
// The recipe whose smoke run goes through `simdeblur train` in a child process.
const viaCli = 'dbn-dvd.ts';

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

/**
 * Model options giving a tiny network of each type (the parity fixtures' sizes where there is
 * one). STFAN has no size options, and the flow networks inside CDVD-TSP and PVDNet have
 * fixed sizes.
 */
const TINY_MODELS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  dbn: { innerChannels: 8 },
  dblrnet: { innerChannels: 8 },
  strcnn: { innerChannels: 8, encoderBlocks: 2, decoderBlocks: 2 },
  ifirnn: { innerChannels: 8 },
  estrnn: { nFeatures: 8, nBlocks: 3 },
  mscnn: { numFeats: 8, numResblocks: 2 },
  srn: { innerChannels: 8 },
  mimoUnet: { numRes: 1 },
  mimoUnetPlus: { numRes: 1 },
  nafnet: { width: 8, middleBlkNum: 1, encBlkNums: [1, 1], decBlkNums: [1, 1] },
  restormer: { dim: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 1, 2, 2] },
  edvr: { numFeat: 16, numExtractBlock: 1, numReconstructBlock: 1 },
  cdvdTsp: { nResblock: 1, nFeat: 8 },
  pvdnet: { largeModel: false },
  stfan: {},
};

/** `--set` overrides for a 2-iteration run of a tiny model on the synthesised data. */
function smokeSets(value: RecipeValue): string[] {
  const tiny = TINY_MODELS[value.model.type];
  assert.ok(tiny, `no tiny configuration for model type '${value.model.type}': add one to TINY_MODELS`);
  const layout = value.data.train.type;
  // PVDNet's flow network needs 64x64 at least; the others run on 32x32 crops.
  const crop = value.model.type === 'pvdnet' ? 64 : 32;
  const sets = ['run={"iterations":2}', 'log.every=1', 'data.batchSize=1', 'data.workers=0', `data.augment.0.size=[${crop},${crop}]`];
  for (const [k, v] of Object.entries(tiny)) sets.push(`model.${k}=${JSON.stringify(v)}`);
  // The synthesised videos have 13 frames. PVDNet's recurrent strategy trains on whole clips of
  // any length: 3 frames are enough.
  if (value.model.type === 'pvdnet') sets.push('data.train.numFrames=3');
  else if ((value.data.train.numFrames ?? 0) > 13) sets.push('data.train.numFrames=5');
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
  return sets;
}

async function recipeValue(f: string): Promise<RecipeValue> {
  return JSON.parse(JSON.stringify(await loadRecipe(path.join('recipes', f)))) as RecipeValue;
}

/** What a finished 2-iteration run leaves in its work directory: the checkpoint and the log. */
function assertRunOutputs(wd: string): void {
  assert.ok(fs.existsSync(path.join(wd, 'checkpoints', 'iter_00000002', 'weights.safetensors')), 'no checkpoint at iteration 2');
  const log = readJsonl(path.join(wd, 'log.jsonl')) as Array<{ type: string; iteration: number; loss?: unknown; psnr?: unknown }>;
  const step = log.find((r) => r.type === 'step' && r.iteration === 2);
  assert.ok(step && Number.isFinite(step.loss), `no finite loss at iteration 2: ${JSON.stringify(step)}`);
  const val = log.find((r) => r.type === 'validation');
  assert.ok(val && Number.isFinite(val.psnr), `no finite validation PSNR: ${JSON.stringify(val)}`);
}

for (const f of recipes.filter((r) => r !== viaCli)) {
  test(`recipes/${f} runs 2 iterations of a tiny model on synthesised data`, async () => {
    const wd = tempDir();
    const value = await recipeValue(f);
    const sets = smokeSets(value);
    // The overrides make a valid experiment (trainValue applies them the same way).
    const decoded = overrideExperiment(value, sets);
    assert.ok(isRight(decoded), `${f}: ${isRight(decoded) ? '' : decoded.left.join('; ')}`);
    // trainValue prints its summary line with console.log: keep it for the assertions below.
    const printed: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => void printed.push(a.map(String).join(' '));
    let code: number;
    try {
      code = await trainValue(value, path.join('recipes', f), ['--work-dir', wd, '--quiet', '--no-tensorboard', ...sets.flatMap((s) => ['--set', s])]);
    } finally {
      console.log = log;
    }
    assert.equal(code, 0);
    const summary = JSON.parse(printed.at(-1)!) as { iteration: number };
    assert.equal(summary.iteration, 2);
    assertRunOutputs(wd);
  });
}

test(`simdeblur train recipes/${viaCli} runs 2 iterations of a tiny model on synthesised data`, async () => {
  const wd = tempDir();
  const sets = smokeSets(await recipeValue(viaCli));
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'train', path.join('recipes', viaCli), '--work-dir', wd, '--quiet', '--no-tensorboard', ...sets.flatMap((s) => ['--set', s])],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(summary.iteration, 2);
  assert.ok(Number.isFinite(summary.loss) && Number.isFinite(summary.psnr), JSON.stringify(summary));
  assertRunOutputs(wd);
});
