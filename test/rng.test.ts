import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/util/rng.ts';

test('same seed gives the same stream; different seeds differ', () => {
  const a = Rng.seeded(42);
  const b = Rng.seeded(42);
  const c = Rng.seeded(43);
  const xs = Array.from({ length: 8 }, () => a.nextU32());
  assert.deepEqual(xs, Array.from({ length: 8 }, () => b.nextU32()));
  assert.notDeepEqual(xs, Array.from({ length: 8 }, () => c.nextU32()));
});

test('state round-trips exactly', () => {
  const a = Rng.seeded(7);
  for (let i = 0; i < 5; i++) a.next();
  const b = Rng.fromState(a.state());
  assert.deepEqual(Array.from({ length: 5 }, () => a.next()), Array.from({ length: 5 }, () => b.next()));
});

test('derived streams are independent of each other and reproducible', () => {
  assert.equal(Rng.derive(1, 'epoch:0').nextU32(), Rng.derive(1, 'epoch:0').nextU32());
  assert.notEqual(Rng.derive(1, 'epoch:0').nextU32(), Rng.derive(1, 'epoch:1').nextU32());
});

test('int, uniform and permutation stay in range; normal has plausible moments', () => {
  const r = Rng.seeded(3);
  for (let i = 0; i < 1000; i++) {
    const k = r.int(5);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 5);
    const u = r.uniform(-2, 3);
    assert.ok(u >= -2 && u < 3);
  }
  assert.deepEqual([...r.permutation(10)].sort((a, b) => a - b), [...Array(10).keys()]);
  const n = r.normalArray(20000);
  const mean = n.reduce((s, v) => s + v, 0) / n.length;
  const variance = n.reduce((s, v) => s + (v - mean) ** 2, 0) / n.length;
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05, `mean ${mean} var ${variance}`);
  assert.throws(() => r.int(0), /positive integer/);
  assert.throws(() => Rng.fromState([1, 2, 3] as never), /invalid RNG state/);
});
