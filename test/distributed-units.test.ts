// The parts of distributed training that need no cluster: options, sharding, the ServerDef
// encoding, the binding patch, byte packing, and the engine's step and evaluation with stand-in
// replicas (one process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { tf } from '../src/runtime/index.ts';
import { ClusterError, collectiveSettings, distribution, parseCluster } from '../src/distributed/cluster.ts';
import { withoutWorkerChoice, workerCommand } from '../src/distributed/command.ts';
import { serverDef, taskName } from '../src/distributed/server-def.ts';
import { packBytes, unpackBytes } from '../src/distributed/replicas.ts';
import { handshakeProblems } from '../src/distributed/worker.ts';
import { collectiveCacheDir, collectiveFailure, FAILURE_FILE, installCached, patchBindingSources, PatchError, provisionCollective } from '../src/setup/collective.ts';
import { packageDir } from '../src/setup/native.ts';
import { batchIndices, epochBatches, shardDataset } from '../src/data/loader.ts';
import { syntheticDataset } from '../src/data/synthetic.ts';
import { trainStep } from '../src/engine/step.ts';
import { evaluate } from '../src/engine/evaluate.ts';
import { singleScale } from '../src/engine/strategy.ts';
import type { Replicas } from '../src/engine/replicas.ts';
import { Rng } from '../src/util/rng.ts';
import { smallSetup, tempDir } from './helpers/engine.ts';

test('the cluster comes from the options or the environment, options first, with clear errors', () => {
  assert.deepEqual(distribution({}, {}), { kind: 'single' });
  assert.deepEqual(distribution({ nproc: '1' }, {}), { kind: 'single' });
  assert.deepEqual(distribution({ nproc: '3' }, {}), { kind: 'local', nproc: 3 });
  assert.deepEqual(distribution({}, { SIMDEBLUR_CLUSTER: 'a:1,b:2', SIMDEBLUR_RANK: '1' }), { kind: 'cluster', spec: { addresses: ['a:1', 'b:2'], rank: 1 } });
  assert.deepEqual(distribution({ rank: '0' }, { SIMDEBLUR_CLUSTER: 'a:1,[::1]:2', SIMDEBLUR_RANK: '1' }), { kind: 'cluster', spec: { addresses: ['a:1', '[::1]:2'], rank: 0 } });
  const bad: Array<[Parameters<typeof distribution>, RegExp]> = [
    [[{ nproc: '0' }, {}], /--nproc: expected an integer >= 1, got "0"/],
    [[{ nproc: '2', rank: '0' }, {}], /cannot be combined with --cluster\/--rank/],
    [[{ cluster: 'a:1,b:2' }, {}], /--cluster needs this worker's rank/],
    [[{ rank: '1' }, {}], /--rank needs the cluster's addresses/],
    [[{ cluster: 'a:1,b:2', rank: '2' }, {}], /--rank 2: the cluster has 2 workers \(ranks 0-1\)/],
    [[{ cluster: 'a:1,a:1', rank: '0' }, {}], /a:1 appears twice/],
    [[{}, { SIMDEBLUR_CLUSTER: 'a:99999,b:1', SIMDEBLUR_RANK: '0' }], /SIMDEBLUR_CLUSTER, address 0: expected host:port/],
  ];
  for (const [args, message] of bad) assert.throws(() => distribution(...args), (e: Error) => e instanceof ClusterError && message.test(e.message), String(message));
  assert.deepEqual(parseCluster(' h1:10 , h2:11 '), ['h1:10', 'h2:11']);
  assert.deepEqual(collectiveSettings({}, {}), { timeoutSeconds: 30, joinTimeoutSeconds: 120, checkEvery: 100 });
  assert.deepEqual(collectiveSettings({ collectiveTimeout: '5' }, { SIMDEBLUR_JOIN_TIMEOUT: '7', SIMDEBLUR_CHECK_EVERY: '0' }), { timeoutSeconds: 5, joinTimeoutSeconds: 7, checkEvery: 0 });
  assert.throws(() => collectiveSettings({ collectiveTimeout: '-1' }, {}), /--collective-timeout: expected a positive number of seconds/);
});

test('workers are started with the same command line minus the options that chose them', () => {
  assert.deepEqual(withoutWorkerChoice(['--nproc', '2', '--quiet', '--cluster=a:1,b:2', '--rank', '0', '--set', 'x=1']), ['--quiet', '--set', 'x=1']);
  const argv = ['/usr/bin/node', '/p/bin/simdeblur.mjs', 'train', 'r.ts', '--nproc', '2', '--quiet'];
  assert.deepEqual(workerCommand(['--nproc', '2', '--quiet'], argv, ['--import', 'tsx'], '/usr/bin/node'), ['/usr/bin/node', '--import', 'tsx', '/p/bin/simdeblur.mjs', 'train', 'r.ts', '--quiet']);
  assert.throws(() => workerCommand(['--other'], argv, [], 'node'), /not the end of this process's command line/);
});

test('shards of a global batch are its positions r, r+N, ...; together they are the batch', () => {
  const order = [9, 3, 7, 1, 5, 0, 2, 8];
  assert.deepEqual(batchIndices(order, 1, { batchSize: 4 }), [5, 0, 2, 8]);
  assert.deepEqual(batchIndices(order, 1, { batchSize: 4, shard: { index: 0, count: 2 } }), [5, 2]);
  assert.deepEqual(batchIndices(order, 1, { batchSize: 4, shard: { index: 1, count: 2 } }), [0, 8]);
  assert.throws(() => batchIndices(order, 0, { batchSize: 4, shard: { index: 2, count: 2 } }), /shard 2 of 2/);
  const ds = syntheticDataset({ videos: 1, samplesPerVideo: 5, numFrames: 1, height: 8, width: 8 });
  const view = shardDataset(ds, { index: 1, count: 2 });
  assert.equal(view.length, 2);
  assert.equal(shardDataset(ds, { index: 0, count: 2 }).length, 3);
});

test('sharded training batches hold the same samples, crops included, as the global batch', async () => {
  const ds = syntheticDataset({ videos: 2, samplesPerVideo: 4, numFrames: 3, height: 16, width: 16, seed: 4 });
  const o = { batchSize: 4, shuffle: true, seed: 7, dropLast: true };
  const all = [];
  for await (const b of epochBatches(ds, o, 1)) all.push(b);
  const shards = await Promise.all(
    [0, 1].map(async (index) => {
      const out = [];
      for await (const b of epochBatches(ds, { ...o, shard: { index, count: 2 } }, 1)) out.push(b);
      return out;
    }),
  );
  assert.equal(shards[0]!.length, all.length);
  all.forEach((b, i) => {
    const per = b.input.length / 4;
    for (let k = 0; k < 4; k++) {
      const s = shards[k % 2]![i]!;
      const j = Math.floor(k / 2);
      assert.deepEqual(s.samples[j], b.samples[k]);
      assert.deepEqual(s.input.subarray(j * per, (j + 1) * per), b.input.subarray(k * per, (k + 1) * per));
    }
  });
});

test('the ServerDef names the cluster, this task and rank 0 as the collective group leader', () => {
  const bytes = serverDef({ addresses: ['127.0.0.1:1000', '10.0.0.2:2000'], rank: 1 });
  const fields = (b: Uint8Array) => {
    const r = new BinaryReader(b);
    const out: Array<[number, unknown]> = [];
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      out.push([no, wt === WireType.Varint ? r.int32() : r.bytes()]);
    }
    return out;
  };
  const text = (x: unknown) => new TextDecoder().decode(x as Uint8Array);
  const top = fields(bytes);
  assert.deepEqual(top.map(([n]) => n), [1, 2, 3, 4, 5]);
  assert.equal(text(top[1]![1]), 'worker');
  assert.equal(top[2]![1], 1);
  assert.equal(text(top[4]![1]), 'grpc');
  const job = fields(fields(top[0]![1] as Uint8Array)[0]![1] as Uint8Array);
  assert.equal(text(job[0]![1]), 'worker');
  const tasks = job.slice(1).map(([, e]) => fields(e as Uint8Array));
  assert.deepEqual(tasks.map((t) => [t[0]![1], text(t[1]![1])]), [[0, '127.0.0.1:1000'], [1, '10.0.0.2:2000']]);
  const experimental = fields(fields(top[3]![1] as Uint8Array)[0]![1] as Uint8Array);
  assert.equal(text(experimental[0]![1]), taskName(0));
  assert.equal(taskName(0), '/job:worker/replica:0/task:0');
  assert.throws(() => serverDef({ addresses: ['a:1'], rank: 1 }), /rank 1 is not in \[0, 1\)/);
});

test("the patch applies to the installed binding's sources once, and names the file whose anchor is missing", () => {
  const dir = packageDir('@tensorflow/tfjs-node')!;
  const read = (rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
  const src = { header: read('binding/tfjs_backend.h'), binding: read('binding/tfjs_binding.cc'), gyp: read('binding.gyp') };
  const p = patchBindingSources(src);
  assert.match(p.header, /TFE_Context \*collective_context\(\) \{ return tfe_context_; \}/);
  assert.match(p.gyp, /'binding\/tfjs_binding.cc',\n\s+'binding\/tfjs_collective.cc',\n\s+'binding\/tfjs_graph.cc'/);
  assert.match(p.binding, /RegisterCollectiveOps\(env, exports\);\n {2}RegisterGraphFunctions\(env, exports\);\n {2}return exports;/);
  assert.throws(() => patchBindingSources(p), PatchError);
  assert.throws(() => patchBindingSources({ ...src, gyp: '{}' }), (e: Error) => e instanceof PatchError && /^binding.gyp: expected exactly one occurrence/.test(e.message));
});

test('bytes packed three to a float32 come back exactly', () => {
  const bytes = new Uint8Array(1000).map((_, i) => (i * 151 + 7) % 256);
  const packed = packBytes(bytes, 400);
  assert.equal(packed.length, 400);
  assert.deepEqual(unpackBytes(Float32Array.from(packed), bytes.length), bytes);
});

test('the handshake names the worker that runs another experiment or cluster', () => {
  const ok = { size: 2, experiment: 'e' };
  assert.deepEqual(handshakeProblems([{ rank: 0, ...ok }, { rank: 1, ...ok }], ['a:1', 'b:2']), []);
  assert.deepEqual(handshakeProblems([{ rank: 0, ...ok }, { rank: 1, size: 3, experiment: 'f' }], ['a:1', 'b:2']), [
    'rank 1 (b:2) expects 3 workers, rank 0 expects 2',
    'rank 1 (b:2) runs a different experiment than rank 0 (recipe, --set overrides or seed differ)',
  ]);
});

test('a batch size that does not divide by the number of workers is a usage error, before TensorFlow loads', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', 'test/fixtures/recipes/tiny-dbn.ts', '--nproc', '3'], {
    encoding: 'utf8',
    env: { ...process.env, SIMDEBLUR_FAIL_IF_RUNTIME_LOADS: '1' },
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /data\.batchSize 2 is the global batch: it must divide by the number of workers, 3/);
});

/** Stand-in replicas of one process: every collective answers as if all replicas were this one. */
function selfReplicas(rank: number, size: number, record: Array<readonly string[]> = [], gather: Replicas['gather'] = (v) => [v]): Replicas {
  return {
    rank,
    size,
    checkEvery: 1,
    mean: (ts) => {
      record.push(ts.map((t) => t.shape.join('x')));
      return ts.map((t) => tf.clone(t));
    },
    sum: (x) => tf.mul(x, size),
    any: (flag) => flag,
    gather,
    assertSame: () => undefined,
  };
}

test('a replicated training step averages loss, terms, gradients and BatchNorm buffers in one collective and leaks no tensor', async () => {
  const calls: Array<readonly string[]> = [];
  await using base = smallSetup();
  const setup = { ...base, replicas: selfReplicas(0, 2, calls) };
  const it = epochBatches(setup.train, { batchSize: 2, shuffle: true, seed: 1, dropLast: true, shard: { index: 0, count: 2 } }, 0);
  const batch = (await it.next()).value!;
  assert.equal(batch.inputShape[0], 1);
  trainStep(setup, batch, 1e-3, Rng.seeded(0));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) trainStep(setup, batch, 1e-3, Rng.seeded(i));
  assert.equal(tf.memory().numTensors, before);
  assert.equal(calls.length, 3);
  const floatBuffers = Object.values(setup.model.buffers).filter((b) => b.dtype === 'float32').length;
  assert.ok(floatBuffers > 0);
  assert.equal(calls[0]!.length, 2 + Object.keys(setup.model.params).length + floatBuffers);
  assert.deepEqual(calls[0]!.slice(0, 2), ['', '1']); // the loss, then its one term
});

test('sharded evaluation scores every frame once and gives the metrics of an unsharded one', async () => {
  await using setup = smallSetup();
  const { model, val } = setup;
  const opts = { batchSize: 2, saveImages: 0 };
  const whole = await evaluate(model, model.params, singleScale, val!, opts);
  // Rank 1 evaluates first; its gathered value is what rank 0 then receives from it.
  let fromRank1: unknown;
  await evaluate(model, model.params, singleScale, val!, { ...opts, replicas: selfReplicas(1, 2, [], (v) => ((fromRank1 = v), [[] as never, v])) });
  const r0 = await evaluate(model, model.params, singleScale, val!, { ...opts, replicas: selfReplicas(0, 2, [], (v) => [v, fromRank1 as typeof v]) });
  assert.equal(r0.frames, whole.frames);
  assert.ok(Math.abs(r0.psnr - whole.psnr) < 1e-9, `${r0.psnr} vs ${whole.psnr}`);
  assert.ok(Math.abs(r0.ssim - whole.ssim) < 1e-9);
  assert.deepEqual(Object.keys(r0.perVideo), Object.keys(whole.perVideo));
});

test('a binding whose sources the patch does not fit keeps its addon, and the reason is recorded for the error message', () => {
  const dir = packageDir('@tensorflow/tfjs-node')!;
  const pkg = tempDir();
  for (const f of ['package.json', 'binding', 'binding.gyp']) fs.cpSync(path.join(dir, f), path.join(pkg, f), { recursive: true });
  fs.writeFileSync(path.join(pkg, 'binding.gyp'), "{ 'targets': [] }\n"); // another layout: no anchor
  fs.mkdirSync(path.join(pkg, 'deps'));
  fs.mkdirSync(path.join(pkg, 'lib', 'napi-v8'), { recursive: true });
  const addon = path.join(pkg, 'lib', 'napi-v8', 'tfjs_binding.node');
  fs.writeFileSync(addon, 'the stock addon');
  const cache = tempDir();
  const lines: string[] = [];
  const r = provisionCollective({
    pkg: '@tensorflow/tfjs-node',
    kind: 'cpu',
    dir: pkg,
    pkgVersion: '0.0.0-test',
    addonRelPath: 'lib/napi-v8/tfjs_binding.node',
    cacheRoot: cache,
    force: false,
    tools: () => ({ preGyp: '/nonexistent', env: process.env }),
    log: (m) => lines.push(m),
  });
  assert.equal(r.ok, false);
  assert.equal(fs.readFileSync(addon, 'utf8'), 'the stock addon');
  assert.match(lines.at(-1)!, /collective ops and graph functions \(distributed training, graph steps\) unavailable: binding\.gyp: expected exactly one occurrence/);
  assert.match(collectiveFailure(cache, 'cpu', '0.0.0-test')!, /binding\.gyp: expected exactly one occurrence/);
  assert.deepEqual(fs.readdirSync(collectiveCacheDir(cache, 'cpu', '0.0.0-test')), [FAILURE_FILE]);
});

test('a cached build is probed where it is installed, and the previous addon comes back when it does not load', () => {
  const dir = tempDir();
  const installed = path.join(dir, 'tfjs_binding.node');
  const cached = path.join(dir, 'cached.node');
  fs.writeFileSync(installed, 'stock');
  fs.writeFileSync(cached, 'patched');
  const probed: string[] = [];
  const probe = (ok: boolean) => (file: string) => {
    probed.push(`${path.basename(file)}: ${fs.readFileSync(file, 'utf8')}`);
    return ok ? ({ ok: true } as const) : ({ ok: false, why: 'does not load' } as const);
  };
  assert.deepEqual(installCached(cached, installed, probe(false)), { ok: false, why: 'does not load' });
  assert.equal(fs.readFileSync(installed, 'utf8'), 'stock');
  assert.deepEqual(installCached(cached, installed, probe(true)), { ok: true });
  assert.equal(fs.readFileSync(installed, 'utf8'), 'patched');
  assert.deepEqual(probed, ['tfjs_binding.node: patched', 'tfjs_binding.node: patched']);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['cached.node', 'tfjs_binding.node']);
});
