import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as t from 'io-ts';
import { isLeft, isRight, type Either } from 'fp-ts/lib/Either.js';
import {
  arrayOf,
  NonNegInt,
  NonNegNumber,
  oneOf,
  pairOf,
  PositiveInt,
  PositiveNumber,
  Probability,
  strict,
  UnitInterval,
  withChecks,
  withDefault,
  withDefaults,
} from '../src/config/codecs.ts';
import { decodeWith, formatErrors } from '../src/config/errors.ts';
import { closest, editDistance } from '../src/config/suggest.ts';
import { buildComponent, componentCodec, defineComponent, listComponents, registeredTypes } from '../src/config/registry.ts';

function errorsOf<A>(r: Either<string[], A>): string[] {
  assert.ok(isLeft(r), `expected a failure, got ${JSON.stringify(r)}`);
  return r.left;
}
function valueOf<A>(r: Either<string[], A>): A {
  assert.ok(isRight(r), `expected success, got ${JSON.stringify(r)}`);
  return r.right;
}

test('numeric primitives name themselves in messages', () => {
  const cases: Array<[t.Decoder<unknown, number>, unknown[], Array<[unknown, string]>]> = [
    [PositiveInt, [1, 64], [['64', 'x: expected positive integer, got "64"'], [0, 'x: expected positive integer, got 0'], [1.5, 'x: expected positive integer, got 1.5']]],
    [NonNegInt, [0, 7], [[-1, 'x: expected non-negative integer, got -1'], [null, 'x: expected non-negative integer, got null']]],
    [PositiveNumber, [1e-9], [[0, 'x: expected positive number, got 0'], [Infinity, 'x: expected positive number, got Infinity']]],
    [NonNegNumber, [0, 2.5], [[-0.1, 'x: expected non-negative number, got -0.1'], [NaN, 'x: expected non-negative number, got NaN']]],
    [Probability, [0, 1], [[1.01, 'x: expected number in [0, 1], got 1.01']]],
    [UnitInterval, [0, 0.999], [[1, 'x: expected number in [0, 1), got 1']]],
  ];
  for (const [codec, good, bad] of cases) {
    for (const g of good) assert.equal(valueOf(decodeWith(codec, g, 'x')), g);
    for (const [b, msg] of bad) assert.deepEqual(errorsOf(decodeWith(codec, b, 'x')), [msg]);
  }
});

test('oneOf and pairOf', () => {
  const red = oneOf('mean', 'sumOverBatch');
  assert.equal(valueOf(decodeWith(red, 'mean')), 'mean');
  assert.deepEqual(errorsOf(decodeWith(red, 'avg', 'reduction')), ['reduction: expected one of mean, sumOverBatch, got "avg"']);
  const betas = pairOf(UnitInterval);
  assert.deepEqual(valueOf(decodeWith(betas, [0.9, 0.99])), [0.9, 0.99]);
  assert.deepEqual(errorsOf(decodeWith(betas, [0.9], 'betas')), ['betas: expected pair of number in [0, 1), got [0.9]']);
  assert.deepEqual(errorsOf(decodeWith(betas, [0.9, 1], 'betas')), ['betas.1: expected number in [0, 1), got 1']);
});

test('strict rejects unknown keys, suggesting the closest known one', () => {
  const c = strict({ lr: NonNegNumber, innerChannels: PositiveInt }, { momentum: NonNegNumber });
  assert.deepEqual(errorsOf(decodeWith(c, { lr: 1, innerChannels: 3, lrr: 2 }, 'optimizer')), ['optimizer.lrr: unknown key (did you mean lr?)']);
  assert.deepEqual(errorsOf(decodeWith(c, { lr: 1, inner_channels: 3 }, 'model')), [
    'model.innerChannels: missing required key (expected positive integer)',
    'model.inner_channels: unknown key (did you mean innerChannels?)',
  ]);
  assert.deepEqual(errorsOf(decodeWith(c, { lr: 1, innerChannels: 3, zzzzzz: 0 })), ['zzzzzz: unknown key']);
  assert.deepEqual(errorsOf(decodeWith(c, [1, 2], 'model')), ['model: expected object, got [1,2]']);
});

test('strict keeps absent optional keys absent and ignores explicit undefined', () => {
  const c = strict({ a: PositiveInt }, { b: PositiveInt, toString: t.string });
  const v = valueOf(decodeWith(c, { a: 1, b: undefined, c: undefined }));
  assert.deepEqual(v, { a: 1 });
  assert.equal(Object.keys(v).length, 1);
  assert.deepEqual(valueOf(decodeWith(c, { a: 1, b: 2 })), { a: 1, b: 2 });
});

test('withDefaults fills missing keys, missing records, and never shares the defaults', () => {
  const c = withDefaults(strict({ every: PositiveInt, keep: arrayOf(PositiveInt) }), { every: 10, keep: [1] });
  assert.deepEqual(valueOf(decodeWith(c, {})), { every: 10, keep: [1] });
  assert.deepEqual(valueOf(decodeWith(c, undefined)), { every: 10, keep: [1] });
  assert.deepEqual(valueOf(decodeWith(c, { every: 3 })), { every: 3, keep: [1] });
  const first = valueOf(decodeWith(c, {}));
  first.keep.push(99);
  assert.deepEqual(valueOf(decodeWith(c, {})).keep, [1]);
  assert.deepEqual(errorsOf(decodeWith(c, { every: 0 }, 'log')), ['log.every: expected positive integer, got 0']);
  // A required section with defaults may be left out of its parent.
  const parent = strict({ log: c, name: t.string });
  assert.deepEqual(valueOf(decodeWith(parent, { name: 'n' })), { name: 'n', log: { every: 10, keep: [1] } });
});

test('withDefault replaces a missing value only', () => {
  const c = withDefault(strict({ type: t.string }, { gamma: NonNegNumber }), { type: 'constant' });
  assert.deepEqual(valueOf(decodeWith(c, undefined)), { type: 'constant' });
  assert.deepEqual(errorsOf(decodeWith(c, { gamma: 0.5 }, 's')), ['s.type: missing required key (expected string)']);
});

test('withChecks reports cross-field problems at their paths', () => {
  const c = withChecks(strict({ enc: arrayOf(NonNegInt), dec: arrayOf(NonNegInt) }), (p) =>
    p.enc.length === p.dec.length ? [] : [{ path: 'dec', message: `expected ${p.enc.length} stages, got ${p.dec.length}` }],
  );
  assert.deepEqual(valueOf(decodeWith(c, { enc: [1], dec: [2] })), { enc: [1], dec: [2] });
  assert.deepEqual(errorsOf(decodeWith(c, { enc: [1, 2], dec: [2] }, 'model')), ['model.dec: expected 2 stages, got 1']);
  // Checks run only on values that decoded.
  assert.deepEqual(errorsOf(decodeWith(c, { enc: [-1], dec: [] }, 'model')), ['model.enc.0: expected non-negative integer, got -1']);
});

test('formatErrors: array indices, nested paths, no duplicates', () => {
  const c = strict({ terms: arrayOf(strict({ weight: NonNegNumber })) });
  assert.deepEqual(errorsOf(decodeWith(c, { terms: [{ weight: 1 }, { weight: -2 }] }, 'loss')), ['loss.terms.1.weight: expected non-negative number, got -2']);
  const r = c.decode({ terms: [{ weight: 'x' }] });
  assert.ok(isLeft(r));
  assert.deepEqual(formatErrors([...r.left, ...r.left]), ['terms.0.weight: expected non-negative number, got "x"']);
});

test('formatErrors: unions report one line, or the branch that matched', () => {
  assert.deepEqual(errorsOf(decodeWith(t.union([t.literal('a'), t.literal('b')]), 'c', 'k')), ['k: expected one of a, b, got "c"']);
  assert.deepEqual(errorsOf(decodeWith(t.keyof({ x: null, y: null }), 'z', 'k')), ['k: expected one of x, y, got "z"']);
  const u = t.union([strict({ a: PositiveInt }, {}, 'A'), strict({ b: t.string }, {}, 'B')]);
  // {a: 0} is shaped like A (one problem inside it) and unlike B (two problems).
  assert.deepEqual(errorsOf(decodeWith(u, { a: 0 }, 'v')), ['v.a: expected positive integer, got 0']);
  assert.deepEqual(errorsOf(decodeWith(u, 3, 'v')), ['v: expected (A | B), got 3']);
  assert.deepEqual(errorsOf(decodeWith(t.type({ n: t.union([t.number, t.string]) }), { n: true })), ['n: expected (number | string), got true']);
});

test('suggestions', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('ab', 'ba'), 1);
  assert.equal(closest('innerChanels', ['numFrames', 'innerChannels']), 'innerChannels');
  assert.equal(closest('inner_channels', ['innerChannels']), 'innerChannels');
  assert.equal(closest('gama', ['gamma', 'milestones']), 'gamma');
  assert.equal(closest('lr', ['eps', 'betas']), undefined);
});

// The registry machinery on an open kind (no built-ins of this kind exist).
const kindCodec = componentCodec('augmentation');

test('componentCodec reports types registered so far, and accepts later ones', () => {
  assert.deepEqual(errorsOf(decodeWith(kindCodec, { type: 'flip' }, 'aug')), ['aug.type: expected a registered augmentation type (none are registered), got "flip"']);
  const flip = defineComponent({
    kind: 'augmentation',
    type: 'flip',
    codec: strict({ p: Probability }, { axis: oneOf('h', 'v') }),
    defaults: { p: 0.5 },
    build: (s, ctx: { scale: number }) => ({ p: s.p * ctx.scale, axis: s.axis ?? 'h' }),
    describe: 'random flip',
  });
  assert.deepEqual(valueOf(decodeWith(kindCodec, { type: 'flip' })), { type: 'flip', p: 0.5 });
  assert.deepEqual(flip(), { type: 'flip', p: 0.5 });
  assert.deepEqual(flip({ p: 1, axis: 'v' }), { type: 'flip', p: 1, axis: 'v' });
  assert.equal(flip.type, 'flip');
  assert.equal(flip.kind, 'augmentation');
  assert.deepEqual(errorsOf(decodeWith(kindCodec, { type: 'flp' }, 'aug')), ['aug.type: expected one of flip, got "flp" (did you mean flip?)']);
  assert.deepEqual(errorsOf(decodeWith(kindCodec, { p: 1 }, 'aug')), ['aug.type: missing required key (expected one of flip)']);
  assert.deepEqual(errorsOf(decodeWith(kindCodec, 'flip', 'aug')), ['aug: expected augmentation spec (an object with a type), got "flip"']);
  assert.deepEqual(errorsOf(decodeWith(kindCodec, { type: 'flip', p: 2, axes: 'h' }, 'aug')), [
    'aug.p: expected number in [0, 1], got 2',
    'aug.axes: unknown key (did you mean axis?)',
  ]);
  assert.throws(() => flip({ p: '1' as unknown as number }), { message: 'invalid augmentation spec flip:\n  flip.p: expected number in [0, 1], got "1"' });
  assert.deepEqual(buildComponent<{ p: number; axis: string }>('augmentation', { type: 'flip', p: 0.25 }, { scale: 2 }), { p: 0.5, axis: 'h' });
  assert.deepEqual(registeredTypes('augmentation'), ['flip']);
  assert.deepEqual(listComponents('augmentation'), [
    { kind: 'augmentation', type: 'flip', describe: 'random flip', required: ['p'], optional: ['axis'], defaults: { p: 0.5 } },
  ]);
});

test('defineComponent refuses duplicates, bad defaults and a type parameter', () => {
  const def = { kind: 'strategy' as const, type: 'plain', codec: strict({ n: PositiveInt }), build: () => 0 };
  defineComponent(def);
  assert.throws(() => defineComponent(def), { message: 'defineComponent: strategy type plain is already registered' });
  assert.throws(() => defineComponent({ ...def, type: 'other', defaults: { n: 0 } }), {
    message: 'defineComponent(other): invalid defaults:\n  other.n: expected positive integer, got 0',
  });
  assert.throws(() => defineComponent({ ...def, type: 'other2', defaults: { m: 1 } as { n?: number } }), {
    message: 'defineComponent(other2): invalid defaults:\n  other2.m: default given for an unknown parameter',
  });
  assert.throws(() => defineComponent({ ...def, type: 'other3', codec: strict({ type: t.string }) }), /'type' is reserved/);
  assert.throws(() => defineComponent({ ...def, type: 'two words' }), /type must be a name/);
  assert.throws(() => defineComponent({ kind: 'optimizer', type: 'noLr', codec: strict({ momentum: NonNegNumber }), build: () => ({}) as never }), {
    message: "defineComponent(noLr): optimizer components need a required 'lr' parameter",
  });
  assert.throws(() => defineComponent({ kind: 'schedule', type: 'noUnit', codec: strict({}), build: () => () => 0 }), {
    message: "defineComponent(noUnit): schedule components need a required 'stepEvery' parameter",
  });
  assert.deepEqual(registeredTypes('strategy'), ['plain']);
  assert.deepEqual(registeredTypes('optimizer'), []);
});
