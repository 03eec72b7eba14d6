import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { firstValueFrom, lastValueFrom, takeWhile, toArray, filter } from 'rxjs';
import { tf } from '../src/runtime/index.ts';
import { train } from '../src/engine/train.ts';
import { trainStep } from '../src/engine/step.ts';
import { standardHooks, stopOnNaN } from '../src/engine/hooks/index.ts';
import { readJsonl } from '../src/io/jsonl.ts';
import { listEventFiles, readEvents } from './helpers/tensorboard.ts';
import { Writable } from 'node:stream';
import { latestCheckpoint, loadWeights, readCheckpointState } from '../src/engine/checkpoint.ts';
import { epochBatches } from '../src/data/loader.ts';
import { dbn } from '../src/models/dbn.ts';
import { Rng } from '../src/util/rng.ts';
import type { TrainEvent, StepEvent } from '../src/engine/events.ts';
import type { Model } from '../src/models/model.ts';
import { smallSetup, tempDir } from './helpers/engine.ts';

const steps = (events: TrainEvent[]) => events.filter((e): e is StepEvent => e.type === 'step');
const weightsOf = (m: Model) => Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Array.from(v.dataSync())]));

test('a training step leaves the tensor count unchanged', async () => {
  const setup = smallSetup();
  const it = epochBatches(setup.train, { batchSize: 2, shuffle: true, seed: 1, dropLast: true }, 0);
  const batch = (await it.next()).value!;
  trainStep(setup, batch, 1e-3, Rng.seeded(0)); // creates the optimiser state
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) trainStep(setup, batch, 1e-3, Rng.seeded(i));
  assert.equal(tf.memory().numTensors, before);
  setup.model.dispose();
  setup.optimizer.dispose();
});

test('train() with all hooks lowers the loss and writes checkpoints, logs and TensorBoard files that load', async () => {
  const setup = smallSetup({ run: { unit: 'iteration', length: 40 }, validation: { every: 20, saveImages: 2 }, checkpoint: { every: 20, keepLast: 1, keepBest: true } });
  let printed = '';
  const stream = new Writable({ write(chunk, _enc, cb) { printed += String(chunk); cb(); } });
  const events = await lastValueFrom(train(setup).pipe(standardHooks({ progress: { stream } }), toArray()));
  const s = steps(events);
  assert.equal(s.length, 40);
  const mean = (xs: StepEvent[]) => xs.reduce((a, e) => a + e.loss, 0) / xs.length;
  assert.ok(mean(s.slice(-8)) < 0.8 * mean(s.slice(0, 8)), `loss did not fall: ${mean(s.slice(0, 8))} -> ${mean(s.slice(-8))}`);
  const vals = events.filter((e) => e.type === 'validation');
  assert.equal(vals.length, 2);
  for (const v of vals) {
    assert.ok(v.type === 'validation' && Number.isFinite(v.psnr) && v.ssim > 0 && v.ssim <= 1);
    assert.deepEqual(Object.keys(v.perVideo), ['video_000', 'video_001']);
    assert.equal(v.images.length, 2);
  }
  const kinds = events.filter((e) => e.type === 'checkpoint').map((e) => (e.type === 'checkpoint' ? e.reason : ''));
  assert.ok(kinds.includes('periodic') && kinds.includes('best'), kinds.join(','));
  assert.equal(events.at(-1)!.type, 'end');
  // keepLast 1: only the newest periodic checkpoint remains, plus best.
  const dirs = fs.readdirSync(path.join(setup.workDir, 'checkpoints')).sort();
  assert.deepEqual(dirs, ['best', 'iter_00000040']);
  const latest = latestCheckpoint(path.join(setup.workDir, 'checkpoints'))!;
  const state = readCheckpointState(latest);
  assert.equal(state.iteration, 40);
  assert.ok(Number.isFinite(state.metrics.psnr));
  const fresh = dbn.create({ numFrames: 5, inChannels: 3, innerChannels: 8 }, 123);
  loadWeights(fresh, path.join(latest, 'weights.safetensors'));
  assert.deepEqual(weightsOf(fresh), weightsOf(setup.model));
  fresh.dispose();
  // Logs: the progress lines, the JSON-lines log and the TensorBoard event file.
  assert.match(printed, /iter 40\/40 loss/);
  assert.match(printed, /validation @ epoch \d+, iter 20: PSNR \d+\.\d+ dB/);
  assert.match(printed, /finished at iteration 40 \(10\.00 epochs\)/);
  const log = readJsonl(path.join(setup.workDir, 'log.jsonl')) as Array<{ type: string; iteration: number; psnr?: number }>;
  assert.deepEqual(log.filter((r) => r.type === 'step').map((r) => r.iteration), [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40]);
  assert.equal(log.filter((r) => r.type === 'validation').length, 2);
  assert.equal(log.at(-1)!.type, 'end');
  const [tbFile] = listEventFiles(path.join(setup.workDir, 'tensorboard'));
  const tags = readEvents(tbFile!).flatMap((e) => (e.summary ?? []).map((v) => v.tag));
  for (const t of ['train/loss', 'train/charbonnier', 'train/lr', 'val/psnr', 'val/ssim']) assert.ok(tags.includes(t), `missing ${t}`);
  assert.ok(tags.some((t) => t.startsWith('val_images/')));
  setup.model.dispose();
  setup.optimizer.dispose();
});

test('resume is exact: N steps, stop, resume N more equals 2N straight', async () => {
  const n = 6;
  const straight = smallSetup({ run: { unit: 'iteration', length: 2 * n } });
  const a = steps(await lastValueFrom(train(straight).pipe(toArray())));

  const workDir = tempDir();
  const first = smallSetup({ workDir, run: { unit: 'iteration', length: 2 * n } });
  // Stop after n steps by unsubscribing: the run checkpoints where it stopped.
  const b1 = steps(await lastValueFrom(train(first).pipe(takeWhile((e) => !(e.type === 'step' && e.iteration === n), true), toArray())));
  // The stop checkpoint is written right after the unsubscription, before the next step.
  await new Promise((r) => setTimeout(r, 200));
  const ckpt = latestCheckpoint(path.join(workDir, 'checkpoints'));
  assert.ok(ckpt, 'no checkpoint after unsubscribing');
  assert.equal(readCheckpointState(ckpt).iteration, n);
  const second = smallSetup({ workDir, seed: 1, run: { unit: 'iteration', length: 2 * n } });
  const b2 = steps(await lastValueFrom(train(second, { resumeFrom: ckpt }).pipe(toArray())));
  assert.deepEqual([...b1, ...b2].map((e) => e.loss), a.map((e) => e.loss));
  assert.deepEqual(weightsOf(second.model), weightsOf(straight.model));
  for (const s of [straight, first, second]) {
    s.model.dispose();
    s.optimizer.dispose();
  }
});

test('a non-finite loss is never applied; stopOnNaN checkpoints good weights and then errors', async () => {
  let calls = 0;
  const nanAt = 3;
  const base = smallSetup();
  const setup = smallSetup({
    run: { unit: 'iteration', length: 10 },
    loss: [{ name: 'l', weight: 1, fn: (gt, pred, rng) => (++calls === nanAt ? tf.mul(base.loss[0]!.fn(gt, pred, rng), NaN) : base.loss[0]!.fn(gt, pred, rng)) as never }],
  });
  base.model.dispose();
  const seen: TrainEvent[] = [];
  await assert.rejects(
    lastValueFrom(train(setup).pipe(stopOnNaN(), filter((e) => (seen.push(e), true)))),
    /loss is NaN at epoch 1, iteration 3 .*last good weights in .*iter_00000003/,
  );
  assert.deepEqual(seen.filter((e) => e.type === 'checkpoint').map((e) => (e.type === 'checkpoint' ? e.reason : '')), ['stop']);
  for (const v of Object.values(setup.model.params)) assert.ok(Array.from(v.dataSync()).every(Number.isFinite));
  setup.model.dispose();
  setup.optimizer.dispose();
});

test('same seed, same run', async () => {
  const losses = async () => {
    const s = smallSetup({ run: { unit: 'iteration', length: 4 } });
    const r = steps(await lastValueFrom(train(s).pipe(toArray()))).map((e) => e.loss);
    s.model.dispose();
    s.optimizer.dispose();
    return r;
  };
  assert.deepEqual(await losses(), await losses());
});

test('a dataset smaller than one batch is a clear error', async () => {
  const s = smallSetup({ batchSize: 64 });
  await assert.rejects(firstValueFrom(train(s)), /training dataset 'train' has 8 samples, fewer than one batch of 64/);
  s.model.dispose();
});

test('with an EMA, validation uses the averaged weights, checkpoints hold them, and resume stays exact', async () => {
  const { ema } = await import('../src/optim/ema.ts');
  const { readSafetensors } = await import('../src/io/safetensors.ts');
  const make = (workDir: string) => {
    const s = smallSetup({ workDir, run: { unit: 'iteration', length: 8 } });
    return { ...s, ema: ema(s.model.params, { decay: 0.9 }) };
  };
  const straight = make(tempDir());
  const a = steps(await lastValueFrom(train(straight).pipe(toArray())));
  const wd = tempDir();
  const first = make(wd);
  await lastValueFrom(train(first).pipe(takeWhile((e) => !(e.type === 'step' && e.iteration === 4), true), toArray()));
  await new Promise((r) => setTimeout(r, 200));
  const ckpt = latestCheckpoint(path.join(wd, 'checkpoints'))!;
  const keys = Object.keys(readSafetensors(path.join(ckpt, 'optimizer.safetensors')).tensors);
  assert.ok(keys.some((k) => k.startsWith('ema/')) && keys.some((k) => k.startsWith('exp_avg.')), keys.slice(0, 4).join(','));
  const second = make(wd);
  const b = steps(await lastValueFrom(train(second, { resumeFrom: ckpt }).pipe(toArray())));
  assert.deepEqual(b.map((e) => e.loss), a.slice(4).map((e) => e.loss));
  // Validation sees the EMA (swapped in and back out): it differs from the raw weights' result.
  const { TrainContext } = await import('../src/engine/context.ts');
  const { evaluate } = await import('../src/engine/evaluate.ts');
  const before = weightsOf(second.model);
  const viaEma = await new TrainContext(second, 4).validate();
  assert.deepEqual(weightsOf(second.model), before);
  const raw = await evaluate(second.model, second.model.params, second.strategy, second.val!, { batchSize: 2, saveImages: 0 });
  assert.notEqual(viaEma.psnr, raw.psnr);
  for (const s of [straight, first, second]) {
    s.ema.dispose();
    s.model.dispose();
    s.optimizer.dispose();
  }
});
