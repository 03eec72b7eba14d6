// The measuring tools of `bench`: the op tracer (every TensorFlow op by name, time, peak of live
// tensor memory), profile rows, and the model rows' memory fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, isNative, nativeBackend } from '../src/runtime/index.ts';
import { traceOps, dispatchCost, type OpTrace } from '../src/bench/op-trace.ts';
import { profileRow } from '../src/bench/profile.ts';
import { benchModel, prepareModelCase, type ModelBenchCase } from '../src/bench/models.ts';
import { dbn } from '../src/models/dbn.ts';

const tiny: ModelBenchCase = { name: 'dbn-tiny', build: () => dbn.create({ numFrames: 3, inChannels: 3, innerChannels: 4 }, 0), input: [[1, 3, 16, 16, 3]] };

test('traceOps: counts each op by name, times it, tracks the peak of live tensors, leaks nothing', async () => {
  const x = tf.ones([64, 64]);
  const before = tf.memory().numTensors;
  const t = await traceOps(() => tf.tidy(() => tf.relu(tf.add(tf.mul(x, 2), 1))));
  assert.equal(tf.memory().numTensors, before, 'outputs and intermediates are disposed');
  const byName = new Map(t.byOp.map((s) => [s.op, s]));
  // TensorFlow's op name natively, tfjs's kernel name elsewhere: both 'Relu'.
  assert.equal(byName.get('Relu')?.count, 1, `one Relu in ${JSON.stringify(t.byOp)}`);
  assert.ok(t.opCount >= 3, `at least mul, add and relu: ${t.opCount}`);
  assert.ok(t.opMs >= 0 && t.wallMs >= t.opMs * 0.5, `times: wall ${t.wallMs} ms, ops ${t.opMs} ms`);
  // x, and mul's and add's outputs (the tidy frees them at its end) at least.
  assert.ok(t.peakBytes >= 3 * 64 * 64 * 4, `peak ${t.peakBytes} bytes`);
  assert.ok(t.peakTensors >= before + 2);
  x.dispose();
});

test('traceOps: the backend is restored when the traced function throws', { skip: !isNative() && 'native backend only' }, async () => {
  const binding = (nativeBackend() as unknown as { binding: unknown }).binding;
  await assert.rejects(
    traceOps(() => {
      tf.tidy(() => tf.add(tf.ones([2]), 1));
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal((nativeBackend() as unknown as { binding: unknown }).binding, binding);
  assert.equal((await traceOps(() => tf.ones([1]))).source, 'binding');
});

test('dispatchCost: the fixed cost of an op is positive and a whole tfjs op costs at least the call', async () => {
  const c = await dispatchCost(50);
  assert.ok(c.opUs > 0 && c.tfjsUs >= c.opUs, JSON.stringify(c));
});

test('profileRow: top op types by time, the rest summed, shares of op time, time split', () => {
  const byOp = Array.from({ length: 20 }, (_, i) => ({ op: `Op${i}`, count: i + 1, ms: 20 - i }));
  const opMs = byOp.reduce((s, o) => s + o.ms, 0);
  const trace: OpTrace = { wallMs: opMs + 10, opCount: byOp.reduce((s, o) => s + o.count, 0), opMs, byOp, peakBytes: 3 * 2 ** 20, peakTensors: 7, source: 'binding' };
  const row = profileRow('m', 'forward', trace, { opUs: 10, tfjsUs: 20 });
  assert.equal(row.byOp.length, 16);
  assert.equal(row.byOp[0]!.op, 'Op0');
  assert.equal(row.byOp[15]!.op, 'other (5 types)');
  assert.equal(row.byOp[15]!.count, 16 + 17 + 18 + 19 + 20);
  assert.equal(row.byOp[15]!.ms, 5 + 4 + 3 + 2 + 1);
  assert.ok(Math.abs(row.byOp.reduce((s, o) => s + o.pct, 0) - 100) < 0.5);
  assert.equal(row.jsMs, 10);
  assert.equal(row.dispatchMs, (trace.opCount * 10) / 1000);
  assert.equal(row.kernelMs, Math.round((opMs - row.dispatchMs) * 10) / 10);
  assert.equal(row.peakTensorMb, 3);
});

test('benchModel: times both passes and reports the peak of live tensor memory of each, leaking nothing', async () => {
  const before = tf.memory().numTensors;
  const row = await benchModel(tiny, { warmup: 1, runs: 1 });
  assert.equal(tf.memory().numTensors, before);
  assert.ok((row.forwardS as number) > 0 && (row.forwardBackwardS as number) > 0);
  const peak = row.peakTensorMb as { forward: number; forwardBackward: number };
  assert.ok(peak.forward >= 0 && peak.forwardBackward >= peak.forward, JSON.stringify(peak));
  assert.ok((row.peakRssMb as number) > 0);
});

test('prepareModelCase: a training step gives the loss and one gradient per parameter', () => {
  const run = prepareModelCase(tiny);
  try {
    const before = tf.memory().numTensors;
    const out = run.forwardBackward();
    assert.equal(out.length, 1 + Object.keys(run.model.params).length);
    assert.equal(out[0]!.rank, 0);
    tf.dispose(out);
    tf.dispose(run.forward());
    assert.equal(tf.memory().numTensors, before);
  } finally {
    run.dispose();
  }
});

test('prepareModelCase with graph: both passes as graph functions give what op by op gives', () => {
  const [eager, graph] = [prepareModelCase(tiny), prepareModelCase(tiny, { graph: true })];
  try {
    for (const pass of ['forward', 'forwardBackward'] as const) {
      const want = eager[pass]();
      tf.dispose(graph[pass]()); // traced, then run
      const before = tf.memory().numTensors;
      const got = graph[pass]();
      assert.equal(tf.memory().numTensors, before + got.length);
      assert.equal(got.length, want.length);
      got.forEach((t, i) => assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(t, want[i]!))).dataSync()[0]!) <= 1e-5 * Math.max(1, tf.tidy(() => tf.max(tf.abs(want[i]!)).dataSync()[0]!)), `${pass} output ${i}`));
      tf.dispose([...want, ...got]);
    }
  } finally {
    eager.dispose();
    graph.dispose();
  }
});
