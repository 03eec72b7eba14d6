// Distributed training rows (`simdeblur bench --only distributed`): all-reduce throughput over
// loopback between two worker processes for 1M-64M float32 values, and the per-step cost of
// data parallelism for DBN and NAFNet-w32: one process training a per-replica batch, against
// two processes each training such a batch with gradients all-reduced. The workers are this
// module run as a script (started through the launcher, so exactly as `train --nproc 2` runs).
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { tf } from '../runtime/index.ts';
import { dbn } from '../models/dbn.ts';
import { nafnet } from '../models/nafnet.ts';
import type { Model } from '../models/model.ts';
import { adam } from '../optim/adam.ts';
import { charbonnier } from '../losses/index.ts';
import { singleScale } from '../engine/strategy.ts';
import { trainSetup } from '../engine/setup.ts';
import { trainStep } from '../engine/step.ts';
import type { Replicas } from '../engine/replicas.ts';
import type { Collective } from '../distributed/collective.ts';
import { allReduceFlat, BUCKET_VALUES } from '../distributed/replicas.ts';
import type { Batch } from '../data/loader.ts';
import { Rng } from '../util/rng.ts';
import { median } from './timing.ts';
import { round } from './conv.ts';

const SELF = fileURLToPath(import.meta.url);
const WORKER_FLAG = '--distributed-bench-worker';

/** A model of the step rows and the input one replica trains on per step. */
interface StepCase {
  readonly name: string;
  readonly build: () => Model;
  /** `[B, T, H, W, C]` of one replica's batch (T = 1 for image models). */
  readonly input: readonly [number, number, number, number, number];
  readonly gtFrames: number;
}

const STEP_CASES: readonly StepCase[] = [
  { name: 'dbn', build: () => dbn.create({ numFrames: 5, inChannels: 3, innerChannels: 64 }, 0), input: [1, 5, 64, 64, 3], gtFrames: 1 },
  { name: 'nafnet-w32', build: () => nafnet.create({ imgChannels: 3, width: 32, middleBlkNum: 1, encBlkNums: [1, 1, 1, 28], decBlkNums: [1, 1, 1, 1] }, 0), input: [1, 1, 64, 64, 3], gtFrames: 1 },
];

const ALLREDUCE_FLOATS = [1 << 20, 1 << 22, 1 << 24, 1 << 26];

/** One row per line on stdout (rank 0 prints them). */
function emit(row: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

function timeRuns(runs: number, fn: () => void): number {
  fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Each size as one collective, and in the pieces training sends (BUCKET_VALUES each). */
async function allReduceWorker(join: () => Promise<Collective>, runs: number): Promise<void> {
  const c = await join();
  for (const n of ALLREDUCE_FLOATS) {
    for (const bucket of n > BUCKET_VALUES ? [n, BUCKET_VALUES] : [n]) {
      const x = tf.fill([n], c.rank + 1);
      const ms = timeRuns(n >= 1 << 26 ? Math.min(runs, 2) : runs, () => {
        const y = allReduceFlat(c, x, 'mean', bucket);
        y.dataSync();
        y.dispose();
      });
      x.dispose();
      const row = { bench: 'distributed-allreduce', workers: c.size, floats: n, mb: round((n * 4) / 1e6), pieces: Math.ceil(n / bucket), ms: round(ms), mbPerSec: round((n * 4) / 1e6 / (ms / 1000)) };
      if (c.rank === 0) emit(row);
    }
  }
}

function syntheticBatch(c: StepCase): Batch {
  const [b, t, h, w, ch] = c.input;
  const rng = Rng.seeded(1);
  const input = Float32Array.from({ length: b * t * h * w * ch }, () => rng.next());
  const gt = Float32Array.from({ length: b * c.gtFrames * h * w * ch }, () => rng.next());
  return { input, inputShape: c.input, gt, gtShape: [b, c.gtFrames, h, w, ch], samples: Array.from({ length: b }, (_, i) => ({ video: 'bench', frames: [String(i)] })) };
}

/** Times training steps of `c` with the given replicas (none: one process); rank 0 emits a row. */
async function stepWorker(c: StepCase, replicas: Replicas | undefined, runs: number): Promise<void> {
  const model = c.build();
  await using setup = trainSetup({
    experiment: {},
    name: `bench-${c.name}`,
    seed: 0,
    workDir: '',
    model,
    strategy: singleScale,
    loss: [{ name: 'charbonnier', weight: 1, fn: charbonnier({ reduction: 'mean' }) }],
    optimizer: adam(),
    lr: () => 1e-4,
    lrUnit: 'iteration',
    train: { name: 'bench', length: 0, get: () => Promise.reject(new Error('unused')) },
    batchSize: c.input[0] * (replicas?.size ?? 1),
    valBatchSize: 1,
    run: { unit: 'iteration', length: 1 },
    ...(replicas ? { replicas } : {}),
  });
  const batch = syntheticBatch(c);
  const stepMs = timeRuns(runs, () => trainStep(setup, batch, 1e-4, Rng.seeded(0)));
  const params = Object.values(model.params);
  const floats = params.reduce((a, p) => a + p.size, 0);
  const row: Record<string, unknown> = { bench: 'distributed-step', model: c.name, workers: replicas?.size ?? 1, perReplicaInput: c.input, params: floats, stepMs: round(stepMs) };
  const grads = params.map((p) => tf.zerosLike(p));
  if (replicas) {
    // The collective alone: the step's gradients (and loss) in one all-reduce.
    row.allReduceMs = round(timeRuns(runs, () => tf.dispose(replicas.mean(grads))));
  } else {
    // What a separate addon with its own context would add at least: reading the gradients
    // out of tfjs and handing the reduced ones back as new tensors.
    row.readbackUploadMs = round(
      timeRuns(runs, () => {
        const flat = tf.concat(grads.map((g) => g.reshape([-1])));
        const host = flat.dataSync() as Float32Array;
        const back = tf.tensor1d(host);
        back.dataSync();
        tf.dispose([flat, back]);
      }),
    );
  }
  tf.dispose(grads);
  if (!replicas || replicas.rank === 0) emit(row);
}

/** The worker side: `node distributed.ts --distributed-bench-worker MODE [MODEL] RUNS`. */
async function workerMain(args: string[]): Promise<void> {
  const [mode, a, b] = args;
  const join = async () => {
    const { distribution, collectiveSettings } = await import('../distributed/cluster.ts');
    const { joinCluster } = await import('../distributed/worker.ts');
    const d = distribution({}, process.env);
    if (d.kind !== 'cluster') throw new Error('distributed bench worker started without SIMDEBLUR_CLUSTER / SIMDEBLUR_RANK');
    return joinCluster(d.spec, collectiveSettings({}, process.env), { bench: mode });
  };
  if (mode === 'allreduce') {
    await allReduceWorker(async () => (await join()).collective, Number(a));
  } else if (mode === 'step' || mode === 'step-single') {
    const c = STEP_CASES.find((s) => s.name === a);
    if (!c) throw new Error(`no distributed step case '${a}'`);
    await stepWorker(c, mode === 'step' ? (await join()).replicas : undefined, Number(b));
  } else {
    throw new Error(`unknown distributed bench mode '${mode}'`);
  }
}

/** The command that runs this module as a worker (TypeScript sources through tsx). */
function workerCommand(args: readonly string[]): [string, ...string[]] {
  return [process.execPath, ...(SELF.endsWith('.ts') ? ['--import', 'tsx'] : []), SELF, WORKER_FLAG, ...args];
}

/** Runs workers through the launcher and returns the JSON rows rank 0 printed. */
async function runWorkers(args: readonly string[], nproc: number): Promise<Array<Record<string, unknown>>> {
  const { launch, loopbackCluster } = await import('../distributed/launcher.ts');
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) => new Writable({ write: (c, _e, cb) => (add(String(c)), cb()) });
  const addresses = await loopbackCluster(nproc);
  // A 256 MB all-reduce on a busy small machine can take far longer than a training step's.
  const env = { SIMDEBLUR_COLLECTIVE_TIMEOUT: '600' };
  const status = await launch({ addresses, ranks: addresses.map((_, r) => r), command: workerCommand(args), env, stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
  if (status !== 0) throw new Error(`distributed bench workers (${args.join(' ')}) failed with status ${status}:\n${err.split('\n').slice(-15).join('\n')}`);
  return out
    .split('\n')
    .filter((l) => l.startsWith('{"bench"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs this module as one process (no cluster) and returns its rows. */
async function runSingle(args: readonly string[]): Promise<Array<Record<string, unknown>>> {
  const { spawn } = await import('node:child_process');
  const [cmd, ...rest] = workerCommand(args);
  const child = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (err += c));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`distributed bench (${args.join(' ')}) failed with status ${code}:\n${err.split('\n').slice(-15).join('\n')}`);
  return out
    .split('\n')
    .filter((l) => l.startsWith('{"bench"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * The distributed rows: all-reduce throughput (two workers) and, per model, the step at one and
 * at two workers with the difference as `overheadMs`. Each configuration runs in fresh processes.
 */
export async function* distributedRows(opts: { runs?: number; models?: readonly string[] } = {}): AsyncGenerator<Record<string, unknown>> {
  const runs = opts.runs ?? 3;
  yield* await runWorkers(['allreduce', String(runs)], 2);
  for (const c of STEP_CASES) {
    if (opts.models && !opts.models.includes(c.name)) continue;
    const [one] = await runSingle(['step-single', c.name, String(runs)]);
    const [two] = await runWorkers(['step', c.name, String(runs)], 2);
    yield one!;
    yield { ...two!, overheadMs: round((two!.stepMs as number) - (one!.stepMs as number)) };
  }
}

if (process.argv[1] === SELF && process.argv[2] === WORKER_FLAG) {
  workerMain(process.argv.slice(3)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
