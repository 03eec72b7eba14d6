// A procedural blur generator: random textured scenes moved along a straight line, blurred by
// averaging sub-frames along the motion. Enough to drive the engine and its tests before any
// benchmark has been downloaded; fully determined by (seed, sample index).
import { Rng } from '../util/rng.ts';
import type { ClipShape, Dataset, Sample } from './dataset.ts';

/**
 * Options of the synthetic dataset: its size, clip length, frame size in pixels, and how the blur is
 * made.
 */
export interface SyntheticOptions {
  /** Number of distinct videos; each gives `samplesPerVideo` samples. */
  readonly videos: number;
  readonly samplesPerVideo: number;
  /** Frames in each input clip (1 for image models). */
  readonly numFrames: number;
  /** Ground-truth frames per sample, centred in the clip (1: the centre frame), or all. */
  readonly gtFrames: number | 'all';
  readonly height: number;
  readonly width: number;
  /** Sub-frames averaged into one blurred frame. */
  readonly subFrames: number;
  /** Longest motion, in pixels per frame. */
  readonly maxMotion: number;
  readonly seed: number;
}

/**
 * Default synthetic dataset options: 4 videos of 8 samples, 5-frame clips of 32×32 pixels with the
 * centre frame as ground truth.
 */
export const syntheticDefaults: SyntheticOptions = {
  videos: 4,
  samplesPerVideo: 8,
  numFrames: 5,
  gtFrames: 1,
  height: 32,
  width: 32,
  subFrames: 7,
  maxMotion: 4,
  seed: 0,
};

interface Blob {
  cx: number;
  cy: number;
  r: number;
  color: [number, number, number];
  square: boolean;
}

/** A scene is a smooth background plus coloured discs and squares; sampled at real coordinates. */
function makeScene(rng: Rng): (x: number, y: number, out: Float32Array, o: number) => void {
  const base = [rng.next(), rng.next(), rng.next()] as const;
  const fx = rng.uniform(0.02, 0.15);
  const fy = rng.uniform(0.02, 0.15);
  const blobs: Blob[] = Array.from({ length: 12 }, () => ({
    cx: rng.uniform(-16, 80),
    cy: rng.uniform(-16, 80),
    r: rng.uniform(2, 9),
    color: [rng.next(), rng.next(), rng.next()],
    square: rng.next() < 0.5,
  }));
  return (x, y, out, o) => {
    const wave = 0.15 * Math.sin(fx * x) * Math.cos(fy * y);
    let r = base[0] * 0.6 + wave;
    let g = base[1] * 0.6 + wave;
    let b = base[2] * 0.6 + wave;
    for (const bl of blobs) {
      const dx = x - bl.cx;
      const dy = y - bl.cy;
      const inside = bl.square ? Math.max(Math.abs(dx), Math.abs(dy)) < bl.r : dx * dx + dy * dy < bl.r * bl.r;
      if (inside) [r, g, b] = bl.color;
    }
    out[o] = Math.min(1, Math.max(0, r));
    out[o + 1] = Math.min(1, Math.max(0, g));
    out[o + 2] = Math.min(1, Math.max(0, b));
  };
}

function render(scene: ReturnType<typeof makeScene>, h: number, w: number, offsets: ReadonlyArray<readonly [number, number]>, out: Float32Array, at: number): void {
  const px = new Float32Array(3);
  const inv = 1 / offsets.length;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = at + (y * w + x) * 3;
      out[o] = out[o + 1] = out[o + 2] = 0;
      for (const [ox, oy] of offsets) {
        scene(x + ox, y + oy, px, 0);
        out[o]! += px[0]! * inv;
        out[o + 1]! += px[1]! * inv;
        out[o + 2]! += px[2]! * inv;
      }
    }
  }
}

/**
 * A dataset of procedurally blurred moving scenes, generated on the fly and fully determined by the
 * seed and the sample index; needs no files.
 */
export function syntheticDataset(options: Partial<SyntheticOptions> = {}, name = 'synthetic'): Dataset {
  const opt = { ...syntheticDefaults, ...options };
  for (const k of ['videos', 'samplesPerVideo', 'numFrames', 'height', 'width', 'subFrames'] as const) {
    if (!Number.isInteger(opt[k]) || opt[k] <= 0) throw new Error(`synthetic dataset: ${k} must be a positive integer, got ${opt[k]}`);
  }
  const { height: h, width: w, numFrames: t } = opt;
  if (opt.gtFrames !== 'all' && !(Number.isInteger(opt.gtFrames) && opt.gtFrames >= 1 && opt.gtFrames <= t)) {
    throw new Error(`synthetic dataset: gtFrames must be 'all' or an integer in [1, numFrames=${t}], got ${opt.gtFrames}`);
  }
  const frameSize = h * w * 3;
  return {
    name,
    length: opt.videos * opt.samplesPerVideo,
    async get(index: number): Promise<Sample> {
      if (!Number.isInteger(index) || index < 0 || index >= opt.videos * opt.samplesPerVideo) {
        throw new RangeError(`${name}: sample index ${index} out of range [0, ${opt.videos * opt.samplesPerVideo})`);
      }
      const video = Math.floor(index / opt.samplesPerVideo);
      const start = (index % opt.samplesPerVideo) * t;
      const vrng = Rng.derive(opt.seed, `synthetic-video:${video}`);
      const scene = makeScene(vrng);
      const angle = vrng.uniform(0, 2 * Math.PI);
      const speed = vrng.uniform(0.5, 1) * opt.maxMotion;
      const [vx, vy] = [Math.cos(angle) * speed, Math.sin(angle) * speed];
      const input = new Float32Array(t * frameSize);
      const g = opt.gtFrames === 'all' ? t : opt.gtFrames;
      const first = Math.floor(t / 2) - Math.floor(g / 2);
      const gtIds = Array.from({ length: g }, (_, i) => first + i);
      const gt = new Float32Array(gtIds.length * frameSize);
      for (let f = 0; f < t; f++) {
        const k = start + f;
        const subs = Array.from({ length: opt.subFrames }, (_, s) => {
          const u = k + (s + 0.5) / opt.subFrames - 0.5;
          return [vx * u, vy * u] as const;
        });
        render(scene, h, w, subs, input, f * frameSize);
        const g = gtIds.indexOf(f);
        if (g >= 0) render(scene, h, w, [[vx * k, vy * k]], gt, g * frameSize);
      }
      const shape = (n: number): ClipShape => [n, h, w, 3];
      return {
        video: `video_${String(video).padStart(3, '0')}`,
        frames: gtIds.map((f) => String(start + f).padStart(5, '0')),
        input,
        inputShape: shape(t),
        gt,
        gtShape: shape(gtIds.length),
      };
    },
  };
}

/** A dataset over samples already in memory (tests, custom loops). */
export function memoryDataset(samples: readonly Sample[], name = 'memory'): Dataset {
  return {
    name,
    length: samples.length,
    async get(index) {
      const s = samples[index];
      if (!s) throw new RangeError(`${name}: sample index ${index} out of range [0, ${samples.length})`);
      return s;
    },
  };
}
