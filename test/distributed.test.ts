// Distributed data-parallel training on TensorFlow's collective runtime, over loopback: several
// worker processes per test (each loads TensorFlow), so the runs are tiny.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { readSafetensors } from '../src/io/safetensors.ts';
import { readJsonl } from '../src/io/jsonl.ts';
import { readCheckpointState } from '../src/engine/checkpoint.ts';
import { probeCollective } from '../src/setup/collective.ts';
import { bindingPath, packageDir } from '../src/setup/native.ts';
import { freePorts } from '../src/distributed/launcher.ts';
import { tempDir } from './helpers/engine.ts';

const NAFNET = 'test/fixtures/recipes/tiny-nafnet.ts';
const DBN = 'test/fixtures/recipes/tiny-dbn.ts';

// Without the binding built with collective ops (`simdeblur setup` could not build it) there is
// nothing to test here; the suite says so instead of failing.
const pkg = packageDir('@tensorflow/tfjs-node');
const unavailable = process.env.SIMDEBLUR_BACKEND === 'cpu' ? 'pure-JS backend' : pkg !== undefined && probeCollective(bindingPath(pkg)).ok ? false : 'the native binding has no collective ops (see simdeblur setup)';

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit status (or signal name) when the process has ended. */
  readonly exit: Promise<number | string>;
}

// A loaded test machine can keep one worker waiting for another for a while: a generous
// collective timeout, unless a test sets its own (the option wins over the environment).
function cli(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', ...args], { env: { ...process.env, SIMDEBLUR_COLLECTIVE_TIMEOUT: '60' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exit: once(child, 'close').then(([code, signal]) => (code ?? signal) as number | string),
  };
  child.stdout!.on('data', (c: Buffer) => (run.stdout += c));
  child.stderr!.on('data', (c: Buffer) => (run.stderr += c));
  return run;
}

/** Resolves once `pattern` has appeared in the stream's output so far (or rejects when the process ends first). */
function waitFor(run: Run, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(run[stream]);
      if (m) {
        run.child[stream]!.off('data', check);
        resolve(m);
      }
    };
    run.child[stream]!.on('data', check);
    run.exit.then(() => reject(new Error(`process ended before ${pattern} appeared:\n${run.stdout}\n${run.stderr}`)));
    check();
  });
}

const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!);
const weights = (dir: string) => readSafetensors(path.join(dir, 'weights.safetensors')).tensors;

test('NAFNet on two workers ends with the weights of one process training the same global batch', { skip: unavailable }, async () => {
  const [one, two] = [tempDir(), tempDir()];
  const single = cli([NAFNET, '--work-dir', one, '--quiet']);
  const dist = cli([NAFNET, '--work-dir', two, '--quiet', '--nproc', '2', '--check-every', '1']);
  assert.equal(await single.exit, 0, single.stderr);
  assert.equal(await dist.exit, 0, dist.stderr);
  const [s, d] = [lastJson(single.stdout), lastJson(dist.stdout)];
  assert.equal(d.iteration, 8);
  // Validation is sharded and gathered: every frame scored once, the same metrics.
  assert.ok(Math.abs(s.psnr - d.psnr) < 1e-3, `${s.psnr} vs ${d.psnr}`);
  const [a, b] = [weights(path.join(one, 'checkpoints', 'iter_00000008')), weights(path.join(two, 'checkpoints', 'iter_00000008'))];
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  let max = 0;
  for (const k of Object.keys(a)) {
    const [x, y] = [a[k]!.data as Float32Array, b[k]!.data as Float32Array];
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
  }
  assert.ok(max <= 1e-4, `max abs weight difference ${max}`);
  // Only rank 0 writes; the launcher names the workers.
  assert.match(dist.stderr, /\[launch\] rank 0: pid \d+, listening on 127\.0\.0\.1:\d+/);
  assert.match(dist.stderr, /\[launch\] rank 1: pid \d+, listening on 127\.0\.0\.1:\d+/);
  assert.equal(dist.stdout.trim().split('\n').filter((l) => l.startsWith('{')).length, 1);
});

test('DBN (BatchNorm) on two workers: the loss falls and the replicas stay identical at every step', { skip: unavailable }, async () => {
  const wd = tempDir();
  const r = cli([DBN, '--work-dir', wd, '--quiet', '--nproc', '2', '--check-every', '1', '--set', 'run.epochs=6', '--set', 'log.every=1']);
  assert.equal(await r.exit, 0, r.stderr);
  assert.equal(lastJson(r.stdout).iteration, 24);
  const losses = (readJsonl(path.join(wd, 'log.jsonl')) as Array<{ type: string; loss?: number }>).filter((e) => e.type === 'step').map((e) => e.loss!);
  assert.equal(losses.length, 24);
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  assert.ok(mean(losses.slice(-4)) < 0.8 * mean(losses.slice(0, 4)), `loss did not fall: ${losses.join(', ')}`);
  assert.doesNotMatch(r.stderr, /drifted/);
});

test('DBN with synchronised BatchNorm on two workers takes the step of one process on the global batch', { skip: unavailable }, async () => {
  // One plain SGD step with lr 1, so a weight's change is its gradient. Through BatchNorm over
  // 1×16 values per channel (the 4×4 stages of a 32×32 frame) float32 rounding is amplified to
  // ~0.1 % of the gradient whatever the code path (the fused op against tfjs ops differ as
  // much), so the updates are compared by their relative distance, against per-replica BatchNorm.
  const step = (lr: number) => ['--quiet', '--set', 'run={"iterations":1}', '--set', 'checkpoint.every=1', '--set', 'validation.every=1', '--set', `optimizer={"type":"sgd","lr":${lr}}`];
  const dirs = { initial: tempDir(), single: tempDir(), synced: tempDir(), perReplica: tempDir() };
  const runs = [
    cli([DBN, '--work-dir', dirs.initial, ...step(0)]),
    cli([DBN, '--work-dir', dirs.single, ...step(1)]),
    cli([DBN, '--work-dir', dirs.synced, ...step(1), '--set', 'syncBatchNorm=true', '--nproc', '2']),
  ];
  for (const r of runs) assert.equal(await r.exit, 0, r.stderr);
  const perReplica = cli([DBN, '--work-dir', dirs.perReplica, ...step(1), '--nproc', '2']);
  assert.equal(await perReplica.exit, 0, perReplica.stderr);
  const [w0, w1, ws, wp] = [dirs.initial, dirs.single, dirs.synced, dirs.perReplica].map((d) => weights(path.join(d, 'checkpoints', 'iter_00000001')));
  const params = Object.keys(w1!).filter((k) => !/running_|num_batches/.test(k));
  /** ‖update(run) - update(single)‖ / ‖update(single)‖ over all parameters. */
  const distance = (w: typeof w1) => {
    let [num, den] = [0, 0];
    for (const k of params) {
      const [a, b, c] = [w0![k]!.data, w1![k]!.data, w![k]!.data] as Float32Array[];
      for (let i = 0; i < a!.length; i++) [num, den] = [num + (c![i]! - b![i]!) ** 2, den + (b![i]! - a![i]!) ** 2];
    }
    return Math.sqrt(num / den);
  };
  const varianceGap = (w: typeof w1) => Math.max(...Object.keys(w1!).filter((k) => k.endsWith('running_var')).flatMap((k) => Array.from(w![k]!.data as Float32Array, (v, i) => Math.abs(v - (w1![k]!.data as Float32Array)[i]!))));
  const [synced, separate] = [distance(ws), distance(wp)];
  assert.ok(synced < 0.02, `synchronised: the update differs from one process's by ${synced} of its size`);
  assert.ok(separate > 0.2, `per-replica BatchNorm should take another step (${separate})`);
  assert.ok(varianceGap(ws) < 1e-5, `running variance differs by ${varianceGap(ws)}`);
  assert.ok(varianceGap(wp) > 1e-3, `per-replica running variance should differ (${varianceGap(wp)})`);
});

test('killing one of two workers ends the other with an error naming it; the last checkpoint resumes on one process', { skip: unavailable }, async () => {
  const wd = tempDir();
  const [p0, p1] = await freePorts(2);
  const cluster = `127.0.0.1:${p0},127.0.0.1:${p1}`;
  const common = [DBN, '--work-dir', wd, '--set', 'run.epochs=200', '--cluster', cluster, '--collective-timeout', '20'];
  const r0 = cli([...common, '--rank', '0']);
  const r1 = cli([...common, '--rank', '1', '--quiet']);
  await waitFor(r0, 'stdout', /checkpoint \(periodic\): \S+iter_00000016/);
  const [, pid] = await waitFor(r1, 'stderr', /\[launch\] rank 1: pid (\d+)/);
  const killed = Date.now();
  process.kill(Number(pid), 'SIGKILL');
  assert.equal(await r0.exit, 1);
  const seconds = (Date.now() - killed) / 1000;
  assert.ok(seconds < 60, `rank 0 took ${seconds} s to stop`);
  assert.match(r0.stderr, new RegExp(`training failed: distributed training failed in all-reduce #\\d+ on rank 0 of 2 \\(127\\.0\\.0\\.1:${p0}\\): rank 1 at 127\\.0\\.0\\.1:${p1} is not answering`));
  assert.notEqual(await r1.exit, 0);
  assert.match(r1.stderr, /\[launch\] rank 1 \(127\.0\.0\.1:\d+\) was killed by SIGKILL/);

  // The newest checkpoint is complete and continues on a single process.
  const ckpts = fs.readdirSync(path.join(wd, 'checkpoints')).filter((d) => d.startsWith('iter_')).sort();
  const last = readCheckpointState(path.join(wd, 'checkpoints', ckpts.at(-1)!));
  assert.ok(last.iteration >= 16);
  const resumed = cli([DBN, '--work-dir', wd, '--quiet', '--resume', '--nproc', '1', '--set', `run.epochs=${last.epoch + 1}`]);
  assert.equal(await resumed.exit, 0, resumed.stderr);
  assert.equal(lastJson(resumed.stdout).iteration, (last.epoch + 1) * 4);
});

test('a worker whose peer never comes stops after the join timeout, naming the peer', { skip: unavailable }, async () => {
  const [p0, p1] = await freePorts(2);
  const t0 = Date.now();
  const r = cli([DBN, '--work-dir', tempDir(), '--quiet', '--cluster', `127.0.0.1:${p0},127.0.0.1:${p1}`, '--rank', '0', '--join-timeout', '3']);
  assert.equal(await r.exit, 1);
  assert.ok(Date.now() - t0 < 60_000);
  assert.match(r.stderr, new RegExp(`rank 1 at 127\\.0\\.0\\.1:${p1} cannot be reached`));
});

test('with --nproc, the launcher stops the other workers when one dies and exits with an error naming it', { skip: unavailable }, async () => {
  const r = cli([DBN, '--work-dir', tempDir(), '--nproc', '2', '--set', 'run.epochs=200']);
  const [, pid] = await waitFor(r, 'stderr', /\[launch\] rank 1: pid (\d+)/);
  await waitFor(r, 'stdout', /iter 4\/800/); // mid-run
  const killed = Date.now();
  process.kill(Number(pid), 'SIGKILL');
  assert.equal(await r.exit, 1);
  assert.ok(Date.now() - killed < 60_000);
  assert.match(r.stderr, /\[launch\] rank 1 \(127\.0\.0\.1:\d+\) was killed by SIGKILL; stopping rank 0/);
});
