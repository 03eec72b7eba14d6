// Leaderboard protocols and entries, without training: the codec's checks and messages, the
// built-in protocols, protocol files, and each model's experiment built from the protocol and
// the model's recipe (same budget, crop and evaluation frames for all; the recipe's own
// learning rate scaled; recurrent clips cut; hashes that follow the value, not its key order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { tempDir } from './helpers/engine.ts';
import { decodeProtocol, protocol } from '../src/leaderboard/protocol.ts';
import { builtinProtocols, loadProtocol } from '../src/leaderboard/protocols/index.ts';
import { buildEntry, entryHash, selectModels } from '../src/leaderboard/entry.ts';
import { canonicalHash, canonicalJson } from '../src/leaderboard/canonical.ts';
import { DATA_ROOT, withDataDir } from '../src/leaderboard/data.ts';
import { loadRecipe } from '../src/cli/recipe-file.ts';
import { registeredTypes } from '../src/config/registry.ts';
import '../src/models/index.ts';

const problems = (value: unknown): string[] => {
  const r = decodeProtocol(value);
  assert.ok(isLeft(r), 'expected the protocol to be rejected');
  return r.left;
};

test('the built-in protocols decode to themselves', () => {
  for (const [name, p] of Object.entries(builtinProtocols)) {
    assert.equal(p.name, name);
    const again = decodeProtocol(JSON.parse(JSON.stringify(p)));
    assert.ok(!isLeft(again) && canonicalJson(again.right) === canonicalJson(p), name);
  }
});

test('the protocol codec names the key at fault', () => {
  const { smoke } = builtinProtocols;
  assert.match(problems({ ...smoke, train: { ...smoke.train, iteration: 3 } }).join('\n'), /train\.iteration.*unknown key.*did you mean iterations/);
  assert.match(problems({ ...smoke, models: { dbm: {} } }).join('\n'), /models\.dbm.*unknown model type 'dbm' \(did you mean dbn\?\)/);
  assert.match(problems({ ...smoke, data: { ...smoke.data, benchmark: { layout: 'dvd', root: '/x' } } }).join('\n'), /exactly one of synth, benchmark, got both/);
  assert.match(problems({ ...smoke, data: { benchmark: { layout: 'dvd', root: '/x' } } }).join('\n'), /eval\.score.*synthesised data/);
  assert.match(problems({ ...smoke, train: { ...smoke.train, batch: 0 } }).join('\n'), /train\.batch/);
  assert.throws(() => protocol({ ...smoke, defaultModels: ['nafnett'] }), /defaultModels\.0.*did you mean nafnet/);
});

test('a protocol file is loaded from its default export and checked', async () => {
  const dir = tempDir('simdeblur-protocol-');
  const src = path.resolve('src/leaderboard');
  const good = path.join(dir, 'mine.mts');
  fs.writeFileSync(
    good,
    `import { protocol } from '${src}/protocol.ts';\nimport { builtinProtocols } from '${src}/protocols/index.ts';\nexport default protocol({ ...builtinProtocols.smoke, name: 'mine', seed: 3 });\n`,
  );
  const loaded = await loadProtocol(good);
  assert.equal(loaded.protocol.name, 'mine');
  assert.equal(loaded.protocol.seed, 3);
  assert.equal(loaded.file, good);

  const bad = path.join(dir, 'bad.mjs');
  fs.writeFileSync(bad, `export default { name: 'bad', data: { synth: { videos: 1, testVideos: 1, frames: 8, width: 32, height: 32 } }, train: { iterations: 2, batch: 1, crop: [32, 32], lrScale: -1 } };\n`);
  await assert.rejects(loadProtocol(bad), /invalid protocol in .*bad\.mjs:\n {2}train\.lrScale: expected positive number/);
  const none = path.join(dir, 'none.mjs');
  fs.writeFileSync(none, 'export const x = 1;\n');
  await assert.rejects(loadProtocol(none), /protocol .*none\.mjs has no default export/);
  await assert.rejects(loadProtocol('nope'), /unknown protocol 'nope': expected smoke, quick, standard, or a protocol file/);
});

test('--models: a list, all, or the protocol default; unknown names are suggested', () => {
  const { smoke } = builtinProtocols;
  assert.deepEqual(selectModels(smoke, undefined), ['dbn', 'nafnet']);
  assert.deepEqual(selectModels(smoke, 'all'), registeredTypes('model'));
  assert.deepEqual(selectModels(smoke, 'nafnet, dbn,nafnet'), ['nafnet', 'dbn']);
  assert.throws(() => selectModels(smoke, 'edvrr'), /unknown model 'edvrr' \(did you mean edvr\?\)/);
});

test('quick: every zoo model gets the same budget, crop and scored frames, with its own recipe settings', async () => {
  const p = builtinProtocols.quick;
  const zoo = registeredTypes('model');
  const entries = await Promise.all(zoo.map((m) => buildEntry(p, m)));
  const frames = JSON.stringify(entries[0]!.eval.frames);
  for (const e of entries) {
    const x = e.experiment;
    assert.equal(x.run.iterations, p.train.iterations, e.model);
    assert.equal(x.data.batchSize, p.train.batch, e.model);
    assert.equal(x.seed, p.seed);
    assert.deepEqual(x.data.augment.find((a) => a.type === 'crop')?.size, p.train.crop, e.model);
    assert.equal(JSON.stringify(e.eval.frames), frames, `${e.model} is scored on other frames`);
    assert.ok(String(x.data.train.root).startsWith(`${DATA_ROOT}/`) && String(e.eval.dataset.root).startsWith(`${DATA_ROOT}/`), e.model);
    assert.ok(e.recipe !== null, `${e.model} has no recipe`);
    // The recipe's learning rate, scaled by the protocol.
    const recipe = (await loadRecipe(path.join('recipes', e.recipe!))) as { optimizer: { lr: number } };
    assert.ok(Math.abs((x.optimizer.lr as number) - recipe.optimizer.lr * p.train.lrScale) < 1e-12, e.model);
    // Recurrent clips are cut to maxFrames (STRCNN-style windows keep their 5-frame minimum).
    const t = x.data.train as unknown as { sampling: string; numFrames: number };
    if (t.sampling === 'n_n') assert.ok(t.numFrames <= p.train.maxFrames!, e.model);
    if (t.sampling === 'strcnn') assert.equal(t.numFrames, 5, e.model);
  }
  const by = Object.fromEntries(entries.map((e) => [e.model, e]));
  assert.equal(by.stfan!.experiment.strategy?.type, 'stfanRecurrent');
  assert.equal(by.mscnn!.experiment.strategy?.type, 'multiScale');
  assert.match(by.dbn!.note, /innerChannels 64→16/);
  assert.match(by.mimoUnetPlus!.note, /trained as in mimounet-gopro\.ts/);
  assert.equal(new Set(entries.map(entryHash)).size, entries.length);
  // The hash follows the value: the same entry built again, another seed gives another.
  assert.equal(entryHash(await buildEntry(p, 'dbn')), entryHash(by.dbn!));
  assert.notEqual(entryHash(await buildEntry({ ...p, seed: 1 }, 'dbn')), entryHash(by.dbn!));
});

test('canonical JSON sorts keys at every level; $DATA is replaced by the data folder', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
  assert.equal(canonicalHash({ x: 1, y: 2 }), canonicalHash({ y: 2, x: 1 }));
  assert.deepEqual(withDataDir({ root: '$DATA/train-set/train', other: '$DATAX', list: ['$DATA'] }, '/d'), { root: '/d/train-set/train', other: '$DATAX', list: ['/d'] });
});
