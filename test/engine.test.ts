import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { firstValueFrom, lastValueFrom, takeWhile, toArray, filter, tap, type MonoTypeOperatorFunction } from 'rxjs';
import { tf } from '../src/runtime/index.ts';
import { train } from '../src/engine/train.ts';
import { trainStep } from '../src/engine/step.ts';
import { checkpoints, jsonlLog, progress, standardHooks, stopOnNaN, tensorboard, validate } from '../src/engine/hooks/index.ts';
import { readJsonl } from '../src/io/jsonl.ts';
import { listEventFiles, readEvents } from './helpers/tensorboard.ts';
import { Writable } from 'node:stream';
import { latestCheckpoint, loadWeights, readCheckpointState } from '../src/engine/checkpoint.ts';
import { epochBatches } from '../src/data/loader.ts';
import { dbn } from '../src/models/dbn.ts';
import { ema } from '../src/optim/ema.ts';
import { Rng } from '../src/util/rng.ts';
import type { TrainContext } from '../src/engine/context.ts';
import type { TrainEvent, StepEvent, CheckpointEvent } from '../src/engine/events.ts';
import type { Model } from '../src/models/model.ts';
import { fit } from '../src/engine/fit.ts';
import { experiment, models, losses, optim, schedules } from '../src/index.ts';
import { interpret } from '../src/engine/interpret.ts';
import { cosine } from '../src/optim/schedules.ts';
import { smallSetup, tempDir, tinyExperiment } from './helpers/engine.ts';

const steps = (events: TrainEvent[]) => events.filter((e): e is StepEvent => e.type === 'step');
const weightsOf = (m: Model) => Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Array.from(v.dataSync())]));
/** Aborts `stop` when step `n` is reported: the run then checkpoints and ends. */
const abortAt = (n: number, stop: AbortController): MonoTypeOperatorFunction<TrainEvent> =>
  tap((e) => {
    if (e.type === 'step' && e.iteration === n) stop.abort();
  });

test('a training step leaves the tensor count unchanged', async () => {
  await using setup = smallSetup();
  const it = epochBatches(setup.train, { batchSize: 2, shuffle: true, seed: 1, dropLast: true }, 0);
  const batch = (await it.next()).value!;
  trainStep(setup, batch, 1e-3, Rng.seeded(0)); // creates the optimiser state
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) trainStep(setup, batch, 1e-3, Rng.seeded(i));
  assert.equal(tf.memory().numTensors, before);
});

test('train() with all hooks lowers the loss and writes checkpoints, logs and TensorBoard files that load', async () => {
  await using setup = smallSetup({ run: { unit: 'iteration', length: 40 } });
  let printed = '';
  const stream = new Writable({ write(chunk, _enc, cb) { printed += String(chunk); cb(); } });
  const settings = { validation: { every: 20, saveImages: 2 }, checkpoint: { every: 20, keepLast: 1, keepBest: true }, log: { every: 2 } };
  const events = await lastValueFrom(train(setup).pipe(standardHooks(settings, { progress: { stream } }), toArray()));
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
});

test('resume is exact: N steps, stop, resume N more equals 2N straight', async () => {
  const n = 6;
  await using straight = smallSetup({ run: { unit: 'iteration', length: 2 * n } });
  const a = steps(await lastValueFrom(train(straight).pipe(toArray())));

  const workDir = tempDir();
  await using first = smallSetup({ workDir, run: { unit: 'iteration', length: 2 * n } });
  // Stop after n steps through the signal: the run checkpoints where it stopped, then ends.
  const stop = new AbortController();
  const events = await lastValueFrom(train(first, { signal: stop.signal }).pipe(abortAt(n, stop), toArray()));
  const b1 = steps(events);
  assert.equal(b1.length, n);
  const [ckptEvent, end] = events.slice(-2);
  assert.ok(ckptEvent?.type === 'checkpoint' && ckptEvent.reason === 'stop', ckptEvent?.type);
  assert.ok(end?.type === 'end' && end.reason === 'stopped', end?.type);
  const ckpt = ckptEvent.path;
  assert.equal(latestCheckpoint(path.join(workDir, 'checkpoints')), ckpt);
  assert.equal(readCheckpointState(ckpt).iteration, n);
  await using second = smallSetup({ workDir, seed: 1, run: { unit: 'iteration', length: 2 * n } });
  const b2 = steps(await lastValueFrom(train(second, { resumeFrom: ckpt }).pipe(toArray())));
  assert.deepEqual([...b1, ...b2].map((e) => e.loss), a.map((e) => e.loss));
  assert.deepEqual(weightsOf(second.model), weightsOf(straight.model));
});

test('unsubscribing abandons the run: no further step, no checkpoint; ctx.done awaits the loop', async () => {
  await using setup = smallSetup({ run: { unit: 'iteration', length: 8 } });
  let ctx: TrainContext | undefined;
  const seen = await lastValueFrom(
    train(setup).pipe(
      tap((e) => (ctx ??= e.ctx)),
      takeWhile((e) => !(e.type === 'step' && e.iteration === 3), true),
      toArray(),
    ),
  );
  assert.deepEqual(seen.map((e) => e.type), ['start', 'step', 'step', 'step']);
  await ctx!.done;
  assert.equal(ctx!.iteration, 3);
  assert.equal(latestCheckpoint(path.join(setup.workDir, 'checkpoints')), undefined);
});

test('a signal aborted before the run starts: start, a checkpoint of the start position, end', async () => {
  await using setup = smallSetup();
  const events = await lastValueFrom(train(setup, { signal: AbortSignal.abort() }).pipe(toArray()));
  assert.deepEqual(events.map((e) => e.type), ['start', 'checkpoint', 'end']);
  assert.equal(events[2]!.type === 'end' && events[2]!.reason, 'stopped');
  assert.equal(readCheckpointState((events[1] as CheckpointEvent).path).iteration, 0);
});

test('a non-finite loss is never applied; stopOnNaN checkpoints good weights and then errors', async () => {
  let calls = 0;
  const nanAt = 3;
  const base = smallSetup();
  const fn = base.loss[0]!.fn;
  await base.dispose();
  await using setup = smallSetup({
    run: { unit: 'iteration', length: 10 },
    loss: [{ name: 'l', weight: 1, fn: (gt, pred, rng) => (++calls === nanAt ? tf.mul(fn(gt, pred, rng), NaN) : fn(gt, pred, rng)) as never }],
  });
  const seen: TrainEvent[] = [];
  await assert.rejects(
    lastValueFrom(train(setup).pipe(stopOnNaN(), filter((e) => (seen.push(e), true)))),
    /loss is NaN at epoch 1, iteration 3 .*last finite weights from iteration 3 in .*iter_00000003/,
  );
  assert.deepEqual(seen.filter((e) => e.type === 'checkpoint').map((e) => (e.type === 'checkpoint' ? e.reason : '')), ['stop']);
  for (const v of Object.values(setup.model.params)) assert.ok(Array.from(v.dataSync()).every(Number.isFinite));
});

test('same seed, same run', async () => {
  const losses = async () => {
    await using s = smallSetup({ run: { unit: 'iteration', length: 4 } });
    return steps(await lastValueFrom(train(s).pipe(toArray()))).map((e) => e.loss);
  };
  assert.deepEqual(await losses(), await losses());
});

test('a dataset smaller than one batch is a clear error', async () => {
  await using s = smallSetup({ batchSize: 64 });
  await assert.rejects(firstValueFrom(train(s)), /training dataset 'train' has 8 samples, fewer than one batch of 64/);
});

test('one hook value serves several runs: its state belongs to each subscription', async () => {
  // Shared state would remember run 1's save at iteration 8 and skip run 2's.
  const hook = checkpoints({ every: 8, keepLast: 3, keepBest: false });
  for (let run = 0; run < 2; run++) {
    await using s = smallSetup({ run: { unit: 'iteration', length: 8 } });
    await lastValueFrom(train(s).pipe(hook));
    assert.deepEqual(fs.readdirSync(path.join(s.workDir, 'checkpoints')), ['iter_00000008'], `run ${run + 1}`);
  }
});

test('hooks check their settings', () => {
  assert.throws(() => validate({ every: 0 }), /validate: every must be a positive integer, got 0/);
  assert.throws(() => validate({ every: 2, saveImages: -1 }), /validate: saveImages must be a non-negative integer, got -1/);
  assert.throws(() => checkpoints({ every: 1.5 }), /checkpoints: every must be a positive integer, got 1\.5/);
  assert.throws(() => checkpoints({ every: 2, keepLast: 0 }), /checkpoints: keepLast/);
  assert.throws(() => jsonlLog({ every: -1 }), /jsonlLog: every/);
  assert.throws(() => tensorboard({ every: 0 }), /tensorboard: every/);
  assert.throws(() => progress({ every: 0 }), /progress: every/);
});

test('a setup is disposable: leaving its scope releases the model, optimiser state and EMA, and closes it', async () => {
  const before = tf.memory().numTensors;
  let closed = false;
  {
    const s = smallSetup({ run: { unit: 'iteration', length: 2 }, close: async () => void (closed = true) });
    // A copy made with a spread releases what the copy holds (here, also the EMA).
    await using setup = { ...s, ema: ema(s.model.params, { decay: 0.9 }) };
    await lastValueFrom(train(setup));
    assert.ok(tf.memory().numTensors > before);
  }
  assert.equal(tf.memory().numTensors, before);
  assert.ok(closed);
});

test('with an EMA, validation uses the averaged weights, checkpoints hold them, and resume stays exact', async () => {
  const { readSafetensors } = await import('../src/io/safetensors.ts');
  const make = (workDir: string) => {
    const s = smallSetup({ workDir, run: { unit: 'iteration', length: 8 } });
    return { ...s, ema: ema(s.model.params, { decay: 0.9 }) };
  };
  await using straight = make(tempDir());
  const a = steps(await lastValueFrom(train(straight).pipe(toArray())));
  const wd = tempDir();
  await using first = make(wd);
  const stop = new AbortController();
  const events = await lastValueFrom(train(first, { signal: stop.signal }).pipe(abortAt(4, stop), toArray()));
  const ckpt = (events.at(-2) as CheckpointEvent).path;
  assert.equal(ckpt, latestCheckpoint(path.join(wd, 'checkpoints')));
  const keys = Object.keys(readSafetensors(path.join(ckpt, 'optimizer.safetensors')).tensors);
  assert.ok(keys.some((k) => k.startsWith('ema/')) && keys.some((k) => k.startsWith('exp_avg.')), keys.slice(0, 4).join(','));
  await using second = make(wd);
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
});


test('fit() writes experiment.json, checkpoints and logs, returns a summary, releases everything; resume continues', async () => {
  const workDir = tempDir();
  const seen: string[] = [];
  const summary = await fit(tinyExperiment(6), { workDir, progress: false, hooks: [tap((e) => seen.push(e.type))] });
  assert.equal(summary.reason, 'completed');
  assert.equal(summary.iteration, 6);
  assert.equal(summary.name, 'fit-test');
  assert.equal(summary.workDir, workDir);
  assert.ok(Number.isFinite(summary.loss) && Number.isFinite(summary.psnr) && summary.ssim! > 0 && summary.seconds >= 0, JSON.stringify(summary));
  assert.equal(path.dirname(summary.checkpoint!), path.join(workDir, 'checkpoints'));
  assert.equal(JSON.parse(fs.readFileSync(path.join(workDir, 'experiment.json'), 'utf8')).model.innerChannels, 8);
  assert.deepEqual(fs.readdirSync(path.join(workDir, 'checkpoints')).sort(), ['best', 'iter_00000003', 'iter_00000006']);
  assert.ok(fs.existsSync(path.join(workDir, 'log.jsonl')));
  assert.ok(listEventFiles(path.join(workDir, 'tensorboard')).length > 0);
  assert.equal(seen.at(-1), 'end'); // the caller's hooks see the whole stream
  // Tensors created lazily on first use (kernel constants) exist by now: a second run's count is exact.
  const before = tf.memory().numTensors;
  const resumed = await fit(tinyExperiment(8), { workDir, resume: true, progress: false, tensorboard: false, jsonl: false });
  assert.equal(resumed.iteration, 8);
  assert.equal(readCheckpointState(path.join(workDir, 'checkpoints', 'iter_00000008')).iteration, 8);
  assert.equal(tf.memory().numTensors, before);
});

test('fit() stops through its signal or Ctrl-C with a checkpoint; a failed resume is a clear error', async () => {
  const stop = new AbortController();
  const stopped = await fit(tinyExperiment(6), { workDir: tempDir(), progress: false, signal: stop.signal, hooks: [abortAt(2, stop)] });
  assert.equal(stopped.reason, 'stopped');
  assert.equal(stopped.iteration, 2);
  assert.equal(path.basename(stopped.checkpoint!), 'iter_00000002');

  const listeners = process.listenerCount('SIGINT');
  const interrupted = await fit(tinyExperiment(6), {
    workDir: tempDir(),
    progress: false,
    handleSignals: true,
    hooks: [tap((e) => void (e.type === 'step' && e.iteration === 1 && process.emit('SIGINT')))],
  });
  assert.equal(interrupted.reason, 'stopped');
  assert.equal(interrupted.iteration, 1);
  assert.equal(process.listenerCount('SIGINT'), listeners);

  const empty = tempDir();
  await assert.rejects(fit(tinyExperiment(6), { workDir: empty, resume: true }), /resume: no checkpoint in .*checkpoints/);
});

test('fit() releases everything when a hook fails, after the loop has let go of the model', async () => {
  const before = tf.memory().numTensors;
  const failing = tap((e: TrainEvent) => {
    if (e.type === 'step' && e.iteration === 2) throw new Error('hook failed');
  });
  await assert.rejects(fit(tinyExperiment(6), { workDir: tempDir(), progress: false, hooks: [failing] }), /hook failed/);
  assert.equal(tf.memory().numTensors, before);
});

test("interpret(): a cosine without tMax spans the run, counted in the schedule's unit", async () => {
  // 8 training samples in batches of 2: 4 iterations per epoch; 3 epochs = 12 iterations.
  const exp = { ...tinyExperiment(6), run: { epochs: 3 }, schedule: schedules.cosine({ etaMin: 1e-5, stepEvery: 'iteration' }) };
  await using setup = await interpret(exp, { workDir: tempDir() });
  const want = cosine({ tMax: 12, etaMin: 1e-5 })(2e-3);
  for (let t = 0; t < 12; t++) assert.equal(setup.lr(t), want(t), `t=${t}`);
  await using perEpoch = await interpret({ ...exp, run: { iterations: 10 }, schedule: schedules.cosine({ stepEvery: 'epoch' }) }, { workDir: tempDir() });
  assert.equal(perEpoch.lr(2), cosine({ tMax: 3 })(2e-3)(2));
});
