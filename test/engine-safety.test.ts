// What a run leaves behind must be trustworthy: no checkpoint with non-finite values, `best`
// the same after a crash and resume as without, state.json checked on resume, a diverging loss
// reported, a fresh run kept apart from an old one, and PSNR shown beside its baseline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { tf } from '../src/runtime/index.ts';
import { experiment, models, optim, schedules } from '../src/index.ts';
import { fit } from '../src/engine/fit.ts';
import { train } from '../src/engine/train.ts';
import { listCheckpoints, loadWeights, readCheckpointState } from '../src/engine/checkpoint.ts';
import { progress } from '../src/engine/hooks/index.ts';
import type { TrainEvent } from '../src/engine/events.ts';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.ts';
import { dbn } from '../src/models/dbn.ts';
import { formatTable } from '../src/cli/test.ts';
import { smallSetup, tempDir, tinyExperiment } from './helpers/engine.ts';

const tiny = (iterations: number, over: { lr?: number; schedule?: ReturnType<typeof schedules.multiStep> } = {}) =>
  experiment({
    ...tinyExperiment(iterations, 'safety-test'),
    optimizer: optim.adam({ lr: over.lr ?? 2e-3 }),
    ...(over.schedule ? { schedule: over.schedule } : {}),
    checkpoint: { every: 3, keepLast: 5, keepBest: true },
    log: { every: 1 },
  });

const quiet = { progress: false, tensorboard: false, jsonl: false } as const;

/** Every checkpoint directory under `root` (periodic ones and `best`). */
const allCheckpoints = (root: string) => [...listCheckpoints(root), ...(fs.existsSync(path.join(root, 'best')) ? [path.join(root, 'best')] : [])];

/** `file: tensor` for every tensor of a checkpoint holding a non-finite value. */
function nonFiniteIn(dir: string): string[] {
  return ['weights.safetensors', 'optimizer.safetensors'].flatMap((f) =>
    Object.entries(readSafetensors(path.join(dir, f)).tensors)
      .filter(([, raw]) => Array.from(raw.data as Float32Array).some((x) => !Number.isFinite(x)))
      .map(([k]) => `${f}: ${k}`),
  );
}

// ---------------------------------------------------------------------------------------------
// Non-finite weights

test('a NaN stop keeps the last finite weights, says their iteration, and no checkpoint holds a non-finite value', async () => {
  const workDir = tempDir();
  const before = tf.memory().numTensors;
  // lr 1e30: the first update is finite but huge; the next forward overflows (and poisons the
  // BatchNorm running statistics even though that update is skipped).
  await assert.rejects(fit(tiny(6, { lr: 1e30 }), { workDir, ...quiet }), /weights from iteration 1\b/);
  assert.equal(tf.memory().numTensors, before);
  const dirs = allCheckpoints(path.join(workDir, 'checkpoints'));
  assert.ok(dirs.length > 0, 'the stop saved the finite weights');
  for (const dir of dirs) assert.deepEqual(nonFiniteIn(dir), [], dir);
  assert.equal(readCheckpointState(listCheckpoints(path.join(workDir, 'checkpoints')).at(-1)!).iteration, 1);
});

test('loading refuses non-finite weights and optimiser state, naming the tensors, unless allowed', async () => {
  const workDir = tempDir();
  await fit(tiny(3), { workDir, ...quiet });
  const good = path.join(workDir, 'checkpoints', 'iter_00000003');
  const bad = path.join(workDir, 'poisoned');
  fs.cpSync(good, bad, { recursive: true });
  const file = path.join(bad, 'weights.safetensors');
  const { tensors } = readSafetensors(file);
  const w = tensors['F0.0.weight']!;
  const data = Float32Array.from(w.data as Float32Array);
  data[5] = NaN;
  writeSafetensors(file, { ...tensors, 'F0.0.weight': { ...w, data } });

  const model = dbn.create({ numFrames: 5, inChannels: 3, innerChannels: 8 }, 1);
  try {
    assert.throws(() => loadWeights(model, file), /poisoned\/weights\.safetensors.*non-finite values in 'F0\.0\.weight' \(1 of \d+\)/s);
    loadWeights(model, file, { allowNonfinite: true });
  } finally {
    model.dispose();
  }
  // Resume refuses too (the same file, through the training loop).
  await using setup = smallSetup({ seed: 3 });
  await assert.rejects(lastValueFrom(train(setup, { resumeFrom: bad })), /non-finite values in 'F0\.0\.weight'/);
});

test('train with lr=1e30 exits non-zero naming the kept iteration; test refuses a poisoned checkpoint unless --allow-nonfinite', () => {
  const wd = tempDir();
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  const r = cli(['train', 'test/fixtures/recipes/tiny-dbn.ts', '--work-dir', wd, '--quiet', '--no-tensorboard', '--set', 'optimizer.lr=1e30']);
  assert.notEqual(r.status, 0, r.stdout);
  assert.match(r.stderr, /weights from iteration 1\b/);
  const dirs = allCheckpoints(path.join(wd, 'checkpoints'));
  assert.ok(dirs.length > 0);
  for (const dir of dirs) assert.deepEqual(nonFiniteIn(dir), [], dir);

  const ckpt = dirs[0]!;
  const file = path.join(ckpt, 'weights.safetensors');
  const { tensors } = readSafetensors(file);
  const w = tensors['F0.1.running_var']!;
  writeSafetensors(file, { ...tensors, 'F0.1.running_var': { ...w, data: Float32Array.from(w.data as Float32Array, () => Infinity) } });
  const t = cli(['test', 'test/fixtures/recipes/tiny-dbn.ts', '--checkpoint', ckpt, '--json']);
  assert.notEqual(t.status, 0);
  assert.match(t.stderr, /non-finite values in 'F0\.1\.running_var'/);
  const allowed = cli(['test', 'test/fixtures/recipes/tiny-dbn.ts', '--checkpoint', ckpt, '--json', '--allow-nonfinite']);
  assert.equal(allowed.status, 0, allowed.stderr);
});

// ---------------------------------------------------------------------------------------------
// best after a crash

test('a run killed between a validation and its best write resumes to the same best as an uninterrupted run', async () => {
  // A learning rate 50x higher after iteration 3 makes iteration 3's validation the best one.
  const exp = tiny(6, { schedule: schedules.multiStep({ milestones: [3], gamma: 50, stepEvery: 'iteration' }) });
  const straightDir = tempDir();
  const psnrs: number[] = [];
  await fit(exp, { workDir: straightDir, ...quiet, hooks: [tap((e: TrainEvent) => void (e.type === 'validation' && psnrs.push(e.psnr)))] });
  assert.ok(psnrs[0]! > psnrs[1]!, `the test needs the first validation to be the best: ${psnrs.join(', ')}`);

  const workDir = tempDir();
  // The step event of iteration 3 reaches the caller's hooks after the standard hooks have dealt
  // with it, and before the validation event of the same iteration.
  const crash = tap((e: TrainEvent) => {
    if (e.type === 'step' && e.iteration === 3) throw new Error('killed');
  });
  await assert.rejects(fit(exp, { workDir, ...quiet, hooks: [crash] }), /killed/);
  await fit(exp, { workDir, ...quiet, resume: true });

  const best = (wd: string) => path.join(wd, 'checkpoints', 'best');
  assert.ok(fs.existsSync(best(workDir)), 'the resumed run has a best checkpoint');
  assert.equal(readCheckpointState(best(workDir)).bestPsnr, readCheckpointState(best(straightDir)).bestPsnr);
  assert.equal(readCheckpointState(best(workDir)).iteration, 3);
  const weights = (wd: string) => readSafetensors(path.join(best(wd), 'weights.safetensors')).tensors;
  assert.deepEqual(weights(workDir), weights(straightDir));
  // The periodic checkpoint of a validation step records that validation's outcome.
  assert.equal(readCheckpointState(path.join(workDir, 'checkpoints', 'iter_00000003')).bestPsnr, psnrs[0]);
});

// ---------------------------------------------------------------------------------------------
// state.json

test("resume checks state.json's position fields, naming the file and the key", async () => {
  const source = tempDir();
  await fit(tiny(3), { workDir: source, ...quiet });
  const good = path.join(source, 'checkpoints', 'iter_00000003');
  const state = JSON.parse(fs.readFileSync(path.join(good, 'state.json'), 'utf8')) as Record<string, unknown>;
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['missing', { ...state, iteration: undefined }, /state\.json.*\n\s+iteration: missing required key/],
    ['negative', { ...state, iteration: -1 }, /state\.json.*\n\s+iteration: expected non-negative integer, got -1/],
    ['string', { ...state, iteration: '3' }, /state\.json.*\n\s+iteration: expected non-negative integer, got "3"/],
    ['batch', { ...state, batch: 1e9 }, /state\.json: batch 1000000000 .*4 iterations per epoch/],
    ['epoch', { ...state, epoch: 1e12 }, /state\.json: epoch 1000000000000, batch 3 and iteration 3 disagree/],
  ];
  for (const [name, value, want] of cases) {
    const dir = path.join(tempDir(), 'iter_00000003');
    fs.cpSync(good, dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify(value));
    await using setup = smallSetup({ seed: 3, run: { unit: 'iteration', length: 6 } });
    await assert.rejects(lastValueFrom(train(setup, { resumeFrom: dir })), want, name);
  }
});

// ---------------------------------------------------------------------------------------------
// Divergence

test('a diverging loss is reported once, and the summary says so', async () => {
  let printed = '';
  const stream = new Writable({ write(chunk, _enc, cb) { printed += String(chunk); cb(); } });
  const summary = await fit(tiny(6, { lr: 1e4 }), { workDir: tempDir(), tensorboard: false, jsonl: false, progress: { stream } });
  assert.equal(summary.reason, 'completed');
  assert.equal(summary.diverged, true);
  assert.equal(summary.warnings.length, 1);
  assert.match(summary.warnings[0]!, /loss is diverging/);
  assert.equal(printed.match(/warning: .*loss is diverging/g)?.length, 1, printed);
  const calm = await fit(tiny(3), { workDir: tempDir(), ...quiet });
  assert.equal(calm.diverged, false);
  assert.deepEqual(calm.warnings, []);
});

// ---------------------------------------------------------------------------------------------
// A used work directory

test('a fresh run into a work directory with checkpoints archives it first; resume then continues the new run', async () => {
  const workDir = tempDir();
  await fit(tiny(6), { workDir, ...quiet });
  const fresh = await fit(tiny(3), { workDir, ...quiet });
  const siblings = fs.readdirSync(path.dirname(workDir)).filter((d) => d.startsWith(`${path.basename(workDir)}_archived_`));
  assert.equal(siblings.length, 1, siblings.join(', '));
  const archived = path.join(path.dirname(workDir), siblings[0]!);
  assert.equal(fresh.archived, archived);
  assert.deepEqual(listCheckpoints(path.join(archived, 'checkpoints')).map((d) => path.basename(d)), ['iter_00000003', 'iter_00000006']);
  assert.deepEqual(listCheckpoints(path.join(workDir, 'checkpoints')).map((d) => path.basename(d)), ['iter_00000003']);
  assert.ok(!fs.existsSync(path.join(archived, '.lock')));
  const resumed = await fit(tiny(4), { workDir, ...quiet, resume: true });
  assert.equal(resumed.iteration, 4);
  assert.equal(resumed.archived, undefined);
  fs.rmSync(archived, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// PSNR beside its baseline

test("validation lines and test's table show the input's PSNR and the gain", async () => {
  let printed = '';
  const stream = new Writable({ write(chunk, _enc, cb) { printed += String(chunk); cb(); } });
  await using setup = smallSetup({ run: { unit: 'iteration', length: 2 } });
  const { validate } = await import('../src/engine/hooks/index.ts');
  const events = await lastValueFrom(train(setup).pipe(validate({ every: 2 }), progress({ stream }), toArray()));
  const v = events.find((e) => e.type === 'validation');
  assert.ok(v?.type === 'validation' && typeof v.inputPsnr === 'number', 'the validation event carries inputPsnr');
  const gain = v.psnr - v.inputPsnr!;
  assert.match(printed, new RegExp(`PSNR ${v.psnr.toFixed(2)} dB \\(input ${v.inputPsnr!.toFixed(2)} dB, gain ${gain >= 0 ? '\\+' : '-'}${Math.abs(gain).toFixed(2)} dB\\)`));

  const table = formatTable({
    psnr: 30,
    ssim: 0.9,
    inputPsnr: 31.5,
    perVideo: { a: { psnr: 30, ssim: 0.9, inputPsnr: 31.5, frames: 2 } },
    images: [],
    frames: 2,
  });
  assert.match(table.split('\n')[0]!, /PSNR\s+input PSNR\s+gain\s+SSIM/);
  assert.match(table, /a\s+2\s+30\.00\s+31\.50\s+-1\.50\s+0\.9000/);
  assert.match(table, /overall\s+2\s+30\.00\s+31\.50\s+-1\.50\s+0\.9000/);
});
