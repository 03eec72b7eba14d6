import { test } from 'node:test';
import { registeredTypes } from '../src/config/registry.ts';
import assert from 'node:assert/strict';
import { isLeft, isRight, type Either } from 'fp-ts/lib/Either.js';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../src/runtime/index.ts';
import { ParamStore } from '../src/nn/params.ts';
import { conv2dLayer } from '../src/nn/layers.ts';
import { makeModel, countParams } from '../src/models/model.ts';
import { Rng } from '../src/util/rng.ts';
import {
  Bool,
  buildComponent,
  decodeExperiment,
  defineComponent,
  experiment,
  losses,
  models,
  optim,
  PositiveInt,
  schedules,
  baseLr,
  stepUnit,
  strict,
  term,
  type Experiment,
  type ExperimentInput,
  workDirOf,
} from '../src/index.ts';

function errorsOf<A>(r: Either<string[], A>): string[] {
  assert.ok(isLeft(r), `expected a failure, got ${JSON.stringify(r)}`);
  return r.left;
}
function valueOf<A>(r: Either<string[], A>): A {
  assert.ok(isRight(r), `expected success, got ${JSON.stringify(r)}`);
  return r.right;
}

// Datasets are registered by the layers above; a stand-in for these tests.
const frames = defineComponent({
  kind: 'dataset',
  type: 'testFrames',
  codec: strict({ count: PositiveInt }),
  defaults: { count: 4 },
  build: (s, ctx: { prefix: string }) => Array.from({ length: s.count }, (_, i) => `${ctx.prefix}${i}`),
});

const input: ExperimentInput = {
  name: 'dbn-small',
  data: { train: frames(), batchSize: 2 },
  model: models.dbn({ innerChannels: 8 }),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 2e-4, betas: [0.9, 0.99] }),
  schedule: schedules.multiStep({ milestones: [500, 600, 620] }),
  run: { epochs: 651 },
  validation: { every: 5 },
  checkpoint: { every: 10 },
};

const withKey = (path: string[], v: unknown): unknown => {
  const copy = structuredClone(input) as unknown as Record<string, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[path[path.length - 1]!] = v;
  return copy;
};

test('experiment() fills every default', () => {
  const e = experiment(input);
  const expected: Experiment = {
    name: 'dbn-small',
    seed: 0,
    data: { train: { type: 'testFrames', count: 4 }, batchSize: 2, valBatchSize: 1, workers: 0, augment: [] },
    model: { type: 'dbn', numFrames: 5, inChannels: 3, innerChannels: 8, zeroInitResidual: false },
    loss: { terms: [{ weight: 1, loss: { type: 'charbonnier', eps: 1e-6, reduction: 'sumOverBatch' } }] },
    optimizer: { type: 'adam', lr: 2e-4, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0, amsgrad: false },
    schedule: { type: 'multiStep', milestones: [500, 600, 620], gamma: 0.1, stepEvery: 'epoch' },
    run: { epochs: 651 },
    validation: { every: 5, saveImages: 0 },
    checkpoint: { every: 10, keepLast: 3, keepBest: true },
    log: { every: 10 },
  };
  assert.deepEqual(e, expected);
  // Left out entirely: a constant schedule.
  const { schedule: _, ...noSchedule } = input;
  assert.deepEqual(experiment(noSchedule).schedule, { type: 'constant', stepEvery: 'epoch' });
  assert.deepEqual(experiment({ ...input, ema: {}, workDir: 'runs/x' }).ema, { decay: 0.999 });
  assert.equal(experiment({ ...input, workDir: 'runs/x' }).workDir, 'runs/x');
  assert.equal(workDirOf(e), 'work_dirs/dbn-small');
});

test('an experiment extends another without casts; component specs keep their types', () => {
  // `input` is typed ExperimentInput (any model); a combinator's spec keeps its own type.
  const base = experiment({ ...input, model: models.dbn({ innerChannels: 8 }) });
  // Type-checked: the model spec of a DBN has a numeric innerChannels.
  const channels: number = base.model.innerChannels;
  assert.equal(channels, 8);
  const longer = experiment({ ...base, name: 'dbn-longer', run: { iterations: 100 } });
  const frames: number = longer.model.numFrames;
  assert.equal(frames, 5);
  assert.deepEqual(longer.run, { iterations: 100 });
  // The work directory follows the new name: a default is not stored in the value.
  assert.equal(workDirOf(longer), 'work_dirs/dbn-longer');
  // @ts-expect-error a DBN has no width
  assert.equal(base.model.width, undefined);
  // Decoding is idempotent, so an extension equals the same experiment written out.
  assert.deepEqual(longer, experiment({ ...input, name: 'dbn-longer', run: { iterations: 100 } }));
});

test('combinators fill defaults of the built-in components', () => {
  assert.deepEqual(models.nafnet({ width: 64, encBlkNums: [1, 1, 1, 28], decBlkNums: [1, 1, 1, 1] }), {
    type: 'nafnet', imgChannels: 3, width: 64, middleBlkNum: 1, encBlkNums: [1, 1, 1, 28], decBlkNums: [1, 1, 1, 1],
  });
  assert.deepEqual(losses.hem(), { type: 'hem', hardThreP: 0.5, randomThreP: 0.1 });
  assert.deepEqual(optim.adamw(), { type: 'adamw', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false });
  assert.deepEqual(optim.sgd({ lr: 0.1, momentum: 0.9, nesterov: true }), { type: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 0 });
  assert.deepEqual(schedules.warmupCosineRestart({ tPeriod: [300, 351], restarts: [300], stepEvery: 'iteration' }), {
    type: 'warmupCosineRestart', tPeriod: [300, 351], restarts: [300], weights: [1], warmupEpochs: 10, warmupInitLr: 1e-6, etaMin: 1e-8, stepEvery: 'iteration',
  });
  assert.deepEqual(term(losses.l1(), 0.5), { weight: 0.5, loss: { type: 'l1' } });
  assert.equal(baseLr(optim.adam({ lr: 2e-4 })), 2e-4);
  assert.equal(stepUnit(schedules.cosine({ tMax: 10, stepEvery: 'iteration' })), 'iteration');
});

// Checked by `tsc --noEmit`: an expected error that does not occur fails the type check.
function combinatorTypeErrors(): void {
  // @ts-expect-error a misspelt parameter
  models.dbn({ innerChanels: 3 });
  // @ts-expect-error milestones has no default
  schedules.multiStep();
  // @ts-expect-error lr is a number
  optim.adam({ lr: '1e-3' });
  // @ts-expect-error not one of the reductions
  losses.charbonnier({ reduction: 'avg' });
  // @ts-expect-error a default of the wrong type
  defineComponent({ kind: 'strategy', type: 'typesOnly', codec: strict({ n: PositiveInt }), defaults: { n: 'x' }, build: () => 0 });
}

test('decoded experiments survive a JSON round trip and decode to themselves', () => {
  const e = experiment({ ...input, loss: { terms: [term(losses.mse()), { weight: 0.01, loss: losses.l1() }] }, ema: { decay: 0.99 }, clipGradNorm: 1 });
  const back = JSON.parse(JSON.stringify(e)) as unknown;
  assert.deepEqual(back, e);
  assert.deepEqual(valueOf(decodeExperiment(back)), e);
  assert.deepEqual(e.loss.terms.map((x) => x.weight), [1, 0.01]);
});

test('an unknown component type lists the registered ones', () => {
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['model'], { type: 'dbm' }))), [`model.type: expected one of ${registeredTypes('model').join(', ')}, got "dbm" (did you mean dbn?)`]);
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['loss'], { terms: [{ loss: { type: 'l2' } }] }))), [
    `loss.terms.0.loss.type: expected one of ${registeredTypes('loss').join(', ')}, got "l2" (did you mean l1?)`,
  ]);
});

test('misspelt keys, wrong types and out-of-range values are reported with their paths', () => {
  const model = (extra: object): unknown => withKey(['model'], { ...models.dbn(), ...extra });
  assert.deepEqual(errorsOf(decodeExperiment(model({ innerChannels: '64' }))), ['model.innerChannels: expected positive integer, got "64"']);
  assert.deepEqual(errorsOf(decodeExperiment(model({ innerChanels: 32 }))), ['model.innerChanels: unknown key (did you mean innerChannels?)']);
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['optimizer', 'lrr'], 1))), ['optimizer.lrr: unknown key (did you mean lr?)']);
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['optimizer', 'betas'], [0.9, 1]))), ['optimizer.betas.1: expected number in [0, 1), got 1']);
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['data', 'batchSize'], 0))), ['data.batchSize: expected positive integer, got 0']);
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['ema'], { decay: 1.5 }))), ['ema.decay: expected number in [0, 1], got 1.5']);
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['checkpoint'], { every: 10, keep_last: 2 }))), ['checkpoint.keep_last: unknown key (did you mean keepLast?)']);
  // The original's configs put some loss options where its code never reads them; such keys are
  // rejected here, not ignored.
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['loss'], { terms: [term(losses.hem())], hard_thre_p: 0.5 }))), ['loss.hard_thre_p: unknown key']);
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['nmae'], 'x'))), ['nmae: unknown key (did you mean name?)']);
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['loss'], { terms: [] }))), ['loss.terms: expected at least one term, got []']);
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['loss'], 'l1'))), ['loss: expected a loss spec (an object with a type) or { terms: [{ weight, loss }] }, got "l1"']);
  assert.deepEqual(errorsOf(decodeExperiment(5)), ['expected experiment, got 5']);
});

test('run needs exactly one of epochs and iterations; required sections are named', () => {
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['run'], {}))), ['run: expected exactly one of epochs, iterations, got neither']);
  assert.deepEqual(errorsOf(decodeExperiment(withKey(['run'], { epochs: 1, iterations: 10 }))), ['run: expected exactly one of epochs, iterations, got both']);
  assert.equal(experiment({ ...input, run: { iterations: 1000 } }).run.iterations, 1000);
  assert.deepEqual(errorsOf(decodeExperiment({ name: 'x' })), [
    'data.train: missing required key (expected dataset spec)',
    'data.batchSize: missing required key (expected positive integer)',
    'model: missing required key (expected model spec)',
    'loss: missing required key (expected loss spec or { terms })',
    'optimizer: missing required key (expected optimizer spec)',
    'run: missing required key (expected { epochs } or { iterations })',
    'validation.every: missing required key (expected positive integer)',
    'checkpoint.every: missing required key (expected positive integer)',
  ]);
});

test('cross-field constraints of components', () => {
  assert.throws(() => models.nafnet({ encBlkNums: [1, 1], decBlkNums: [1] }), {
    message: 'invalid model spec nafnet:\n  nafnet.decBlkNums: expected 2 stages like encBlkNums, got 1',
  });
  assert.throws(() => models.dbn({ inChannels: 4 }), { message: 'invalid model spec dbn:\n  dbn.inChannels: expected 1 or 3, got 4' });
  assert.throws(() => optim.sgd({ nesterov: true }), { message: 'invalid optimizer spec sgd:\n  sgd.nesterov: requires momentum > 0 and dampening = 0' });
  assert.throws(() => schedules.cosineRestart({ tPeriod: [10], restarts: [5, 3], weights: [1, 1] }), {
    message:
      'invalid schedule spec cosineRestart:\n  cosineRestart.restarts.1: expected a value above 5 (restarts must be strictly increasing), got 3\n' +
      '  cosineRestart.tPeriod: expected at least 3 periods (one before the first restart and one after each), got 1',
  });
  assert.throws(() => schedules.warmupMultiStep({ milestones: [5, 5], warmupEpochs: 1 }), {
    message: 'invalid schedule spec warmupMultiStep:\n  warmupMultiStep.warmupEpochs: expected integer > 1, got 1',
  });
});

test('built-in builders make live objects', () => {
  const before = tf.memory().numTensors;
  const model = buildComponent('model', models.dbn({ innerChannels: 4 }), { seed: 3 });
  assert.equal(countParams(model) > 0, true);
  assert.ok('F0.0.weight' in model.params);
  model.dispose();
  const mse = buildComponent('loss', losses.mse());
  const hem = buildComponent('loss', losses.hem());
  const gt = tf.zeros([1, 4, 4, 3]);
  const pred = tf.fill([1, 4, 4, 3], 0.5);
  const after = tf.memory().numTensors;
  const l = mse(gt, pred);
  assert.ok(Math.abs(l.dataSync()[0]! - 0.25) < 1e-7);
  const h = hem(gt, pred, Rng.seeded(1));
  assert.throws(() => hem(gt, pred), /hem: needs a random stream/);
  assert.ok(h.dataSync()[0]! > 0);
  tf.dispose([l, h]);
  assert.equal(tf.memory().numTensors, after);
  tf.dispose([gt, pred]);
  assert.equal(tf.memory().numTensors, before);
  const opt = buildComponent('optimizer', optim.sgd({ lr: 0.1, momentum: 0.9 }));
  assert.equal(opt.kind, 'sgd');
  opt.dispose();
  const lr = buildComponent('schedule', schedules.multiStep({ milestones: [2, 4], gamma: 0.5 }), { baseLr: 1 });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(lr), [1, 1, 0.5, 0.5, 0.25, 0.25]);
  assert.deepEqual(buildComponent<string[]>('dataset', frames({ count: 2 }), { prefix: 'f' }), ['f0', 'f1']);
  // Specs are decoded before building: defaults filled, errors thrown with their paths.
  assert.throws(() => buildComponent('schedule', { type: 'multiStep' }, { baseLr: 1 }), {
    message: 'invalid schedule spec:\n  schedule.milestones: missing required key (expected array of non-negative integer)',
  });
});

test('a model defined in user code is accepted in an experiment and built', () => {
  // Everything a user writes to add a model: one definition, in one file.
  const tinyNet = defineComponent({
    kind: 'model',
    type: 'tinyNet',
    codec: strict({ channels: PositiveInt }, { residual: Bool }),
    defaults: { channels: 3 },
    build: (spec, { seed }) => {
      const store = new ParamStore(seed);
      const conv = conv2dLayer(store.root().child('conv'), { inChannels: spec.channels, outChannels: spec.channels, kernelSize: 3, padding: 1 });
      return makeModel('tinyNet', store, (p, x) => {
        const y = conv(p, x as Tensor);
        return spec.residual === true ? tf.add(x as Tensor, y) : y;
      });
    },
    describe: 'one 3x3 convolution',
  });
  const e = experiment({ ...input, model: tinyNet({ residual: true }) });
  assert.deepEqual(e.model, { type: 'tinyNet', channels: 3, residual: true });
  assert.deepEqual(valueOf(decodeExperiment(JSON.parse(JSON.stringify(e)))), e);
  assert.deepEqual(errorsOf(decodeExperiment({ ...e, model: { type: 'tinyNet', chanels: 3 } })), ['model.chanels: unknown key (did you mean channels?)']);
  assert.deepEqual(errorsOf(decodeExperiment({ ...e, model: { type: 'tinyNt' } })), [`model.type: expected one of ${registeredTypes('model').join(', ')}, got "tinyNt" (did you mean tinyNet?)`]);
  const model = buildComponent('model', e.model, { seed: 1 });
  const x = tf.ones([1, 4, 4, 3]);
  const y = model.apply(model.params, x, { training: false }) as Tensor;
  assert.deepEqual(y.shape, [1, 4, 4, 3]);
  tf.dispose([x, y]);
  model.dispose();
});
