// Data loading throughput: decode + crop + augment + batch of 1280×720 PNG frames through the
// GoPro reader, in this thread and with worker threads. The frames are made once with sharp
// from the project's photographs (a sharp and a blurred copy, GOPRO_Large layout) in a
// temporary folder that is removed afterwards.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { hflip, randomCrop, transpose, vflip } from '../data/augment.ts';
import { datasetSource, openParallelLoader, type DatasetSource } from '../data/parallel-loader.ts';
import type { LoaderOptions } from '../data/loader.ts';
import { defaultImagesDir, listPhotos } from '../synth/photo.ts';
import { peakRssMb } from './timing.ts';
import { siblingModule } from '../util/module-url.ts';

export interface LoaderBenchOptions {
  /** Worker counts to measure (default [0, 1, 2]; 0 is the in-process baseline). */
  readonly workers?: readonly number[];
  /** Batches timed per worker count, after one untimed batch (default 8). */
  readonly batches?: number;
  readonly batchSize?: number;
  /** Input frames per sample (centre sampling; default 5, as the video models use). */
  readonly numFrames?: number;
  /** Square random crop (default 256, as every recipe uses). */
  readonly crop?: number;
  /** Frames of the generated sequence (default 12). */
  readonly frames?: number;
  /** Batches requested ahead (default: the loader's, 2 × workers, at least 1). */
  readonly prefetch?: number;
}

const WIDTH = 1280;
const HEIGHT = 720;

/** A GOPRO_Large-style sequence of `count` frames at 1280×720 under `root/bench/`. */
export async function makeFrames(root: string, count: number): Promise<void> {
  const photos = await listPhotos(defaultImagesDir);
  const seq = path.join(root, 'bench');
  await fsp.mkdir(path.join(seq, 'sharp'), { recursive: true });
  await fsp.mkdir(path.join(seq, 'blur'), { recursive: true });
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const name = `${String(i + 1).padStart(6, '0')}.png`;
      const frame = await sharp(photos[i % photos.length]!).resize(WIDTH, HEIGHT, { fit: 'cover' }).removeAlpha().toColourspace('srgb').raw().toBuffer();
      const raw = { raw: { width: WIDTH, height: HEIGHT, channels: 3 as const } };
      await sharp(frame, raw).png().toFile(path.join(seq, 'sharp', name));
      await sharp(frame, raw).blur(4).png().toFile(path.join(seq, 'blur', name));
    }),
  );
}

/** The GoPro reader on `root` with the recipes' augmentation, as a worker-loadable source. */
export function goproBenchSource(root: string, numFrames: number, crop: number): DatasetSource {
  return datasetSource(siblingModule('../data/readers.ts', import.meta.url), 'goproDataset', {
    root,
    name: 'gopro-bench',
    sampling: 'n_c',
    numFrames,
    augment: [randomCrop(crop), hflip(), vflip(), transpose()],
  });
}

/**
 * Rows (one per worker count) of `{ bench: 'loader', workers, framesPerSec, … }`. Asynchronous:
 * it waits on worker threads. `framesPerSec` counts decoded frame files (inputs and ground
 * truth) per second of loading; `startupMs` is the time to start the workers and index the data.
 */
export async function* loaderBenchRows(opts: LoaderBenchOptions = {}): AsyncGenerator<Record<string, unknown>> {
  const workerCounts = opts.workers ?? [0, 1, 2];
  const batches = opts.batches ?? 8;
  const batchSize = opts.batchSize ?? 4;
  const numFrames = opts.numFrames ?? 5;
  const crop = opts.crop ?? 256;
  const frames = opts.frames ?? 12;
  for (const [k, v] of Object.entries({ batches, batchSize, numFrames, crop, frames })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`loader bench: ${k} must be a positive integer, got ${v}`);
  }
  if (frames < numFrames) throw new Error(`loader bench: frames (${frames}) must be at least numFrames (${numFrames})`);
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'simdeblur-loader-bench-'));
  try {
    await makeFrames(root, frames);
    const source = goproBenchSource(root, numFrames, crop);
    for (const workers of workerCounts) {
      const t0 = performance.now();
      const loader = await openParallelLoader(source, { workers, prefetch: opts.prefetch });
      const startupMs = performance.now() - t0;
      try {
        let taken = 0;
        let samples = 0;
        let start = 0;
        // Epochs follow each other until enough batches are timed; the first batch warms up.
        for (let epoch = 0; taken <= batches; epoch++) {
          const lo: LoaderOptions = { batchSize, shuffle: true, seed: 1, dropLast: true };
          let any = false;
          for await (const b of loader.batches(lo, epoch)) {
            any = true;
            if (taken === 0) start = performance.now();
            else samples += b.inputShape[0];
            if (++taken > batches) break;
          }
          if (!any) throw new Error(`loader bench: the dataset has fewer than ${batchSize} samples (${loader.dataset.length})`);
        }
        const seconds = (performance.now() - start) / 1000;
        yield {
          bench: 'loader',
          dataset: loader.dataset.name,
          frameSize: `${WIDTH}x${HEIGHT}`,
          crop,
          numFrames,
          batchSize,
          workers,
          prefetch: loader.prefetch,
          batches,
          seconds: Number(seconds.toFixed(3)),
          framesPerSec: Number(((samples * (numFrames + 1)) / seconds).toFixed(1)),
          samplesPerSec: Number((samples / seconds).toFixed(2)),
          msPerBatch: Number(((seconds * 1000) / batches).toFixed(1)),
          startupMs: Math.round(startupMs),
          peakRssMb: peakRssMb(),
        };
      } finally {
        await loader.close();
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
