// Turns a dataset into batches: a per-epoch shuffle derived from the seed, one random stream
// per sample (so augmentation does not depend on batch composition or worker count), and
// stacking into `[B, T, H, W, C]` float32 arrays. Tensors are made by the caller.
import { Rng } from '../util/rng.ts';
import type { ClipShape, Dataset, Sample } from './dataset.ts';

/**
 * Samples stacked into `[B, T, H, W, C]` float32 arrays (values in [0, 1]), with the video and frame
 * ids of each sample.
 */
export interface Batch {
  readonly input: Float32Array;
  readonly inputShape: readonly [number, number, number, number, number];
  readonly gt: Float32Array;
  readonly gtShape: readonly [number, number, number, number, number];
  readonly samples: ReadonlyArray<Pick<Sample, 'video' | 'frames'>>;
}

/**
 * How batches are drawn from a dataset: batch size, shuffling with its seed, and whether a last,
 * smaller batch is dropped.
 */
export interface LoaderOptions {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  /** Drop a last, smaller batch (training), or keep it (evaluation). */
  readonly dropLast: boolean;
  /**
   * Data-parallel training: this process's share of every batch. `batchSize` stays the global
   * batch; replica `index` of `count` gets positions index, index + count, … of each, so the
   * samples of a run and their random streams do not depend on the number of replicas.
   */
  readonly shard?: Shard;
}

/** One replica's share of the batches: replica `index` of `count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/**
 * Replica `index` of `count`'s share of a dataset for evaluation: samples index, index + count, …
 * (sample `i` of the view is sample `index + i · count` of `ds`).
 */
export function shardDataset(ds: Dataset, shard: Shard): Dataset {
  const { index, count } = shard;
  return {
    name: `${ds.name} [shard ${index} of ${count}]`,
    length: Math.max(0, Math.ceil((ds.length - index) / count)),
    get: (i, rng) => ds.get(index + i * count, rng),
  };
}

/** The dataset indices of batch `b` of an epoch's `order`, this replica's share of them when sharded. */
export function batchIndices(order: readonly number[], b: number, o: Pick<LoaderOptions, 'batchSize' | 'shard'>): number[] {
  const all = order.slice(b * o.batchSize, (b + 1) * o.batchSize);
  if (o.shard === undefined) return all;
  const { index, count } = o.shard;
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) throw new Error(`shard ${index} of ${count}: expected 0 <= index < count`);
  return all.filter((_, k) => k % count === index);
}

/**
 * The number of batches in one epoch of `ds`: `length / batchSize`, rounded down with `dropLast`, up
 * otherwise.
 */
export function batchesPerEpoch(ds: Dataset, o: Pick<LoaderOptions, 'batchSize' | 'dropLast'>): number {
  return o.dropLast ? Math.floor(ds.length / o.batchSize) : Math.ceil(ds.length / o.batchSize);
}

/** Sample order of one epoch. */
export function epochOrder(ds: Dataset, o: Pick<LoaderOptions, 'shuffle' | 'seed'>, epoch: number): number[] {
  return o.shuffle ? Rng.derive(o.seed, `order:${epoch}`).permutation(ds.length) : Array.from({ length: ds.length }, (_, i) => i);
}

function sameShape(a: ClipShape, b: ClipShape): boolean {
  return a.every((v, i) => v === b[i]);
}

export function collate(samples: readonly Sample[]): Batch {
  const first = samples[0];
  if (!first) throw new Error('collate: empty batch');
  for (const s of samples) {
    if (!sameShape(s.inputShape, first.inputShape) || !sameShape(s.gtShape, first.gtShape)) {
      throw new Error(
        `collate: sample ${s.video}/${s.frames.join(',')} has input ${JSON.stringify(s.inputShape)} and gt ${JSON.stringify(s.gtShape)}, ` +
          `but the batch started with ${JSON.stringify(first.inputShape)} and ${JSON.stringify(first.gtShape)} (crop to a common size; whole videos ('video' sampling) of different lengths need batch size 1)`,
      );
    }
  }
  const stack = (pick: (s: Sample) => Float32Array) => {
    const n = pick(first).length;
    const out = new Float32Array(n * samples.length);
    samples.forEach((s, i) => out.set(pick(s), i * n));
    return out;
  };
  return {
    input: stack((s) => s.input),
    inputShape: [samples.length, ...first.inputShape],
    gt: stack((s) => s.gt),
    gtShape: [samples.length, ...first.gtShape],
    samples: samples.map((s) => ({ video: s.video, frames: s.frames })),
  };
}

/**
 * The batches of one epoch, starting at batch `from` (for exact resume in mid-epoch).
 * The next batch is requested while the current one is consumed.
 */
export async function* epochBatches(ds: Dataset, o: LoaderOptions, epoch: number, from = 0): AsyncGenerator<Batch> {
  const order = epochOrder(ds, o, epoch);
  const n = batchesPerEpoch(ds, o);
  const load = (b: number): Promise<Batch> => {
    const idx = batchIndices(order, b, o);
    const p = Promise.all(idx.map((i) => ds.get(i, Rng.derive(o.seed, `sample:${epoch}:${i}`)))).then(collate);
    p.catch(() => undefined); // a prefetch abandoned by an early stop must not be an unhandled rejection
    return p;
  };
  let next = from < n ? load(from) : undefined;
  for (let b = from; b < n; b++) {
    const current = await next!;
    next = b + 1 < n ? load(b + 1) : undefined;
    yield current;
  }
}
