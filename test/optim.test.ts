import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '../src/runtime/index.ts';
import type { Variable } from '@tensorflow/tfjs';
import { adam, adamw, sgd, clipGradNorm, ema, type Optimizer } from '../src/optim/index.ts';

type Arrays = Record<string, number[]>;

const init: Arrays = { 'F0.0.weight': [0.5, -1.2, 0.3, 2.0], 'F0.0.bias': [0.1, -0.4, 0.0] };
const shapes: Record<string, number[]> = { 'F0.0.weight': [2, 2], 'F0.0.bias': [3] };
/** Gradients per step; the bias gets none at step 2 (index 1), as for a frozen or unused parameter. */
const gradSeq: Array<Partial<Arrays>> = [
  { 'F0.0.weight': [0.2, -0.5, 1.0, 0.05], 'F0.0.bias': [-0.3, 0.7, 0.01] },
  { 'F0.0.weight': [-0.1, 0.4, 0.9, -0.2] },
  { 'F0.0.weight': [0.3, 0.3, -0.6, 0.15], 'F0.0.bias': [0.2, -0.1, 0.5] },
];
const lrs = [0.1, 0.05, 0.02];

function makeParams(values: Arrays = init): Record<string, Variable> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, tf.variable(tf.tensor(v, shapes[k]), true)]));
}
function makeGrads(g: Partial<Arrays>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(g).map(([k, v]) => [k, tf.tensor(v!, shapes[k])]));
}
function read(params: Record<string, Variable>): Arrays {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.from(v.dataSync())]));
}
function assertClose(got: Arrays, want: Arrays, tol = 2e-6): void {
  for (const [k, w] of Object.entries(want)) {
    const g = got[k]!;
    w.forEach((x, i) => assert.ok(Math.abs(g[i]! - x) <= tol * Math.max(1, Math.abs(x)), `${k}[${i}]: ${g[i]} vs ${x}`));
  }
}
function runSteps(opt: Optimizer, params: Record<string, Variable>, seq = gradSeq, lr = lrs): void {
  seq.forEach((g, i) => {
    const grads = makeGrads(g);
    opt.step(params, grads, lr[i]!);
    tf.dispose(Object.values(grads));
  });
}

interface AdamRefOpts { b1: number; b2: number; eps: number; wd: number; amsgrad: boolean; decoupled: boolean }

/** torch.optim.Adam / AdamW update rules, element by element, in double precision. */
function adamRef(o: AdamRefOpts): Arrays {
  const p: Arrays = structuredClone(init);
  const st: Record<string, { t: number; m: number[]; v: number[]; vmax: number[] }> = {};
  gradSeq.forEach((gs, s) => {
    const lr = lrs[s]!;
    for (const [k, g0] of Object.entries(gs)) {
      const x = p[k]!;
      const S = (st[k] ??= { t: 0, m: x.map(() => 0), v: x.map(() => 0), vmax: x.map(() => 0) });
      S.t += 1;
      for (let i = 0; i < x.length; i++) {
        let g = g0![i]!;
        if (o.decoupled) x[i] = x[i]! * (1 - lr * o.wd);
        else g = g + o.wd * x[i]!;
        S.m[i] = o.b1 * S.m[i]! + (1 - o.b1) * g;
        S.v[i] = o.b2 * S.v[i]! + (1 - o.b2) * g * g;
        S.vmax[i] = Math.max(S.vmax[i]!, S.v[i]!);
        const second = o.amsgrad ? S.vmax[i]! : S.v[i]!;
        const bc1 = 1 - o.b1 ** S.t;
        const bc2 = 1 - o.b2 ** S.t;
        const denom = Math.sqrt(second) / Math.sqrt(bc2) + o.eps;
        x[i] = x[i]! - (lr / bc1) * (S.m[i]! / denom);
      }
    }
  });
  return p;
}

interface SgdRefOpts { momentum: number; dampening: number; nesterov: boolean; wd: number }

/** torch.optim.SGD update rule in double precision (first momentum buffer = gradient). */
function sgdRef(o: SgdRefOpts): Arrays {
  const p: Arrays = structuredClone(init);
  const buf: Arrays = {};
  gradSeq.forEach((gs, s) => {
    for (const [k, g0] of Object.entries(gs)) {
      const x = p[k]!;
      const first = buf[k] === undefined;
      const b = (buf[k] ??= x.map(() => 0));
      for (let i = 0; i < x.length; i++) {
        let d = g0![i]! + o.wd * x[i]!;
        if (o.momentum !== 0) {
          b[i] = first ? d : o.momentum * b[i]! + (1 - o.dampening) * d;
          d = o.nesterov ? d + o.momentum * b[i]! : b[i]!;
        }
        x[i] = x[i]! - lrs[s]! * d;
      }
    }
  });
  return p;
}

const adamCases: Array<[string, () => Optimizer, AdamRefOpts]> = [
  ['adam defaults', () => adam(), { b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, amsgrad: false, decoupled: false }],
  ['adam L2 + amsgrad', () => adam({ betas: [0.8, 0.99], eps: 1e-3, weightDecay: 0.1, amsgrad: true }), { b1: 0.8, b2: 0.99, eps: 1e-3, wd: 0.1, amsgrad: true, decoupled: false }],
  ['adamw defaults', () => adamw(), { b1: 0.9, b2: 0.999, eps: 1e-8, wd: 1e-2, amsgrad: false, decoupled: true }],
  ['adamw wd 0.5', () => adamw({ weightDecay: 0.5, betas: [0.5, 0.9] }), { b1: 0.5, b2: 0.9, eps: 1e-8, wd: 0.5, amsgrad: false, decoupled: true }],
];

for (const [name, make, ref] of adamCases) {
  test(`${name}: three steps match the PyTorch update rule`, () => {
    const params = makeParams();
    const opt = make();
    runSteps(opt, params);
    assertClose(read(params), adamRef(ref));
    assert.equal(opt.stepCount, 3);
    const s = opt.state();
    // The bias skipped one step: its own step count is 2.
    assert.deepEqual(s.meta, { stepCount: 3, 'step.F0.0.weight': 3, 'step.F0.0.bias': 2 });
    const keys = Object.keys(s.tensors).sort();
    const slots = ref.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
    assert.deepEqual(keys, slots.flatMap((sl) => [`${sl}.F0.0.bias`, `${sl}.F0.0.weight`]).sort());
    tf.dispose(Object.values(s.tensors));
    opt.dispose();
    tf.dispose(Object.values(params));
  });
}

const sgdCases: Array<[string, () => Optimizer, SgdRefOpts]> = [
  ['sgd plain', () => sgd(), { momentum: 0, dampening: 0, nesterov: false, wd: 0 }],
  ['sgd momentum + dampening + wd', () => sgd({ momentum: 0.9, dampening: 0.3, weightDecay: 0.05 }), { momentum: 0.9, dampening: 0.3, nesterov: false, wd: 0.05 }],
  ['sgd nesterov', () => sgd({ momentum: 0.8, nesterov: true, weightDecay: 0.01 }), { momentum: 0.8, dampening: 0, nesterov: true, wd: 0.01 }],
];

for (const [name, make, ref] of sgdCases) {
  test(`${name}: three steps match the PyTorch update rule`, () => {
    const params = makeParams();
    const opt = make();
    runSteps(opt, params);
    assertClose(read(params), sgdRef(ref));
    const s = opt.state();
    assert.deepEqual(Object.keys(s.tensors).sort(), ref.momentum === 0 ? [] : ['momentum_buffer.F0.0.bias', 'momentum_buffer.F0.0.weight']);
    assert.deepEqual(s.meta, { stepCount: 3 });
    tf.dispose(Object.values(s.tensors));
    opt.dispose();
    tf.dispose(Object.values(params));
  });
}

test('a step leaves the tensor count unchanged after the first', () => {
  for (const opt of [adam({ amsgrad: true, weightDecay: 0.1 }), adamw(), sgd({ momentum: 0.9, nesterov: true })]) {
    const params = makeParams();
    const grads = makeGrads(gradSeq[0]!);
    opt.step(params, grads, 0.01);
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) opt.step(params, grads, 0.01);
    assert.equal(tf.memory().numTensors, after1, opt.kind);
    const s = opt.state();
    assert.equal(tf.memory().numTensors, after1 + Object.keys(s.tensors).length);
    tf.dispose(Object.values(s.tensors));
    opt.dispose();
    tf.dispose([...Object.values(params), ...Object.values(grads)]);
  }
});

test('state save/load round trip continues identically', () => {
  for (const make of [() => adam({ amsgrad: true, weightDecay: 0.01 }), () => adamw(), () => sgd({ momentum: 0.9, dampening: 0.1 })]) {
    const a = make();
    const pa = makeParams();
    runSteps(a, pa, gradSeq.slice(0, 2), lrs);
    const saved = a.state();
    const snapshot = read(pa);
    // The saved tensors are independent copies: further steps of `a` must not change them.
    const savedValues = Object.fromEntries(Object.entries(saved.tensors).map(([k, t]) => [k, Array.from(t.dataSync())]));
    const b = make();
    b.loadState(saved);
    assert.equal(b.stepCount, 2);
    const pb = makeParams(snapshot);
    const rest = [gradSeq[2]!, gradSeq[0]!];
    runSteps(a, pa, rest, [0.03, 0.01]);
    for (const [k, t] of Object.entries(saved.tensors)) assert.deepEqual(Array.from(t.dataSync()), savedValues[k]);
    tf.dispose(Object.values(saved.tensors)); // loadState copied them
    runSteps(b, pb, rest, [0.03, 0.01]);
    assert.deepEqual(read(pb), read(pa));
    assert.equal(b.stepCount, 4);
    a.dispose();
    b.dispose();
    tf.dispose([...Object.values(pa), ...Object.values(pb)]);
  }
});

test('loadState reports missing, extra and inconsistent keys; step reports shape mismatches', () => {
  const params = makeParams();
  const src = adam();
  runSteps(src, params, gradSeq.slice(0, 1), lrs);
  const s = src.state();
  const without = (key: string): Record<string, Tensor> => Object.fromEntries(Object.entries(s.tensors).filter(([k]) => k !== key));
  const fresh = adam();
  assert.throws(() => fresh.loadState({ tensors: without('exp_avg_sq.F0.0.bias'), meta: s.meta }), /'exp_avg_sq.F0.0.bias' is missing/);
  assert.throws(() => fresh.loadState({ tensors: { ...s.tensors, 'momentum_buffer.F0.0.bias': s.tensors['exp_avg.F0.0.bias']! }, meta: s.meta }), /unexpected state tensor 'momentum_buffer.F0.0.bias'/);
  assert.throws(() => fresh.loadState({ tensors: s.tensors, meta: { stepCount: 1 } }), /'step.F0.0.weight' is missing/);
  assert.throws(() => fresh.loadState({ tensors: s.tensors, meta: { ...s.meta, lr: 0.1 } }), /unexpected state metadata 'lr'/);
  assert.throws(() => fresh.loadState({ tensors: s.tensors, meta: { ...s.meta, stepCount: undefined as unknown as number } }), /'stepCount' is missing/);
  const wrong = tf.zeros([4]);
  assert.throws(() => fresh.loadState({ tensors: { ...s.tensors, 'exp_avg.F0.0.weight': wrong }, meta: s.meta }), /'exp_avg_sq.F0.0.weight' has shape \[2,2\], other slots of 'F0.0.weight' have \[4\]/);
  assert.throws(() => adam({ amsgrad: true }).loadState(s), /'max_exp_avg_sq.F0.0.bias' is missing|'max_exp_avg_sq.F0.0.weight' is missing/);
  assert.throws(() => sgd({ momentum: 0.9 }).loadState(s), /sgd: unexpected state (tensor 'exp_avg|metadata 'step\.)/);
  assert.throws(() => sgd().loadState({ tensors: {}, meta: { stepCount: 1, 'step.x': 1 } }), /unexpected state metadata 'step.x'/);
  // Consistent state that does not fit the parameters fails at the next step, naming the key.
  const both = Object.fromEntries(Object.keys(s.tensors).map((k) => [k, k.endsWith('F0.0.weight') ? wrong : s.tensors[k]!]));
  fresh.loadState({ tensors: both, meta: s.meta });
  const grads = makeGrads(gradSeq[0]!);
  assert.throws(() => fresh.step(params, grads, 0.1), /state 'exp_avg.F0.0.weight' has shape \[4\] but the parameter has shape \[2,2\]/);
  const other = adam();
  other.loadState(s);
  const { 'F0.0.bias': _dropped, ...onlyWeight } = params;
  assert.throws(() => other.step(onlyWeight, { 'F0.0.weight': grads['F0.0.weight']! }, 0.1), /state 'exp_avg.F0.0.bias' has no matching parameter/);
  assert.throws(() => adam().step(params, { nope: grads['F0.0.bias']! }, 0.1), /gradient 'nope' has no matching parameter/);
  assert.throws(() => adam().step(params, { 'F0.0.bias': grads['F0.0.weight']! }, 0.1), /gradient 'F0.0.bias' has shape \[2,2\]/);
  assert.throws(() => adam().step(params, grads, NaN), /learning rate/);
  tf.dispose([...Object.values(s.tensors), wrong, ...Object.values(grads), ...Object.values(params)]);
  for (const o of [src, fresh, other]) o.dispose();
});

test('optimiser options are validated', () => {
  assert.throws(() => adam({ betas: [1, 0.999] }), /betas\[0\]/);
  assert.throws(() => adamw({ eps: -1 }), /eps/);
  assert.throws(() => adam({ weightDecay: -0.1 }), /weightDecay/);
  assert.throws(() => sgd({ nesterov: true }), /nesterov requires momentum > 0/);
  assert.throws(() => sgd({ momentum: 0.9, dampening: 0.1, nesterov: true }), /dampening = 0/);
  assert.throws(() => sgd({ momentum: -1 }), /momentum/);
});

test('clipGradNorm matches torch.nn.utils.clip_grad_norm_', () => {
  const grads = makeGrads(gradSeq[0]!);
  const all = [...gradSeq[0]!['F0.0.weight']!, ...gradSeq[0]!['F0.0.bias']!];
  const before = tf.memory().numTensors;
  for (const [normType, total] of [
    [2, Math.sqrt(all.reduce((a, x) => a + x * x, 0))],
    [1, all.reduce((a, x) => a + Math.abs(x), 0)],
    ['inf', Math.max(...all.map(Math.abs))],
    [3, all.reduce((a, x) => a + Math.abs(x) ** 3, 0) ** (1 / 3)],
  ] as Array<[number | 'inf', number]>) {
    for (const maxNorm of [0.5, 100]) {
      const r = clipGradNorm(grads, maxNorm, normType);
      assert.ok(Math.abs(r.totalNorm.dataSync()[0]! - total) < 1e-5, `${normType}: ${r.totalNorm.dataSync()[0]} vs ${total}`);
      const coef = Math.min(1, maxNorm / (total + 1e-6));
      const got = [...r.grads['F0.0.weight']!.dataSync(), ...r.grads['F0.0.bias']!.dataSync()];
      got.forEach((v, i) => assert.ok(Math.abs(v - all[i]! * coef) < 1e-6));
      tf.dispose([r.totalNorm, ...Object.values(r.grads)]);
    }
  }
  assert.equal(tf.memory().numTensors, before);
  // Inputs untouched.
  assert.deepEqual(Array.from(grads['F0.0.bias']!.dataSync()), Array.from(new Float32Array(gradSeq[0]!['F0.0.bias']!)));
  const empty = clipGradNorm({}, 1);
  assert.equal(empty.totalNorm.dataSync()[0], 0);
  empty.totalNorm.dispose();
  assert.throws(() => clipGradNorm(grads, -1), /maxNorm/);
  tf.dispose(Object.values(grads));
});

test('ema: decay·ema + (1 − decay)·p, swap, withAveraged, state round trip', async () => {
  const params = makeParams();
  const e = ema(params, { decay: 0.9 });
  const expected: Arrays = structuredClone(init);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    // Move the weights, then fold them in.
    for (const [k, v] of Object.entries(params)) {
      const next = tf.add(v, (i + 1) * 0.1 * (k === 'F0.0.bias' ? -1 : 1));
      v.assign(next);
      next.dispose();
    }
    e.update();
    const live = read(params);
    for (const k of Object.keys(expected)) expected[k] = expected[k]!.map((x, j) => 0.9 * x + 0.1 * live[k]![j]!);
  }
  assert.equal(tf.memory().numTensors, before);
  assert.equal(e.updates, 3);
  const live = read(params);
  const avg = e.averages();
  assertClose(Object.fromEntries(Object.entries(avg).map(([k, t]) => [k, Array.from(t.dataSync())])), expected);
  tf.dispose(Object.values(avg));

  e.swap();
  assert.equal(e.swapped, true);
  assertClose(read(params), expected);
  assert.throws(() => e.update(), /swapped/);
  e.swap();
  assert.deepEqual(read(params), live);

  const seen = e.withAveraged(() => read(params));
  assertClose(seen, expected);
  assert.deepEqual(read(params), live);
  assert.throws(() => e.withAveraged(() => {
    throw new Error('boom');
  }), /boom/);
  assert.deepEqual(read(params), live);
  const seenAsync = await e.withAveraged(async () => {
    // Yield to the event loop: the averaged weights stay swapped in until the promise settles.
    await new Promise((r) => setImmediate(r));
    return read(params);
  });
  assertClose(seenAsync, expected);
  assert.deepEqual(read(params), live);
  assert.equal(tf.memory().numTensors, before);

  // State keys are the parameter names (a loadable weights file); loading restores the averages.
  const s = e.state();
  assert.deepEqual(Object.keys(s.tensors).sort(), ['F0.0.bias', 'F0.0.weight']);
  assert.deepEqual(s.meta, { decay: 0.9, updates: 3 });
  const e2 = ema(params, { decay: 0.9 });
  e2.loadState(s);
  tf.dispose(Object.values(s.tensors));
  e.update();
  e2.update();
  const a1 = e.averages();
  const a2 = e2.averages();
  for (const k of Object.keys(a1)) assert.deepEqual(Array.from(a2[k]!.dataSync()), Array.from(a1[k]!.dataSync()));
  assert.equal(e2.updates, 4);
  tf.dispose([...Object.values(a1), ...Object.values(a2)]);

  const bad = tf.zeros([3, 1]);
  assert.throws(() => e2.loadState({ tensors: { 'F0.0.weight': bad }, meta: {} }), /'F0.0.bias' is missing/);
  assert.throws(() => e2.loadState({ tensors: { 'F0.0.weight': bad, 'F0.0.bias': bad }, meta: {} }), /'F0.0.weight' has shape \[3,1\]/);
  assert.throws(() => e2.loadState({ tensors: { x: bad }, meta: {} }), /unexpected state tensor 'x'/);
  assert.throws(() => ema(params, { decay: 1.5 }), /decay/);
  bad.dispose();
  e.dispose();
  e2.dispose();
  assert.equal(tf.memory().numTensors, before - 2);
  tf.dispose(Object.values(params));
});

/** Adam/AdamW one parameter at a time with the same float32 tensor ops: the packed update must match it bit for bit. */
function adamOneByOne(params: Record<string, Variable>, steps: Array<Record<string, Tensor>>, lrSeq: number[], o: { wd: number; amsgrad: boolean; decoupled: boolean }): void {
  const [b1, b2, eps] = [0.9, 0.99, 1e-8];
  const st: Record<string, { t: number; m: Tensor; v: Tensor; vmax: Tensor }> = {};
  steps.forEach((grads, s) => {
    const lr = lrSeq[s]!;
    for (const [name, p] of Object.entries(params)) {
      const g0 = grads[name];
      if (g0 === undefined) continue;
      const S = (st[name] ??= { t: 0, m: tf.zerosLike(p), v: tf.zerosLike(p), vmax: tf.zerosLike(p) });
      S.t++;
      const next = tf.tidy(() => {
        let g: Tensor = g0;
        if (o.wd !== 0) {
          if (o.decoupled) p.assign(tf.mul(p, 1 - lr * o.wd));
          else g = tf.add(g, tf.mul(p, o.wd));
        }
        const m = tf.add(S.m, tf.mul(tf.sub(g, S.m), 1 - b1));
        const v = tf.add(tf.mul(S.v, b2), tf.mul(tf.square(g), 1 - b2));
        const vmax = tf.maximum(S.vmax, v);
        const denom = tf.add(tf.div(tf.sqrt(o.amsgrad ? vmax : v), Math.sqrt(1 - b2 ** S.t)), eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), lr / (1 - b1 ** S.t))));
        return { m, v, vmax };
      });
      tf.dispose([S.m, S.v, S.vmax]);
      Object.assign(S, next);
    }
  });
  for (const S of Object.values(st)) tf.dispose([S.m, S.v, S.vmax]);
}

test('adam/adamw update all parameters together, bit-identical to one at a time (bucket boundary, skipped parameters)', () => {
  // Two large tensors updated alone; nine of 240k elements fill more than one packed run.
  const shapes: Record<string, number[]> = { a: [3, 3, 4, 8], b: [3 << 20], c: [2 << 20], d: [5], e: [1] };
  for (let i = 0; i < 9; i++) shapes[`s${i}`] = [600, 400];
  const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
  // Seeds from 1: tfjs treats seed 0 as "no seed".
  const make = () => Object.fromEntries(Object.entries(shapes).map(([k, s], i) => [k, tf.variable(rnd(s, i + 1), true)]));
  const gradSteps = [0, 1, 2, 3].map((s) =>
    Object.fromEntries(Object.entries(shapes).filter(([k]) => !(s === 1 && (k === 'd' || k === 'b'))).map(([k, sh], i) => [k, rnd(sh, 100 + 10 * s + i)])),
  );
  const lrSeq = [0.1, 0.05, 0.02, 0.01];
  for (const o of [{ wd: 0, amsgrad: false, decoupled: false }, { wd: 0.1, amsgrad: true, decoupled: false }, { wd: 0.05, amsgrad: false, decoupled: true }]) {
    const packed = make();
    const single = make();
    const opt = o.decoupled ? adamw({ betas: [0.9, 0.99], weightDecay: o.wd }) : adam({ betas: [0.9, 0.99], weightDecay: o.wd, amsgrad: o.amsgrad });
    gradSteps.forEach((g, s) => opt.step(packed, g, lrSeq[s]!));
    adamOneByOne(single, gradSteps, lrSeq, o);
    for (const k of Object.keys(shapes)) assert.ok(tf.tidy(() => tf.equal(packed[k]!, single[k]!).all().dataSync()[0] === 1), `${JSON.stringify(o)}: ${k} differs`);
    // Saved state keeps the parameters' shapes.
    const st = opt.state();
    assert.deepEqual(st.tensors['exp_avg.a']!.shape, [3, 3, 4, 8]);
    assert.equal(st.meta['step.d'], 3);
    assert.equal(st.meta['step.a'], 4);
    tf.dispose([...Object.values(st.tensors), ...Object.values(packed), ...Object.values(single)]);
    opt.dispose();
  }
  tf.dispose(gradSteps.flatMap((g) => Object.values(g)));
});
