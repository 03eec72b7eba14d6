// Writes a synthetic blur dataset in the layout of one of the video deblurring benchmarks.
// Every video pans a virtual camera over one photograph; every random choice comes from a
// stream derived from (seed, split, video[, frame]), so a dataset is a pure function of its
// settings, and an interrupted run resumes by rendering only the frames whose files are missing.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Rng } from '../util/rng.ts';
import { cleanStaleTemps, writeFileAtomic } from '../io/atomic.ts';
import { defaultMotion, type MotionOptions } from './trajectory.ts';
import { addNoise, toBytes, type Averaging, type Interpolation, type RgbImage } from './render.ts';
import { checkVideoOptions, defaultMaxStep, planVideo, renderFrame, type SubFrames, type VideoOptions } from './video.ts';
import { defaultImagesDir, listPhotos, readPhoto, resizedPhoto, type Photo } from './photo.ts';
import { checkJpegQuality, defaultJpegQuality, encodeImage, jpegRoundTrip } from './encode.ts';
import { isLayoutName, layoutNames, layoutOf, splitNames, type DatasetRoots, type FrameFiles, type Layout, type LayoutName, type SplitName } from './layout.ts';

/**
 * Options of `synthesize`: the benchmark layout and output folder, the number and size of videos, and
 * how motion, blur, noise and compression are simulated.
 */
export interface SynthOptions {
  readonly layout: LayoutName;
  /** Output folder; the benchmark's split folders are created inside it. */
  readonly out: string;
  /** Videos per split. */
  readonly videos: number;
  /** Frames per video. */
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly seed: number;
  /** Folder of source photographs (default: the project's assets/images). */
  readonly images?: string;
  /**
   * Sharp sub-frames averaged per blurred frame: an odd number (GoPro used 7 to 13), or 'auto'
   * (default): per frame, enough that no pixel moves more than `maxStep` between sub-frames.
   */
  readonly subFrames?: SubFrames;
  /** With `subFrames: 'auto'`: largest motion between consecutive sub-frames (default 1.5 px). */
  readonly maxStep?: number;
  /** Fraction of the frame interval the shutter is open (default 1). */
  readonly exposure?: number;
  /** Camera motion limits (default: `defaultMotion(width, height)`). */
  readonly motion?: Partial<MotionOptions>;
  /** Blur model of single-input layouts (default 'linear'); GoPro always writes both. */
  readonly averaging?: Averaging;
  /** Gamma of the camera response for linear-light averaging (default 2.2). */
  readonly gamma?: number;
  readonly interpolation?: Interpolation;
  /** Gaussian read-noise sigma added to blurred frames, in [0, 1] units (default 0). */
  readonly noise?: number;
  /** Signal-dependent (Poisson-like) noise: variance `shotNoise * value` (default 0). */
  readonly shotNoise?: number;
  /**
   * JPEG quality: DVD stores JPEG files (default 90); for the PNG layouts, when given, the
   * blurred inputs go through a JPEG round trip (compression artefacts), the sharp frames do not.
   */
  readonly jpegQuality?: number;
  /** Splits to write (default both). */
  readonly split?: SplitName | 'both';
  /** Called after each frame of each split is written or found already present. */
  readonly onProgress?: (p: SynthProgress) => void;
}

/**
 * Progress of `synthesize`, reported once per frame: which frame, how many of the total are done, and
 * whether its files were already present.
 */
export interface SynthProgress {
  readonly split: SplitName;
  readonly video: string;
  readonly frame: number;
  /** Frames finished so far (written or already present), of `total`. */
  readonly done: number;
  readonly total: number;
  /** The frame's files were all present already. */
  readonly skipped: boolean;
}

/** One split written by `synthesize`: the folders to point a reader at and the names of its videos. */
export interface SynthSplitResult {
  readonly split: SplitName;
  readonly roots: DatasetRoots;
  readonly videos: readonly string[];
}

/**
 * What `synthesize` did: the layout and output folder, each split written, files written and frames
 * already present.
 */
export interface SynthResult {
  readonly layout: LayoutName;
  readonly out: string;
  readonly splits: readonly SynthSplitResult[];
  /** Files written by this run. */
  readonly written: number;
  /** Frames whose files were all present. */
  readonly skippedFrames: number;
}

/** Every setting that determines the files' contents (recorded next to the dataset). */
export interface SynthSettings {
  readonly layout: LayoutName;
  readonly videos: number;
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly seed: number;
  readonly subFrames: SubFrames;
  readonly maxStep: number;
  readonly exposure: number;
  readonly motion: MotionOptions;
  readonly averaging: Averaging;
  readonly gamma: number;
  readonly interpolation: Interpolation;
  readonly noise: number;
  readonly shotNoise: number;
  readonly jpegQuality: number | null;
}

/** Name of the file in the output folder that records the settings a synthesised dataset was made with. */
export const MANIFEST = 'synth.json';

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`synthesize: ${name} must be a positive integer, got ${v}`);
  return v;
}

function nonNegative(name: string, v: number): number {
  if (!(Number.isFinite(v) && v >= 0)) throw new Error(`synthesize: ${name} must be a finite number >= 0, got ${v}`);
  return v;
}

/** Validates the options and fills defaults. */
export function synthSettings(o: SynthOptions): SynthSettings {
  if (!isLayoutName(o.layout)) throw new Error(`synthesize: layout must be one of ${layoutNames.join(', ')}, got '${String(o.layout)}'`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new Error(`synthesize: seed must be an integer in [0, 2^32), got ${o.seed}`);
  const width = positiveInt('width', o.width);
  const height = positiveInt('height', o.height);
  const motion = { ...defaultMotion(width, height), ...o.motion };
  for (const k of ['speed', 'rotation', 'zoom'] as const) nonNegative(`motion.${k}`, motion[k]);
  const averaging = o.averaging ?? 'linear';
  if (averaging !== 'linear' && averaging !== 'plain') throw new Error(`synthesize: averaging must be 'linear' or 'plain', got '${String(averaging)}'`);
  const interpolation = o.interpolation ?? 'bilinear';
  if (interpolation !== 'bilinear' && interpolation !== 'bicubic') throw new Error(`synthesize: interpolation must be 'bilinear' or 'bicubic', got '${String(interpolation)}'`);
  const gamma = o.gamma ?? 2.2;
  if (!(Number.isFinite(gamma) && gamma >= 1)) throw new Error(`synthesize: gamma must be a finite number >= 1, got ${gamma}`);
  const jpegQuality = o.jpegQuality ?? (o.layout === 'dvd' ? defaultJpegQuality : null);
  if (jpegQuality !== null) checkJpegQuality(jpegQuality);
  const s: SynthSettings = {
    layout: o.layout,
    videos: positiveInt('videos', o.videos),
    frames: positiveInt('frames', o.frames),
    width,
    height,
    seed: o.seed,
    subFrames: o.subFrames ?? 'auto',
    maxStep: o.maxStep ?? defaultMaxStep,
    exposure: o.exposure ?? 1,
    motion,
    averaging,
    gamma,
    interpolation,
    noise: nonNegative('noise', o.noise ?? 0),
    shotNoise: nonNegative('shotNoise', o.shotNoise ?? 0),
    jpegQuality,
  };
  if (!(Number.isFinite(s.maxStep) && s.maxStep > 0)) throw new Error(`synthesize: maxStep must be a positive number, got ${s.maxStep}`);
  try {
    checkVideoOptions(videoOptions(s));
  } catch (err) {
    throw new Error(`synthesize: ${err instanceof Error ? err.message : String(err)}`);
  }
  return s;
}

function videoOptions(s: SynthSettings): VideoOptions {
  return { width: s.width, height: s.height, frames: s.frames, subFrames: s.subFrames, exposure: s.exposure, motion: s.motion };
}

function splitsOf(split: SynthOptions['split']): SplitName[] {
  if (split === undefined || split === 'both') return [...splitNames];
  if (!(splitNames as readonly string[]).includes(split)) throw new Error(`synthesize: split must be 'train', 'test' or 'both', got '${String(split)}'`);
  return [split];
}

interface Manifest {
  readonly version: 1;
  readonly settings: SynthSettings;
  /** Source photographs by name and size: changing them changes the dataset. */
  readonly photos: ReadonlyArray<{ readonly name: string; readonly bytes: number }>;
}

function differences(a: unknown, b: unknown, at = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
  }
  return a === b ? [] : [`${at || '(root)'}: ${JSON.stringify(b)} on disk, ${JSON.stringify(a)} now`];
}

/** Records the settings, or checks them against those of an earlier run in the same folder. */
async function claimOutput(out: string, manifest: Manifest): Promise<void> {
  const file = path.join(out, MANIFEST);
  let previous: unknown;
  try {
    previous = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`synthesize: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (previous !== undefined) {
    const diff = differences(manifest, previous);
    if (diff.length > 0) {
      throw new Error(`synthesize: ${out} holds a dataset made with other settings (${diff.join('; ')}); use another output folder or delete it`);
    }
    return;
  }
  await fsp.mkdir(out, { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

function frameComplete(files: FrameFiles): boolean {
  return fs.existsSync(files.sharp) && files.blurred.every((b) => fs.existsSync(b.file));
}

interface FrameJob {
  readonly files: FrameFiles;
  readonly width: number;
  readonly height: number;
  readonly sharp: RgbImage;
  readonly blurred: Readonly<Record<Averaging, RgbImage>>;
  readonly noiseRng: () => Rng;
}

/** Encodes and writes the missing files of one frame; resolves to the number written. */
async function writeFrame(layout: Layout, s: SynthSettings, job: FrameJob): Promise<number> {
  const { width: w, height: h } = job;
  const enc = { format: layout.format, quality: s.jpegQuality ?? undefined };
  let written = 0;
  const put = async (file: string, bytes: Uint8Array) => {
    if (fs.existsSync(file)) return;
    await writeFileAtomic(file, await encodeImage(bytes, w, h, enc));
    written++;
  };
  const writes = [put(job.files.sharp, toBytes(job.sharp))];
  for (const b of job.files.blurred) {
    const noisy = s.noise > 0 || s.shotNoise > 0 ? addNoise(job.blurred[b.averaging], job.noiseRng(), { sigma: s.noise, shot: s.shotNoise }) : job.blurred[b.averaging];
    let bytes = toBytes(noisy);
    if (layout.format === 'png' && s.jpegQuality !== null) bytes = await jpegRoundTrip(bytes, w, h, s.jpegQuality);
    writes.push(put(b.file, bytes));
  }
  await Promise.all(writes);
  return written;
}

/**
 * Synthesises the dataset. Files are written atomically; files already present are kept, so a
 * re-run with the same settings completes an interrupted one. A folder made with other settings
 * is refused (its `synth.json` records them).
 */
export async function synthesize(o: SynthOptions): Promise<SynthResult> {
  const s = synthSettings(o);
  const splits = splitsOf(o.split);
  const layout = layoutOf(s.layout);
  const out = path.resolve(o.out);
  const photoFiles = await listPhotos(o.images ?? defaultImagesDir);
  const photos = await Promise.all(photoFiles.map(async (f) => ({ name: path.basename(f), bytes: (await fsp.stat(f)).size })));
  await claimOutput(out, { version: 1, settings: s, photos });

  const decoded = new Map<string, Promise<Photo>>();
  const photo = (file: string) => {
    let p = decoded.get(file);
    if (!p) decoded.set(file, (p = readPhoto(file)));
    return p;
  };
  const total = splits.length * s.videos * s.frames;
  let done = 0;
  let written = 0;
  let skippedFrames = 0;
  const results: SynthSplitResult[] = [];
  for (const split of splits) {
    const order = Rng.derive(s.seed, `synth:${split}:photos`).permutation(photoFiles.length);
    const videos: string[] = [];
    for (let v = 0; v < s.videos; v++) {
      const video = layout.videoName(v);
      videos.push(video);
      const files = Array.from({ length: s.frames }, (_, k) => layout.frameFiles(out, split, v, k, s.averaging));
      const missing = files.map((f) => !frameComplete(f));
      let render: ((k: number) => FrameJob) | undefined;
      if (missing.some(Boolean)) {
        const dirs = new Set(files.flatMap((f) => [f.sharp, ...f.blurred.map((b) => b.file)]).map((f) => path.dirname(f)));
        for (const d of dirs) {
          await fsp.mkdir(d, { recursive: true });
          await cleanStaleTemps(d); // leftovers of an interrupted run
        }
        const src = await photo(photoFiles[order[v % order.length]!]!);
        const plan = planVideo(Rng.derive(s.seed, `synth:${split}:video:${v}`), src, videoOptions(s));
        const image = await resizedPhoto(src, plan.photoWidth, plan.photoHeight);
        const ro = { subFrames: s.subFrames, maxStep: s.maxStep, exposure: s.exposure, interpolation: s.interpolation, gamma: s.gamma };
        render = (k) => ({
          files: files[k]!,
          width: s.width,
          height: s.height,
          ...renderFrame(image, plan, k, ro),
          noiseRng: () => Rng.derive(s.seed, `synth:${split}:noise:${v}:${k}`),
        });
      }
      // Frame k is encoded and written (sharp's threads) while frame k+1 renders (this thread).
      let pending: { readonly k: number; readonly p: Promise<number> } | undefined;
      const settle = async () => {
        if (!pending) return;
        const { k, p } = pending;
        pending = undefined;
        written += await p;
        o.onProgress?.({ split, video, frame: k, done: ++done, total, skipped: false });
      };
      for (let k = 0; k < s.frames; k++) {
        if (!missing[k] || !render) {
          await settle();
          skippedFrames++;
          o.onProgress?.({ split, video, frame: k, done: ++done, total, skipped: true });
          continue;
        }
        const job = render(k);
        await settle();
        const p = writeFrame(layout, s, job);
        p.catch(() => undefined); // awaited by settle(); no unhandled rejection meanwhile
        pending = { k, p };
      }
      await settle();
    }
    results.push({ split, roots: layout.roots(out, split), videos });
  }
  return { layout: s.layout, out, splits: results, written, skippedFrames };
}
