import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochBatches, type Batch, type LoaderOptions } from '../src/data/loader.ts';
import { syntheticDataset } from '../src/data/synthetic.ts';
import { Rng } from '../src/util/rng.ts';
import {
  datasetSource,
  liveWorkers,
  openDatasetSource,
  openParallelLoader,
  parallelEpochBatches,
  syntheticSource,
  type DatasetSource,
} from '../src/data/parallel-loader.ts';

// A self-contained dataset module whose samples depend on their random stream, and which can be
// told to fail (throw) or to kill its thread at one index.
const probeModule = `data:text/javascript,${encodeURIComponent(`
export function probe(o) {
  return {
    name: o.name,
    length: o.length,
    async get(i, rng) {
      if (i === o.failAt) throw new Error('kaput at ' + i);
      if (i === o.exitAt) process.exit(3);
      const input = new Float32Array(2 * 2 * 2 * 3);
      for (let k = 0; k < input.length; k++) input[k] = i + rng.next();
      const gt = new Float32Array(2 * 2 * 3).fill(i);
      return { video: 'v' + (i % 3), frames: [String(i)], input, inputShape: [2, 2, 2, 3], gt, gtShape: [1, 2, 2, 3] };
    },
  };
}
export const notAFunction = 1;
export function notADataset() { return { name: 'x' }; }
`)}`;

const probe = (o: { name?: string; length?: number; failAt?: number; exitAt?: number } = {}): DatasetSource =>
  datasetSource(probeModule, 'probe', { name: 'probe', length: 11, failAt: -1, exitAt: -1, ...o });

const synthOpts = { videos: 3, samplesPerVideo: 4, numFrames: 3, height: 8, width: 8, subFrames: 3 };

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

function assertSameBatches(got: readonly Batch[], want: readonly Batch[], label: string): void {
  assert.equal(got.length, want.length, `${label}: batch count`);
  got.forEach((b, i) => {
    const w = want[i]!;
    assert.deepEqual(b.samples, w.samples, `${label}: batch ${i} samples`);
    assert.deepEqual([b.inputShape, b.gtShape], [w.inputShape, w.gtShape], `${label}: batch ${i} shapes`);
    assert.deepEqual(b.input, w.input, `${label}: batch ${i} input`);
    assert.deepEqual(b.gt, w.gt, `${label}: batch ${i} gt`);
    // Each batch owns its buffers (transferred whole, not views into shared memory).
    assert.equal(b.input.byteLength, b.input.buffer.byteLength);
  });
}

test('same batches as epochBatches: synthetic dataset, in process and with 2 workers, from any batch', async () => {
  const lo: LoaderOptions = { batchSize: 5, shuffle: true, seed: 13, dropLast: false };
  const want = await collect(epochBatches(syntheticDataset(synthOpts), lo, 1));
  assert.equal(want.length, 3);
  for (const workers of [0, 2]) {
    assertSameBatches(await collect(parallelEpochBatches(syntheticSource(synthOpts), { ...lo, workers }, 1)), want, `workers ${workers}`);
  }
  assertSameBatches(await collect(parallelEpochBatches(syntheticSource(synthOpts), { ...lo, workers: 0, prefetch: 3 }, 1, 2)), want.slice(2), 'from 2');
  assert.equal(liveWorkers(), 0);
});

test('random streams cross into workers: a persistent loader matches epochBatches epoch after epoch', async () => {
  const src = probe();
  const ds = await openDatasetSource(src);
  const loader = await openParallelLoader(src, { workers: 1, prefetch: 2 });
  try {
    assert.equal(loader.dataset.name, 'probe');
    assert.equal(loader.dataset.length, 11);
    assert.equal(liveWorkers(), 1);
    const lo: LoaderOptions = { batchSize: 3, shuffle: true, seed: 5, dropLast: true };
    for (const epoch of [0, 1]) {
      const want = await collect(epochBatches(ds, lo, epoch));
      assert.equal(want.length, 3);
      assertSameBatches(await collect(loader.batches(lo, epoch)), want, `epoch ${epoch}`);
    }
    // Epochs differ (order and random streams), so the comparison above is not vacuous.
    const [e0, e1] = [await collect(loader.batches(lo, 0)), await collect(loader.batches(lo, 1))];
    assert.notDeepEqual(e0[0]!.input, e1[0]!.input);
    // Single samples through the worker.
    const s = await loader.dataset.get(4, Rng.derive(1, 'x'));
    const r = await ds.get(4, Rng.derive(1, 'x'));
    assert.deepEqual([s.input, s.inputShape, s.gt, s.gtShape, s.video, s.frames], [r.input, r.inputShape, r.gt, r.gtShape, r.video, r.frames]);
    await assert.rejects(loader.dataset.get(11, Rng.seeded(0)), RangeError);
  } finally {
    await loader.close();
  }
  assert.equal(liveWorkers(), 0);
  await assert.rejects(collect(loader.batches({ batchSize: 2, shuffle: false, seed: 0, dropLast: false }, 0)), /closed/);
});

test('stopping early terminates the workers', async () => {
  const lo: LoaderOptions = { batchSize: 2, shuffle: false, seed: 0, dropLast: false };
  let seen = 0;
  for await (const b of parallelEpochBatches(probe(), { ...lo, workers: 2, prefetch: 4 }, 0)) {
    assert.equal(liveWorkers(), 2);
    assert.deepEqual(
      b.samples.map((s) => s.frames[0]),
      ['0', '1'],
    );
    seen++;
    break;
  }
  assert.equal(seen, 1);
  assert.equal(liveWorkers(), 0);
});

test('a failing sample is reported with the dataset, the sample index and the cause', async () => {
  const lo: LoaderOptions = { batchSize: 4, shuffle: false, seed: 0, dropLast: false };
  for (const workers of [0, 1]) {
    await assert.rejects(collect(parallelEpochBatches(probe({ name: 'flaky', failAt: 6 }), { ...lo, workers }, 0)), (err: Error) => {
      assert.match(err.message, /dataset 'flaky', sample 6: kaput at 6/);
      return true;
    });
    assert.equal(liveWorkers(), 0);
  }
  // A worker that dies names the samples it was loading.
  await assert.rejects(collect(parallelEpochBatches(probe({ name: 'fragile', exitAt: 5 }), { ...lo, workers: 1 }, 0)), /worker 0 for dataset 'fragile' exited with code 3 while loading samples 4, 5, 6, 7/);
  assert.equal(liveWorkers(), 0);
});

test('bad sources and options are refused with what was wrong', async () => {
  await assert.rejects(openParallelLoader(datasetSource(probeModule, 'nothere'), { workers: 1 }), /cannot open dataset source nothere from data:.*no exported function 'nothere' \(functions exported: notADataset, probe\)/s);
  assert.equal(liveWorkers(), 0);
  await assert.rejects(openParallelLoader(datasetSource(probeModule, 'notAFunction'), { workers: 0 }), /no exported function 'notAFunction'/);
  await assert.rejects(openParallelLoader(datasetSource(probeModule, 'notADataset'), { workers: 0 }), /did not return a Dataset/);
  await assert.rejects(openParallelLoader(datasetSource('/no/such/module.ts', 'x'), { workers: 0 }), /cannot import the module/);
  assert.throws(() => datasetSource('relative/module.ts', 'x'), /absolute path/);
  await assert.rejects(openParallelLoader(probe(), { workers: -1 }), /workers must be an integer >= 0/);
  await assert.rejects(openParallelLoader(probe(), { workers: 0, prefetch: 0 }), /prefetch must be an integer >= 1/);
});
