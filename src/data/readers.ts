// Dataset readers for the published benchmark layouts (GoPro, DVD, REDS, BSD) and for a plain
// folder of frames (inference). Each reads in place: an index of frame lists and sizes is built
// once (headers only, optionally cached), the sampling mode turns it into windows, and `get`
// decodes one window, applying the augmentation plan while decoding (only the crop rectangle
// of each frame is converted).
//
// Bad data is found at index time where headers suffice (missing frames, size mismatches,
// unreadable headers, empty folders, numbering gaps) and reported all at once with the files
// at fault. With `skipBad`, those samples are left out instead (with a warning), and a frame that
// fails to decode later (e.g. a truncated file) makes `get(i)` return the next sample that loads,
// i+1, i+2, … wrapping around, augmented with the same random draws `get(i)` would have used.
// A sample that failed once is remembered and skipped without retrying, so the result of
// `get(i, rng)` depends only on `i`, the state of `rng` and which files are bad.
import path from 'node:path';
import { Rng } from '../util/rng.ts';
import { applyGeometry, augmentFitProblem, checkAugment, identityPlan, planAugment } from './augment.ts';
import type { AugmentPlan, AugmentSpec } from './augment.ts';
import type { ClipShape, Dataset, Sample } from './dataset.ts';
import { DataError, decodeImage, FrameCache } from './image.ts';
import type { DecodedImage } from './image.ts';
import { buildIndex, indexProblems } from './index-builder.ts';
import type { DatasetIndex, IndexedVideo } from './index-builder.ts';
import { bsdLayout, dvdLayout, folderLayout, goproLayout, redsLayout } from './layouts.ts';
import type { Layout } from './layouts.ts';
import { checkSampling, DVD_TEST_MIN_FRAMES, videoWindows, windowSpan } from './sampling.ts';
import type { SamplingOptions, Window } from './sampling.ts';

/** Options shared by every reader; all plain JSON values. */
export interface ReaderOptions extends Partial<SamplingOptions> {
  /** Dataset name in messages and summaries (default: the layout, e.g. 'gopro'). */
  readonly name?: string;
  /** Index cache file (JSON); reused while the folders list the same files. */
  readonly cacheFile?: string;
  /** Leave out samples spoiled by bad data, with a warning, instead of failing (default false). */
  readonly skipBad?: boolean;
  /** 'headers' (default): index from image headers; 'full': also decode every frame once. */
  readonly verify?: 'headers' | 'full';
  /** Accept gaps in frame numbering (default false). */
  readonly allowGaps?: boolean;
  /**
   * Keep every decoded frame in memory after its first read (default false): for datasets that
   * fit in RAM (12 bytes a pixel per frame, per loader worker), no file is decoded twice.
   */
  readonly memoryCache?: boolean;
}

/** Readers with ground truth can augment (training); the list order is the order applied. */
export interface TrainableReaderOptions extends ReaderOptions {
  readonly augment?: readonly AugmentSpec[];
}

/** Options of the GoPro (GOPRO_Large) reader. */
export interface GoproOptions extends TrainableReaderOptions {
  /** A split folder of GOPRO_Large, e.g. `GOPRO_Large/train` (the original's root_gt). */
  readonly root: string;
  /** Read `blur_gamma` instead of `blur` (default false). */
  readonly useGamma?: boolean;
}

/** Options of the DVD reader. */
export interface DvdOptions extends TrainableReaderOptions {
  /** Folder of DVD videos, each with `GT/` and `input/` (the original's root_gt). */
  readonly root: string;
}

/** Options of the BSD reader. */
export interface BsdOptions extends TrainableReaderOptions {
  /** A BSD split, e.g. `BSD_3ms24ms/train`, videos with `Sharp/RGB` and `Blur/RGB`. */
  readonly root: string;
}

/** Options of the REDS reader: the sharp and blurry frame folders, which hold the same videos. */
export interface RedsOptions extends TrainableReaderOptions {
  /** Sharp frames, e.g. `REDS/train/train_sharp`. */
  readonly rootGt: string;
  /** Blurry frames, e.g. `REDS/train/train_blur`. */
  readonly rootInput: string;
}

/** Options of the inference-only folder reader (no ground truth, no augmentation). */
export interface FolderOptions extends ReaderOptions {
  /** One folder of frames (no ground truth). */
  readonly root: string;
}

/** Live extras that are not part of a serialisable recipe. */
export interface ReaderHooks {
  /** Where skipped data is reported (default console.warn). */
  readonly warn?: (message: string) => void;
  /** Applied to every sample after the augmentation specs. */
  readonly transform?: (sample: Sample, rng: Rng) => Sample;
}

export interface VideoSummary {
  readonly name: string;
  readonly frames: number;
  readonly samples: number;
  /** Windows left out because a frame was bad (skipBad). */
  readonly skipped: number;
}

/**
 * A dataset read from image files on disk: the file index, the sampling options, per-video sample
 * counts, and the frame ids of each sample.
 */
export interface FrameDataset extends Dataset {
  readonly index: DatasetIndex;
  readonly sampling: SamplingOptions;
  /** Samples per video, in index order. */
  readonly videos: readonly VideoSummary[];
  /** The frame ids of sample `i` (no decoding). */
  clip(i: number): { readonly video: string; readonly input: readonly string[]; readonly gt: readonly string[] };
  /** A few lines: totals and samples per video. */
  describe(): string;
}

/** Problems in the data, every one naming its file; thrown unless `skipBad`. */
export class DatasetProblemsError extends Error {
  constructor(
    readonly dataset: string,
    readonly problems: readonly string[],
  ) {
    const shown = problems.slice(0, 20).map((p) => `  - ${p}`);
    if (problems.length > 20) shown.push(`  … and ${problems.length - 20} more`);
    super(`${dataset}: ${problems.length} problem(s) in the data (fix them, or set skipBad to leave out the samples they spoil):\n${shown.join('\n')}`);
    this.name = 'DatasetProblemsError';
  }
}

interface ClipEntry {
  readonly video: IndexedVideo;
  readonly window: Window;
}

function samplingLabel(s: SamplingOptions): string {
  if (s.sampling === 'video') return 'video: one sample per video';
  return `${s.sampling}, numFrames ${s.numFrames}, interval ${s.interval}, ${s.overlapping ? 'overlapping' : 'not overlapping'}`;
}

/** The windows of every usable video, and how many each gives or loses. */
function collectClips(name: string, index: DatasetIndex, s: SamplingOptions): { clips: ClipEntry[]; videos: VideoSummary[] } {
  const clips: ClipEntry[] = [];
  const videos: VideoSummary[] = [];
  for (const video of index.videos) {
    if (video.problem !== undefined) {
      videos.push({ name: video.name, frames: video.frames.length, samples: 0, skipped: 0 });
      continue;
    }
    if (s.sampling === 'dvd_test' && video.frames.length < DVD_TEST_MIN_FRAMES) {
      throw new Error(`${name}: sampling 'dvd_test' needs videos of at least ${DVD_TEST_MIN_FRAMES} frames; ${video.name} has ${video.frames.length}`);
    }
    let samples = 0;
    let skipped = 0;
    for (const window of videoWindows(video.frames.length, s)) {
      const spoiled = [...window.input, ...window.gt].some((p) => video.frames[p]!.problem !== undefined);
      if (spoiled) skipped++;
      else {
        clips.push({ video, window });
        samples++;
      }
    }
    videos.push({ name: video.name, frames: video.frames.length, samples, skipped });
  }
  return { clips, videos };
}

function checkFits(name: string, index: DatasetIndex, augment: readonly AugmentSpec[]): void {
  const seen = new Set<string>();
  for (const v of index.videos) {
    for (const f of v.frames) {
      if (f.problem !== undefined || seen.has(`${f.width}x${f.height}`)) continue;
      seen.add(`${f.width}x${f.height}`);
      const why = augmentFitProblem(augment, f.height, f.width);
      if (why) throw new Error(`${name}: ${why} (${path.join(v.inputDir, f.file)} is ${f.width}x${f.height} WxH)`);
    }
  }
}

/** Stacks decoded rectangles into `[T, h, w, 3]` through the plan's geometry and frame order. */
function stack(frames: readonly DecodedImage[], plan: AugmentPlan): Float32Array {
  const size = plan.height * plan.width * 3;
  const out = new Float32Array(frames.length * size);
  for (let f = 0; f < frames.length; f++) {
    const src = frames[plan.reverse ? frames.length - 1 - f : f]!;
    applyGeometry(src.data, plan.rect.height, plan.rect.width, 3, plan.geometry, out, f * size);
  }
  return out;
}

interface FrameDatasetConfig {
  readonly name: string;
  readonly layout: Layout;
  readonly options: ReaderOptions;
  readonly augment: readonly AugmentSpec[];
  readonly hooks: ReaderHooks;
}

async function frameDataset(c: FrameDatasetConfig): Promise<FrameDataset> {
  const { name, options: o, augment } = c;
  const sampling = checkSampling({
    ...(o.sampling !== undefined ? { sampling: o.sampling } : {}),
    ...(o.numFrames !== undefined ? { numFrames: o.numFrames } : {}),
    ...(o.interval !== undefined ? { interval: o.interval } : {}),
    ...(o.overlapping !== undefined ? { overlapping: o.overlapping } : {}),
  });
  checkAugment(augment);
  const warn = c.hooks.warn ?? ((m: string) => console.warn(m));
  const skipBad = o.skipBad ?? false;
  const index = await buildIndex(c.layout, {
    verify: o.verify ?? 'headers',
    allowGaps: o.allowGaps ?? false,
    ...(o.cacheFile !== undefined ? { cacheFile: o.cacheFile } : {}),
    warn,
  });
  const problems = indexProblems(index);
  if (problems.length > 0) {
    if (!skipBad) throw new DatasetProblemsError(name, problems);
    for (const p of problems) warn(`${name}: skipping bad data: ${p}`);
  }
  checkFits(name, index, augment);
  const { clips, videos } = collectClips(name, index, sampling);
  if (clips.length === 0) {
    const detail = videos.map((v) => `${v.name} (${v.frames} frames)`).join(', ') || 'none';
    throw new Error(
      `${name}: no samples (${samplingLabel(sampling)}; a window spans ${windowSpan(sampling)} frames). Videos: ${detail}`,
    );
  }

  const bad = new Set<number>();
  const cache = o.memoryCache ? new FrameCache() : null;
  const load = async (i: number, rng: Rng): Promise<Sample> => {
    const { video, window } = clips[i]!;
    const first = video.frames[window.input[0]!]!;
    const plan = augment.length > 0 ? planAugment(augment, rng, first.height, first.width) : identityPlan(first.height, first.width);
    const full = plan.rect.height === first.height && plan.rect.width === first.width;
    const read = (dir: string, p: number, bits: 8 | 16) => {
      const f = video.frames[p]!;
      const file = path.join(dir, f.file);
      const expect = { width: f.width, height: f.height, bits };
      const region = full ? undefined : plan.rect;
      return cache ? cache.read(file, expect, region) : decodeImage(file, expect, region);
    };
    const gtDir = video.gtDir;
    const [inputs, gts] = await Promise.all([
      Promise.all(window.input.map((p) => read(video.inputDir, p, video.frames[p]!.inputBits))),
      gtDir === null ? Promise.resolve([]) : Promise.all(window.gt.map((p) => read(gtDir, p, video.frames[p]!.gtBits ?? 8))),
    ]);
    const shape = (t: number): ClipShape => [t, plan.height, plan.width, 3];
    const gtIds = window.gt.map((p) => video.frames[p]!.id);
    let sample: Sample = {
      video: video.name,
      frames: plan.reverse ? gtIds.reverse() : gtIds,
      input: stack(inputs, plan),
      inputShape: shape(inputs.length),
      gt: stack(gts, plan),
      gtShape: shape(gts.length),
    };
    if (c.hooks.transform) sample = c.hooks.transform(sample, rng);
    return sample;
  };

  return {
    name,
    length: clips.length,
    index,
    sampling,
    videos,
    clip(i) {
      const e = clips[i];
      if (!e) throw new RangeError(`${name}: sample index ${i} out of range [0, ${clips.length})`);
      const id = (p: number) => e.video.frames[p]!.id;
      return { video: e.video.name, input: e.window.input.map(id), gt: e.window.gt.map(id) };
    },
    describe() {
      const lines = [`${name}: ${clips.length} samples from ${videos.length} videos (${samplingLabel(sampling)})`];
      for (const v of videos) lines.push(`  ${v.name}: ${v.frames} frames, ${v.samples} samples${v.skipped ? `, ${v.skipped} skipped` : ''}`);
      return lines.join('\n');
    },
    async get(i, rng) {
      if (!Number.isInteger(i) || i < 0 || i >= clips.length) throw new RangeError(`${name}: sample index ${i} out of range [0, ${clips.length})`);
      if (!skipBad) return load(i, rng);
      const state = rng.state();
      for (let k = 0; k < clips.length; k++) {
        const j = (i + k) % clips.length;
        if (bad.has(j)) continue;
        try {
          return await load(j, Rng.fromState(state));
        } catch (e) {
          if (!(e instanceof DataError)) throw e;
          bad.add(j);
          const { video, window } = clips[j]!;
          warn(`${name}: skipping sample ${j} (${video.name}, frames ${window.gt.map((p) => video.frames[p]!.id).join(',')}): ${e.message}`);
        }
      }
      throw new Error(`${name}: every sample failed to load (see the warnings above)`);
    },
  };
}

function trainable(kind: string, layout: Layout, o: TrainableReaderOptions, hooks: ReaderHooks): Promise<FrameDataset> {
  return frameDataset({ name: o.name ?? kind, layout, options: o, augment: o.augment ?? [], hooks });
}

/** GoPro (GOPRO_Large): `root/<sequence>/{sharp,blur,blur_gamma}/<frame>.png`. */
export function goproDataset(o: GoproOptions, hooks: ReaderHooks = {}): Promise<FrameDataset> {
  return trainable('gopro', goproLayout(o.root, o.useGamma ?? false), o, hooks);
}

/** DVD: `root/<video>/{GT,input}/<frame>.jpg`. */
export function dvdDataset(o: DvdOptions, hooks: ReaderHooks = {}): Promise<FrameDataset> {
  return trainable('dvd', dvdLayout(o.root), o, hooks);
}

/** BSD: `root/<video>/{Sharp,Blur}/RGB/<frame>.png`. */
export function bsdDataset(o: BsdOptions, hooks: ReaderHooks = {}): Promise<FrameDataset> {
  return trainable('bsd', bsdLayout(o.root), o, hooks);
}

/** REDS: `rootGt/<video>/<frame>.png` and `rootInput/<video>/<frame>.png`. */
export function redsDataset(o: RedsOptions, hooks: ReaderHooks = {}): Promise<FrameDataset> {
  return trainable('reds', redsLayout(o.rootGt, o.rootInput), o, hooks);
}

/**
 * A folder of frames, for inference only: samples have no ground truth (`gt` is empty and
 * `gtShape` is `[0, H, W, 3]`); `frames` still names the frames each sample is meant to
 * restore under the sampling mode (the centre frame for n_c, all for n_n, …).
 */
export function folderDataset(o: FolderOptions, hooks: ReaderHooks = {}): Promise<FrameDataset> {
  return frameDataset({ name: o.name ?? 'folder', layout: folderLayout(o.root), options: o, augment: [], hooks });
}
