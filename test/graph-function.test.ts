// Graph functions: traced tensor code replays what eager execution computes, with new inputs,
// list-argument ops and variable writes; code that cannot be replayed is refused cleanly (no
// tensor left behind, no random stream moved); training steps and deblurring run through them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { tf, type Scalar, type Tensor } from '../src/runtime/index.ts';
import { NotTraceable, graphFunctionsAvailable, traceGraphFunction } from '../src/runtime/graph-function.ts';
import { GraphCache } from '../src/runtime/graph-cache.ts';
import { Rng } from '../src/util/rng.ts';
import { train } from '../src/engine/train.ts';
import { trainStep } from '../src/engine/step.ts';
import { epochBatches } from '../src/data/loader.ts';
import { syntheticDataset } from '../src/data/synthetic.ts';
import { nafnet } from '../src/models/nafnet.ts';
import { stfan } from '../src/models/stfan.ts';
import { stfanRecurrent } from '../src/engine/strategies/stfan.ts';
import type { Strategy } from '../src/engine/strategy.ts';
import type { Model } from '../src/models/model.ts';
import { hem } from '../src/losses/index.ts';
import { interpret } from '../src/engine/interpret.ts';
import { experiment } from '../src/index.ts';
import type { StepEvent, TrainEvent, WarningEvent } from '../src/engine/events.ts';
import { smallSetup, tempDir, tinyExperiment } from './helpers/engine.ts';
import { cli } from './helpers/cli.ts';

const maxDiff = (a: readonly Tensor[], b: readonly Tensor[]): number => Math.max(...a.map((t, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(t, b[i]!))).dataSync()[0]!)));

test('graph functions are available on the native backend after setup', () => {
  assert.ok(graphFunctionsAvailable(), 'the binding lacks buildGraphFunction: run `npm run setup`');
});

test('a traced function computes what eager execution does, on new inputs, with list-argument ops', () => {
  const x = tf.randomUniform([3, 4], -1, 1, 'float32', 1);
  const w = tf.variable(tf.randomUniform([4, 4], -1, 1, 'float32', 2));
  const cached = tf.tensor1d([1, 2, 3, 4]); // made outside, not an input: frozen as a constant
  const fn = (a: Tensor) => () => [tf.concat([tf.relu(tf.matMul(a, w)), a], 1), tf.addN([a, a, tf.mul(a, cached)]), tf.stack([a, tf.neg(a)]), tf.sum(tf.square(a))];
  const g = traceGraphFunction(fn(x), [x, w]);
  assert.ok(g.opCount >= 8);
  const x2 = tf.randomUniform([3, 4], -1, 1, 'float32', 3);
  const before = tf.memory().numTensors;
  const got = g.run([x2, w]);
  assert.equal(tf.memory().numTensors, before + got.length);
  const want = tf.tidy(fn(x2));
  assert.deepEqual(got.map((t) => t.shape), want.map((t) => t.shape));
  assert.ok(maxDiff(got, want) < 1e-6);
  assert.throws(() => g.run([tf.zeros([2, 4]), w]), /input 0 is float32 \[2,4\], traced as float32 \[3,4\]/);
  tf.dispose([...got, ...want, x, x2, w, cached]);
  g.dispose();
});

test('variable writes: the trace leaves them as they were, each run makes them', () => {
  const v = tf.variable(tf.tensor1d([1, 2, 3]));
  const step = tf.tensor1d([10, 20, 30]);
  const g = traceGraphFunction(() => {
    v.assign(tf.add(v, step));
    return [tf.sum(v)];
  }, [v, step]);
  assert.deepEqual(Array.from(v.dataSync()), [1, 2, 3]);
  for (const want of [[11, 22, 33], [21, 42, 63]]) {
    const [s] = g.run([v, step]);
    assert.deepEqual(Array.from(v.dataSync()), want);
    assert.equal(s!.dataSync()[0], want.reduce((a, b) => a + b));
    s!.dispose();
  }
  tf.dispose([v, step]);
  g.dispose();
});

test('refusals name the reason and leave no tensor behind, also inside a gradient', () => {
  const x = tf.randomUniform([4, 4], 0, 1, 'float32', 4);
  const v = tf.variable(tf.randomUniform([4, 4], 0, 1, 'float32', 5));
  const other = tf.variable(tf.zeros([4]));
  const before = tf.memory().numTensors;
  const refused = (fn: () => Tensor[], inputs: Tensor[], message: RegExp) => {
    assert.throws(() => traceGraphFunction(fn, inputs), (e: Error) => e instanceof NotTraceable && message.test(e.message));
    assert.equal(tf.memory().numTensors, before, `tensors left behind by a trace refused with ${message}`);
  };
  const grads = (read: (y: Tensor) => void) => () => {
    const r = tf.variableGrads(() => {
      const y = tf.relu(tf.matMul(x, v));
      read(y);
      return tf.sum(y) as Scalar;
    }, [v]);
    return [r.value, r.grads[v.name]!];
  };
  refused(grads((y) => y.dataSync()), [x, v], /reads a tensor value/);
  refused(() => [tf.add(x, 1), tf.sum(other)], [x, v], new RegExp(`reads variable ${other.name}, which is not an input`));
  refused(() => {
    other.assign(tf.ones([4]));
    return [tf.add(x, 1)];
  }, [x, v], new RegExp(`writes variable ${other.name}, which is not an input`));
  assert.deepEqual(Array.from(other.dataSync()), [0, 0, 0, 0]);
  // The record is complete but TensorFlow's graph builder refuses it (a string constant).
  refused(() => [tf.reshape(tf.tensor1d(['a', 'b'], 'string'), [2, 1])], [x], /TensorFlow did not accept the traced graph: constant data must be a typed array/);
  tf.dispose([x, v, other]);
});

test('GraphCache: one function per input shape; a random draw is refused before the stream moves', () => {
  const cache = new GraphCache();
  const rng = Rng.seeded(7);
  const state = rng.state();
  const drawing = (a: Tensor) => () => ({ outputs: [tf.mul(a, rng.uniform(0, 1))], meta: null });
  const a = tf.ones([2, 2]);
  const first = cache.run('draw', [a], drawing(a));
  assert.ok('refused' in first && first.first && /draw draws random numbers in JavaScript/.test(first.refused));
  assert.deepEqual(rng.state(), state);
  const again = cache.run('draw', [a], drawing(a));
  assert.ok('refused' in again && !again.first);
  const sizes = [[2, 2], [3, 1], [2, 2]].map((shape) => {
    const t = tf.fill(shape, 2);
    const r = cache.run('double', [t], () => ({ outputs: [tf.mul(t, 2)], meta: shape.join('x') }));
    assert.ok(!('refused' in r));
    assert.deepEqual(Array.from(r.outputs[0]!.dataSync()), new Array(shape[0]! * shape[1]!).fill(4));
    tf.dispose([t, ...r.outputs]);
    return r.meta;
  });
  // The third call reuses the first shape's function: its meta is the one traced then.
  assert.deepEqual(sizes, ['2x2', '3x1', '2x2']);
  cache.dispose();
  a.dispose();
});

test("GraphCache with useTrace: the first call returns the trace's own result; a refused build leaves nothing behind", () => {
  const cache = new GraphCache({ useTrace: true });
  const t = tf.fill([2, 2], 3);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) {
    const r = cache.run('triple', [t], () => ({ outputs: [tf.mul(t, 3)], meta: null }));
    assert.ok(!('refused' in r));
    assert.deepEqual(Array.from(r.outputs[0]!.dataSync()), [9, 9, 9, 9]);
    tf.dispose(r.outputs);
  }
  const bad = cache.run('strings', [t], () => ({ outputs: [tf.reshape(tf.tensor1d(['a'], 'string'), [1, 1])], meta: null }));
  assert.ok('refused' in bad && /TensorFlow did not accept the traced graph/.test(bad.refused));
  assert.equal(tf.memory().numTensors, before);
  cache.dispose();
  t.dispose();
});

interface RunOptions {
  readonly model?: () => Model;
  readonly strategy?: Strategy;
  readonly frames?: number;
  readonly gtFrames?: number | 'all';
  readonly hem?: boolean;
  readonly iterations?: number;
}

/** Losses of `iterations` training steps of a tiny model, eagerly or as graph functions. */
async function losses(graph: boolean, opts: RunOptions = {}): Promise<{ losses: number[]; warnings: WarningEvent[]; buffers: number[] }> {
  await using setup = smallSetup({
    ...(opts.model ? { model: opts.model() } : {}),
    ...(opts.strategy ? { strategy: opts.strategy } : {}),
    train: syntheticDataset({ videos: 2, samplesPerVideo: 2, numFrames: opts.frames ?? 5, ...(opts.gtFrames ? { gtFrames: opts.gtFrames } : {}), height: 32, width: 32, seed: 3 }, 'train'),
    val: undefined,
    run: { unit: 'iteration', length: opts.iterations ?? 6 },
    ...(opts.hem ? { loss: [{ name: 'hem', weight: 1, fn: hem() }] } : {}),
    ...(graph ? { graphSteps: new GraphCache() } : {}),
  });
  const events: TrainEvent[] = await lastValueFrom(train(setup).pipe(toArray()));
  // A graph step leaves the tensor count as it was.
  const batch = (await epochBatches(setup.train, { batchSize: 2, shuffle: false, seed: 0, dropLast: true }, 0).next()).value!;
  const before = tf.memory().numTensors;
  trainStep(setup, batch, 1e-3, Rng.seeded(1));
  assert.equal(tf.memory().numTensors, before, 'a training step leaked tensors');
  return {
    losses: events.filter((e): e is StepEvent => e.type === 'step').map((e) => e.loss),
    warnings: events.filter((e): e is WarningEvent => e.type === 'warning'),
    buffers: Object.values(setup.model.buffers).flatMap((b) => Array.from(b.dataSync())),
  };
}

const relDiff = (a: readonly number[], b: readonly number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!) / Math.max(1e-12, Math.abs(v))));

test('training steps as graph functions follow eager training: DBN (BatchNorm statistics written) and NAFNet', async () => {
  const [eager, graph] = [await losses(false), await losses(true)];
  assert.equal(graph.warnings.length, 0, graph.warnings.map((w) => w.message).join('; '));
  // Float32 sums in another order, through BatchNorm over a batch of two: 4e-4 measured.
  assert.ok(relDiff(eager.losses, graph.losses) < 2e-3, `losses ${eager.losses} vs ${graph.losses}`);
  // The running statistics, relative to their largest value.
  const scale = Math.max(...eager.buffers.map(Math.abs));
  assert.ok(Math.max(...eager.buffers.map((v, i) => Math.abs(v - graph.buffers[i]!))) < 1e-3 * scale);
  const model = () => nafnet.create({ imgChannels: 3, width: 8, middleBlkNum: 1, encBlkNums: [1, 1], decBlkNums: [1, 1] }, 1);
  const [e2, g2] = [await losses(false, { model, frames: 1 }), await losses(true, { model, frames: 1 })];
  assert.ok(relDiff(e2.losses, g2.losses) < 1e-5, `losses ${e2.losses} vs ${g2.losses}`);
});

test('a recurrence (STFAN, one update per frame) runs each time step as a graph function, its carry included', async () => {
  const opts = { model: () => stfan.create({}, 1), strategy: stfanRecurrent, frames: 3, gtFrames: 'all' as const, iterations: 3 };
  const [eager, graph] = [await losses(false, opts), await losses(true, opts)];
  assert.equal(graph.warnings.length, 0);
  assert.ok(relDiff(eager.losses, graph.losses) < 1e-5, `losses ${eager.losses} vs ${graph.losses}`);
});

test('a step that draws random numbers (HEM loss) runs eagerly, says so once, and trains exactly as without graph', async () => {
  const [eager, graph] = [await losses(false, { hem: true, iterations: 3 }), await losses(true, { hem: true, iterations: 3 })];
  assert.deepEqual(graph.losses, eager.losses);
  assert.equal(graph.warnings.length, 1);
  assert.equal(graph.warnings[0]!.kind, 'graph');
  assert.match(graph.warnings[0]!.message, /graph: this step runs op by op, not as a graph function: step draws random numbers in JavaScript/);
});

test('the experiment key `graph` gives the setup its graph functions', async () => {
  const exp = experiment({ ...tinyExperiment(2), graph: true });
  await using setup = await interpret(exp, { workDir: tempDir() });
  assert.ok(setup.graphSteps instanceof GraphCache);
  await using plain = await interpret(tinyExperiment(2), { workDir: tempDir() });
  assert.equal(plain.graphSteps, undefined);
});

test('simdeblur deblur restores as graph functions what --eager restores op by op', async () => {
  const root = tempDir('simdeblur-graph-deblur-');
  const frames = path.join(root, 'seq');
  fs.mkdirSync(frames);
  const sharp = (await import('sharp')).default;
  for (let i = 0; i < 3; i++) {
    const px = Buffer.from(Array.from({ length: 40 * 24 * 3 }, (_, k) => (k * (7 + i) + i * 31) % 256));
    await sharp(px, { raw: { width: 40, height: 24, channels: 3 } }).png().toFile(path.join(frames, `f${i}.png`));
  }
  const outs = [];
  for (const mode of [[], ['--eager']]) {
    const out = path.join(root, `out${mode.length}`);
    const r = await cli(['deblur', frames, '--out', out, ...mode]);
    assert.equal(r.code, 0, r.err);
    outs.push(await Promise.all([0, 1, 2].map((i) => sharp(path.join(out, 'seq', `f${i}.png`)).raw().toBuffer())));
  }
  for (let i = 0; i < 3; i++) assert.ok(outs[0]![i]!.equals(outs[1]![i]!), `frame ${i} differs between graph and eager`);
});
