// The demonstration models shipped in weights/: each folder holds exactly its files, the weights
// are finite and load strictly (every key, every shape) into the model its experiment.json
// describes, card.json agrees with them, and re-measured on a small blurry clip synthesised from
// the held-out photograph (never trained on), the output beats the blurry input.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isRight } from 'fp-ts/lib/Either.js';
import { buildModel, countParams, decodeExperiment, loadStateDict, tf, type Experiment } from '../src/index.ts';
import { readSafetensors } from '../src/io/safetensors.ts';
import { synthesize } from '../src/synth/index.ts';
import { HELD_OUT_PHOTO, demoHeldOutData, measureCheckpoint, withRoots } from '../recipes/demo/shared.ts';
import { tempDir } from './helpers/engine.ts';

const DEMOS = ['demo-nafnet', 'demo-dbn'] as const;
const FILES = ['MODEL_CARD.md', 'card.json', 'experiment.json', 'weights.safetensors'];

interface Card {
  readonly recipe: string;
  readonly seed: number;
  readonly iterations: number;
  readonly trainSeconds: number;
  readonly params: number;
  readonly heldOut: { readonly photo: string; readonly inputPsnr: number; readonly outputPsnr: number; readonly inputSsim: number; readonly outputSsim: number };
}

const dirOf = (name: string) => path.join('weights', name);

function experimentOf(name: string): Experiment {
  const decoded = decodeExperiment(JSON.parse(fs.readFileSync(path.join(dirOf(name), 'experiment.json'), 'utf8')));
  assert.ok(isRight(decoded), `${name}/experiment.json does not decode`);
  return decoded.right;
}

const cardOf = (name: string) => JSON.parse(fs.readFileSync(path.join(dirOf(name), 'card.json'), 'utf8')) as Card;

// Two short videos of the held-out photograph, degraded as the demo data, at another seed.
const clip = tempDir('simdeblur-demo-weights-');
const clipRoot = path.join(clip, 'data', 'test');

before(async () => {
  const photos = path.join(clip, 'photo');
  fs.mkdirSync(photos);
  fs.copyFileSync(path.join('assets', 'images', HELD_OUT_PHOTO), path.join(photos, HELD_OUT_PHOTO));
  await synthesize({ ...demoHeldOutData, videos: 2, frames: 7, seed: 7, out: path.join(clip, 'data'), images: photos });
});

for (const name of DEMOS) {
  test(`weights/${name} holds exactly its weights, experiment and cards`, () => {
    assert.deepEqual(fs.readdirSync(dirOf(name)).sort(), FILES);
    // A few MB at most: the package ships them.
    assert.ok(fs.statSync(path.join(dirOf(name), 'weights.safetensors')).size < 8 * 2 ** 20);
  });

  test(`weights/${name}: finite weights load strictly into the model experiment.json describes`, () => {
    const exp = experimentOf(name);
    const { tensors } = readSafetensors(path.join(dirOf(name), 'weights.safetensors'));
    for (const [k, raw] of Object.entries(tensors)) assert.ok(raw.data.every((v) => Number.isFinite(v)), `${k} holds non-finite values`);
    const before = tf.memory().numTensors;
    const model = buildModel(exp.model, exp.seed);
    try {
      // Strict: a missing or unexpected key, or any shape mismatch, throws.
      assert.deepEqual(loadStateDict(model, tensors, { layout: 'pytorch', strict: true }), { missing: [], unexpected: [] });
      assert.deepEqual(Object.keys(tensors).sort(), [...Object.keys(model.params), ...Object.keys(model.buffers)].sort());
      const card = cardOf(name);
      assert.equal(card.params, countParams(model));
      assert.equal(card.seed, exp.seed);
      assert.equal(card.iterations, exp.run.iterations);
      assert.equal(card.recipe, `recipes/${name}.ts`);
      assert.equal(card.heldOut.photo, HELD_OUT_PHOTO);
      assert.ok(card.trainSeconds > 0);
      assert.ok(card.heldOut.outputPsnr > card.heldOut.inputPsnr, `card: ${JSON.stringify(card.heldOut)}`);
    } finally {
      model.dispose();
    }
    assert.equal(tf.memory().numTensors, before);
  });

  test(`weights/${name} beats the blurry input on a new clip of the held-out photograph`, async () => {
    const exp = withRoots(experimentOf(name), clipRoot, clipRoot);
    const before = tf.memory().numTensors;
    const s = await measureCheckpoint(exp, path.join(dirOf(name), 'weights.safetensors'));
    assert.equal(tf.memory().numTensors, before);
    assert.ok(s.frames > 0);
    assert.ok(s.outputPsnr > s.inputPsnr, `output ${s.outputPsnr.toFixed(2)} dB vs blurry input ${s.inputPsnr.toFixed(2)} dB`);
  });
}
