// File layouts of the four video deblurring benchmarks (see docs/data.md), as the synthesiser writes
// them: which folder a split lives in, how videos and frames are named, and where the sharp and
// blurred versions of a frame go.
import path from 'node:path';
import type { Averaging } from './render.ts';

/** The benchmark file layouts the synthesiser can write: `gopro`, `dvd`, `reds` and `bsd`. */
export const layoutNames = ['gopro', 'dvd', 'reds', 'bsd'] as const;
/** One of {@link layoutNames}. */
export type LayoutName = (typeof layoutNames)[number];

/** The splits the synthesiser writes: `train` and `test`. */
export const splitNames = ['train', 'test'] as const;
/** One of {@link splitNames}. */
export type SplitName = (typeof splitNames)[number];

/** The image file format a layout uses: `png` or `jpeg`. */
export type ImageFormat = 'png' | 'jpeg';

/** A blurred image file to write and how its sub-frames are averaged. */
export interface BlurTarget {
  readonly file: string;
  readonly averaging: Averaging;
}

/** The files of one synthesised frame: its sharp image and its blurred version(s). */
export interface FrameFiles {
  readonly sharp: string;
  readonly blurred: readonly BlurTarget[];
}

/** What a reader of the benchmark is pointed at (`root_gt`, and REDS's `root_input`). */
export interface DatasetRoots {
  readonly rootGt: string;
  readonly rootInput?: string;
}

/**
 * How one benchmark lays out its files: split folders, video and frame names, and where the sharp and
 * blurred versions of each frame go.
 */
export interface Layout {
  readonly name: LayoutName;
  readonly format: ImageFormat;
  /** Zero-padded width of frame numbers in file names. */
  readonly digits: number;
  /** Folder (relative to the output) of a split, as the benchmark's configs expect it. */
  splitDir(split: SplitName): string;
  /** Folder name of video `index` (0-based). */
  videoName(index: number): string;
  /** File name of frame `index` (0-based position in the video). */
  frameFile(index: number): string;
  /** The folders a reader of this benchmark is pointed at for `split` under the output folder `out`. */
  roots(out: string, split: SplitName): DatasetRoots;
  /** Files of one frame; `averaging` picks the blur written where the layout has one input. */
  frameFiles(out: string, split: SplitName, video: number, frame: number, averaging: Averaging): FrameFiles;
}

function pad(n: number, digits: number): string {
  return String(n).padStart(digits, '0');
}

function checkIndex(what: string, i: number): void {
  if (!Number.isInteger(i) || i < 0) throw new Error(`${what} must be a non-negative integer, got ${i}`);
}

/** GOPRO_Large: `<split>/<seq>/{sharp,blur,blur_gamma}/<6 digits>.png`, numbered from 000001. */
const gopro: Layout = {
  name: 'gopro',
  format: 'png',
  digits: 6,
  splitDir: (split) => split,
  videoName: (i) => (checkIndex('video', i), `GOPR${pad(i, 4)}_synth`),
  frameFile: (i) => (checkIndex('frame', i), `${pad(i + 1, 6)}.png`),
  roots: (out, split) => ({ rootGt: path.join(out, split) }),
  frameFiles(out, split, video, frame) {
    const dir = path.join(out, this.splitDir(split), this.videoName(video));
    const name = this.frameFile(frame);
    // GoPro ships both: `blur` assumes a linear camera response, `blur_gamma` a 2.2 gamma curve.
    return {
      sharp: path.join(dir, 'sharp', name),
      blurred: [
        { file: path.join(dir, 'blur', name), averaging: 'plain' },
        { file: path.join(dir, 'blur_gamma', name), averaging: 'linear' },
      ],
    };
  },
};

/** DVD quantitative_datasets: `<root>/<video>/{GT,input}/<5 digits>.jpg`; test videos in `test/`. */
const dvd: Layout = {
  name: 'dvd',
  format: 'jpeg',
  digits: 5,
  splitDir: (split) => (split === 'train' ? 'quantitative_datasets' : 'test'),
  videoName: (i) => (checkIndex('video', i), `synth_${pad(i, 3)}`),
  frameFile: (i) => (checkIndex('frame', i), `${pad(i, 5)}.jpg`),
  roots: (out, split) => ({ rootGt: path.join(out, dvd.splitDir(split)) }),
  frameFiles(out, split, video, frame, averaging) {
    const dir = path.join(out, this.splitDir(split), this.videoName(video));
    const name = this.frameFile(frame);
    return { sharp: path.join(dir, 'GT', name), blurred: [{ file: path.join(dir, 'input', name), averaging }] };
  },
};

/** REDS: `train/train_sharp/<000>/<8 digits>.png` + `train/train_blur/...`; test split is `val/val_*`. */
const reds: Layout = {
  name: 'reds',
  format: 'png',
  digits: 8,
  splitDir: (split) => (split === 'train' ? 'train' : 'val'),
  videoName: (i) => (checkIndex('video', i), pad(i, 3)),
  frameFile: (i) => (checkIndex('frame', i), `${pad(i, 8)}.png`),
  roots(out, split) {
    const s = this.splitDir(split);
    return { rootGt: path.join(out, s, `${s}_sharp`), rootInput: path.join(out, s, `${s}_blur`) };
  },
  frameFiles(out, split, video, frame, averaging) {
    const { rootGt, rootInput } = this.roots(out, split);
    const v = this.videoName(video);
    const name = this.frameFile(frame);
    return { sharp: path.join(rootGt, v, name), blurred: [{ file: path.join(rootInput!, v, name), averaging }] };
  },
};

/** BSD: `<split>/<000>/{Sharp,Blur}/RGB/<8 digits>.png`; the test split is `valid/` as in the configs. */
const bsd: Layout = {
  name: 'bsd',
  format: 'png',
  digits: 8,
  splitDir: (split) => (split === 'train' ? 'train' : 'valid'),
  videoName: (i) => (checkIndex('video', i), pad(i, 3)),
  frameFile: (i) => (checkIndex('frame', i), `${pad(i, 8)}.png`),
  roots: (out, split) => ({ rootGt: path.join(out, bsd.splitDir(split)) }),
  frameFiles(out, split, video, frame, averaging) {
    const dir = path.join(out, this.splitDir(split), this.videoName(video));
    const name = this.frameFile(frame);
    return { sharp: path.join(dir, 'Sharp', 'RGB', name), blurred: [{ file: path.join(dir, 'Blur', 'RGB', name), averaging }] };
  },
};

const layouts: Record<LayoutName, Layout> = { gopro, dvd, reds, bsd };

/** Whether `s` is one of the {@link layoutNames}. */
export function isLayoutName(s: string): s is LayoutName {
  return (layoutNames as readonly string[]).includes(s);
}

/** The {@link Layout} named `name`; throws for an unknown name. */
export function layoutOf(name: LayoutName): Layout {
  const l = layouts[name];
  if (!l) throw new Error(`unknown layout '${String(name)}' (one of ${layoutNames.join(', ')})`);
  return l;
}
