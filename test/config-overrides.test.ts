import { test } from 'node:test';
import { registeredTypes } from '../src/config/registry.ts';
import assert from 'node:assert/strict';
import { isLeft, isRight, type Either } from 'fp-ts/lib/Either.js';
import { applyOverrides, decodeExperiment, overrideExperiment, parseOverride } from '../src/config/overrides.ts';
import { defineComponent, experiment, losses, models, optim, PositiveInt, strict, workDirOf } from '../src/index.ts';

function errorsOf<A>(r: Either<string[], A>): string[] {
  assert.ok(isLeft(r), `expected a failure, got ${JSON.stringify(r)}`);
  return r.left;
}
function valueOf<A>(r: Either<string[], A>): A {
  assert.ok(isRight(r), `expected success, got ${JSON.stringify(r)}`);
  return r.right;
}

const images = defineComponent({ kind: 'dataset', type: 'testImages', codec: strict({ count: PositiveInt }), defaults: { count: 2 }, build: () => null });

const base = experiment({
  name: 'base',
  data: { train: images(), batchSize: 4 },
  model: models.dbn({ innerChannels: 16 }),
  loss: { terms: [{ weight: 1, loss: losses.l1() }] },
  optimizer: optim.adam({ lr: 1e-4 }),
  run: { iterations: 100 },
  validation: { every: 50 },
  checkpoint: { every: 50 },
});

test('override values are JSON when they parse, raw strings otherwise', () => {
  const value = (s: string): unknown => {
    const r = parseOverride(s);
    assert.ok(isRight(r));
    return r.right.value;
  };
  assert.equal(value('a=32'), 32);
  assert.equal(value('a=1e-4'), 1e-4);
  assert.equal(value('a=true'), true);
  assert.deepEqual(value('a=[1,2]'), [1, 2]);
  assert.deepEqual(value('a={"type":"l1"}'), { type: 'l1' });
  assert.equal(value('a="64"'), '64');
  assert.equal(value('a=nafnet'), 'nafnet');
  assert.equal(value('a=x=y'), 'x=y');
  assert.equal(value('a='), '');
  const r = parseOverride('model.innerChannels=8');
  assert.ok(isRight(r));
  assert.deepEqual(r.right.path, ['model', 'innerChannels']);
});

test('good overrides change the value and re-decode it', () => {
  const e = valueOf(overrideExperiment(base, ['model.innerChannels=32', 'optimizer.betas=[0.5,0.9]', 'loss.terms.0.weight=0.5', 'seed=7']));
  assert.equal(e.model['innerChannels'], 32);
  assert.deepEqual(e.optimizer['betas'], [0.5, 0.9]);
  assert.equal(e.loss.terms[0]!.weight, 0.5);
  assert.equal(e.seed, 7);
  // The input is not modified.
  assert.equal(base.model['innerChannels'], 16);
  assert.equal(base.seed, 0);
});

test('overrides add keys, sections and array elements; replace whole components', () => {
  const e = valueOf(overrideExperiment(base, ['ema.decay=0.99', 'loss.terms.1={"weight":0.1,"loss":{"type":"mse"}}', 'model={"type":"nafnet","width":8}']));
  assert.deepEqual(e.ema, { decay: 0.99 });
  assert.deepEqual(e.loss.terms[1], { weight: 0.1, loss: { type: 'mse' } });
  assert.deepEqual(e.model, { type: 'nafnet', imgChannels: 3, width: 8, middleBlkNum: 1, encBlkNums: [], decBlkNums: [] });
});

test('workDir follows an overridden name unless it was set explicitly', () => {
  assert.equal(workDirOf(valueOf(overrideExperiment(base, ['name=other']))), 'work_dirs/other');
  // An experiment.json written with its default work directory filled in moves along too.
  assert.equal(workDirOf(valueOf(overrideExperiment({ ...base, workDir: 'work_dirs/base' }, ['name=other']))), 'work_dirs/other');
  assert.equal(workDirOf(valueOf(overrideExperiment({ ...base, workDir: 'runs/base' }, ['name=other']))), 'runs/base');
  assert.equal(workDirOf(valueOf(overrideExperiment(base, ['name=other', 'workDir=/tmp/w']))), '/tmp/w');
});

test('a misspelt override path fails after decoding, naming the key and the closest one', () => {
  assert.deepEqual(errorsOf(overrideExperiment(base, ['model.innerChanels=32'])), ['model.innerChanels: unknown key (did you mean innerChannels?)']);
  assert.deepEqual(errorsOf(overrideExperiment(base, ['optimizer.lrr=1e-3'])), ['optimizer.lrr: unknown key (did you mean lr?)']);
  assert.deepEqual(errorsOf(overrideExperiment(base, ['model.type=dbm'])), [`model.type: expected one of ${registeredTypes('model').join(', ')}, got "dbm" (did you mean dbn?)`]);
});

test('a bad override value is reported with its path and the expected type', () => {
  assert.deepEqual(errorsOf(overrideExperiment(base, ['model.innerChannels="64"'])), ['model.innerChannels: expected positive integer, got "64"']);
  assert.deepEqual(errorsOf(overrideExperiment(base, ['model.innerChannels=abc'])), ['model.innerChannels: expected positive integer, got "abc"']);
  assert.deepEqual(errorsOf(overrideExperiment(base, ['run.epochs=10'])), ['run: expected exactly one of epochs, iterations, got both']);
  assert.deepEqual(errorsOf(overrideExperiment(base, ['loss.terms.0.weight=-1', 'optimizer.amsgrad=yes'])), [
    'loss.terms.0.weight: expected non-negative number, got -1',
    'optimizer.amsgrad: expected boolean, got "yes"',
  ]);
});

test('malformed overrides are reported before decoding', () => {
  assert.deepEqual(errorsOf(applyOverrides(base, ['model.innerChannels', '=3', 'model..x=1', 'a.__proto__.b=1'])), [
    '--set model.innerChannels: expected PATH=VALUE',
    "--set =3: the path before '=' is empty",
    '--set model..x=1: empty key in path model..x',
    '--set a.__proto__.b=1: __proto__ is not allowed as a key',
  ]);
  assert.deepEqual(errorsOf(overrideExperiment(base, ['loss.terms.3.weight=1'])), ['--set loss.terms.3.weight=1: loss.terms.3: index out of range (the array has 1 element)']);
  assert.deepEqual(errorsOf(overrideExperiment(base, ['loss.terms.first.weight=1'])), ['--set loss.terms.first.weight=1: loss.terms.first: expected an array index, got "first"']);
  assert.deepEqual(errorsOf(overrideExperiment(base, ['model.type.name=x'])), ['--set model.type.name=x: model.type.name: cannot set a key inside model.type (a string)']);
});

test('decodeExperiment accepts what overrides produce from a plain JSON value', () => {
  const json = JSON.parse(JSON.stringify(base)) as unknown;
  const applied = valueOf(applyOverrides(json, ['log.every=1']));
  assert.equal(valueOf(decodeExperiment(applied)).log.every, 1);
  assert.deepEqual(valueOf(applyOverrides(json, [])), json);
});
