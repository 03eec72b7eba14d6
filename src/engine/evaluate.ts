// Evaluation over a dataset in eval mode: per-image PSNR/SSIM (the original's definitions),
// aggregated per video and overall, plus a few side-by-side images for inspection.
import { tf } from '../runtime/index.ts';
import type { Tensor, Tensor4D } from '../runtime/index.ts';
import type { Dataset } from '../data/dataset.ts';
import { epochBatches, shardDataset } from '../data/loader.ts';
import type { Model, Params } from '../models/model.ts';
import { psnrPerImage, ssimPerImage } from '../metrics/index.ts';
import type { Strategy } from './strategy.ts';
import { batchTensors } from './step.ts';
import type { Replicas } from './replicas.ts';

/** Mean PSNR/SSIM of one video and how many frames they cover. */
export interface VideoMetrics {
  readonly psnr: number;
  readonly ssim: number;
  /** PSNR of the blurry input's frames (null when not comparable with the output). */
  readonly inputPsnr: number | null;
  readonly frames: number;
}

/** A restored image beside its input and ground truth (input | output | gt), float RGB `[H, W, 3]` row-major. */
export interface SideBySide {
  readonly name: string;
  readonly height: number;
  readonly width: number;
  readonly rgb: Float32Array;
}

/** Metrics of an evaluation: overall, per video, of the blurry input, plus a few side-by-side images. */
export interface EvalResult {
  readonly psnr: number;
  readonly ssim: number;
  /** PSNR of the blurry input's matching frame against the ground truth (when shapes allow). */
  readonly inputPsnr: number | null;
  readonly perVideo: Record<string, VideoMetrics>;
  readonly images: readonly SideBySide[];
  readonly frames: number;
}

/** Options of {@link evaluate}: batch size, images to keep and a progress callback. */
export interface EvalOptions {
  readonly batchSize: number;
  /** How many side-by-side (input | output | gt) images to return. */
  readonly saveImages: number;
  /** Called after each batch with the batches done and the total number of batches. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Called with every restored frame (to save it), in order. */
  readonly onRestored?: (frame: RestoredFrame) => Promise<void>;
  /**
   * Data-parallel evaluation: each replica scores its share of the samples, and every replica
   * gets the metrics of all frames, each scored once (`onRestored` and `images` see this
   * replica's share only).
   */
  readonly replicas?: Pick<Replicas, 'rank' | 'size' | 'gather'>;
}

/** One scored frame and the sample it came from (the last sample to predict a frame counts). */
interface FrameScore {
  readonly video: string;
  readonly frame: string;
  readonly sample: number;
  readonly psnr: number;
  readonly ssim: number;
  readonly inputPsnr: number;
}

/** A restored frame with its blurry input (when comparable) and ground truth, float RGB `[H, W, 3]` row-major. */
export interface RestoredFrame {
  readonly video: string;
  /** The ground-truth frame's id. */
  readonly frame: string;
  readonly height: number;
  readonly width: number;
  /** Clamped to [0, 1]. */
  readonly output: Float32Array;
  readonly input: Float32Array | null;
  readonly gt: Float32Array;
}

/** Images whose metrics are computed together. */
const METRIC_CHUNK = 8;

/** The blurry input frame(s) matching ground-truth frames [start, end): the centre frame, or the same frames. */
function alignedInput(input: Tensor, gtFrames: number, [start, end]: readonly [number, number]): Tensor4D {
  if (input.rank === 4) return input as Tensor4D;
  const [b, t, h, w, c] = input.shape as [number, number, number, number, number];
  const [from, count] = gtFrames === t ? [start, end - start] : [Math.floor(t / 2), 1];
  return tf.reshape(tf.slice(input, [0, from, 0, 0, 0], [b, count, h, w, c]), [b * count, h, w, c]);
}

/** Evaluates a model in eval mode over a dataset: per-image PSNR/SSIM aggregated per video and overall. */
export async function evaluate(model: Model, params: Params, strategy: Strategy, ds: Dataset, opts: EvalOptions): Promise<EvalResult> {
  const { replicas } = opts;
  const data = replicas ? shardDataset(ds, { index: replicas.rank, count: replicas.size }) : ds;
  const sampleIndex = (local: number) => (replicas ? replicas.rank + local * replicas.size : local);
  const scored: FrameScore[] = [];
  const images: SideBySide[] = [];
  const total = Math.ceil(data.length / opts.batchSize);
  let done = 0;
  for await (const batch of epochBatches(data, { batchSize: opts.batchSize, shuffle: false, seed: 0, dropLast: false }, 0)) {
    const gtFrames = batch.gtShape[1];
    let range: readonly [number, number] = [0, gtFrames];
    const [out, gt, blurry] = tf.tidy(() => {
      const { input, gt } = batchTensors(batch);
      const pair = strategy.forward(model, params, input, gt, false)[0]!;
      range = pair.frames ?? range;
      return [pair.out, pair.gt, alignedInput(input, gtFrames, range)] as const;
    });
    const hasInput = blurry.shape.join(',') === gt.shape.join(',');
    const values: number[][] = [[], [], []];
    let side: Tensor4D | undefined;
    let saved: { output: Float32Array; gt: Float32Array; input: Float32Array | undefined } | undefined;
    try {
      if (opts.onRestored) {
        const clamped = tf.clipByValue(out, 0, 1);
        saved = { output: clamped.dataSync() as Float32Array, gt: gt.dataSync() as Float32Array, input: hasInput ? (blurry.dataSync() as Float32Array) : undefined };
        clamped.dispose();
      }
      // Metrics a few images at a time: a whole video ('video' sampling) at once would hold
      // several SSIM maps of every frame.
      for (let from = 0; from < gt.shape[0]; from += METRIC_CHUNK) {
        const chunk = tf.tidy(() => {
          const n = Math.min(METRIC_CHUNK, gt.shape[0] - from);
          const part = (x: Tensor4D) => x.slice(from, n);
          const inPsnr = hasInput ? psnrPerImage(part(gt), part(blurry)) : tf.fill([n], NaN);
          return tf.stack([psnrPerImage(part(gt), part(out)), ssimPerImage(part(gt), part(out)), inPsnr]);
        });
        (chunk.arraySync() as number[][]).forEach((row, k) => values[k]!.push(...row));
        chunk.dispose();
      }
      const want = Math.min(opts.saveImages - images.length, out.shape[0]);
      if (want > 0 && hasInput) side = tf.tidy(() => tf.concat([blurry.slice(0, want), tf.clipByValue(out.slice(0, want), 0, 1), gt.slice(0, want)], 2));
    } finally {
      tf.dispose([out, gt, blurry]);
    }
    const first = done * opts.batchSize;
    const names = batch.samples.flatMap((s, k) => s.frames.slice(range[0], range[1]).map((f) => ({ video: s.video, frame: f, sample: sampleIndex(first + k) })));
    names.forEach(({ video, frame, sample }, i) => scored.push({ video, frame, sample, psnr: values[0]![i]!, ssim: values[1]![i]!, inputPsnr: values[2]![i]! }));
    if (saved && opts.onRestored) {
      const [, h, w, c] = gt.shape as [number, number, number, number];
      const size = h * w * c;
      const at = (d: Float32Array, i: number) => d.subarray(i * size, (i + 1) * size);
      for (const [i, { video, frame }] of names.entries()) {
        await opts.onRestored({ video, frame, height: h, width: w, output: at(saved.output, i), input: saved.input ? at(saved.input, i) : null, gt: at(saved.gt, i) });
      }
    }
    if (side) {
      const [n, h, w] = side.shape as [number, number, number, number];
      const data = side.dataSync() as Float32Array;
      side.dispose();
      for (let i = 0; i < n; i++) {
        const name = names[i]!;
        images.push({ name: `${name.video}/${name.frame}`, height: h, width: w, rgb: data.slice(i * h * w * 3, (i + 1) * h * w * 3) });
      }
    }
    opts.onProgress?.(++done, total);
  }
  // Every replica's scores in sample order (a stable sort keeps each sample's frames in order).
  const ordered = replicas ? replicas.gather(scored).flat().sort((a, b) => a.sample - b.sample) : scored;
  // A frame predicted by several overlapping windows counts once (its last prediction).
  const seen = new Map<string, FrameScore>();
  for (const f of ordered) seen.set(`${f.video}/${f.frame}`, f);
  const perVideo: Record<string, VideoMetrics> = {};
  const acc = new Map<string, { psnr: number; ssim: number; inputPsnr: number; n: number }>();
  for (const v of seen.values()) {
    const a = acc.get(v.video) ?? { psnr: 0, ssim: 0, inputPsnr: 0, n: 0 };
    acc.set(v.video, { psnr: a.psnr + v.psnr, ssim: a.ssim + v.ssim, inputPsnr: a.inputPsnr + v.inputPsnr, n: a.n + 1 });
  }
  for (const [video, a] of [...acc].sort(([x], [y]) => x.localeCompare(y))) {
    const inputPsnr = a.inputPsnr / a.n;
    perVideo[video] = { psnr: a.psnr / a.n, ssim: a.ssim / a.n, inputPsnr: Number.isNaN(inputPsnr) ? null : inputPsnr, frames: a.n };
  }
  const all = [...seen.values()];
  const mean = (f: (v: (typeof all)[number]) => number) => (all.length === 0 ? NaN : all.reduce((s, v) => s + f(v), 0) / all.length);
  const inputPsnr = mean((v) => v.inputPsnr);
  return { psnr: mean((v) => v.psnr), ssim: mean((v) => v.ssim), inputPsnr: Number.isNaN(inputPsnr) ? null : inputPsnr, perVideo, images, frames: all.length };
}
