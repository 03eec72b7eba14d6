// Built-in dataset components. A dataset builder is told which split it serves
// and, for training, the experiment's augmentations; it may return a promise (readers index
// their files first).
import * as t from 'io-ts';
import { syntheticDataset, syntheticDefaults } from './synthetic.ts';
import type { Dataset } from './dataset.ts';
import { bsdDataset, dvdDataset, folderDataset, goproDataset, redsDataset } from './readers.ts';
import type { AugmentSpec } from './augment.ts';
import { samplingModes } from './sampling.ts';
import { Bool, NonEmptyString, oneOf, pairOf, PositiveInt, PositiveNumber, Probability, strict } from '../config/codecs.ts';
import { buildComponent, defineComponent, type ComponentSpec } from '../config/registry.ts';

/**
 * What a dataset builder receives besides its spec: the split it serves and, for training, the
 * augmentations to apply.
 */
export interface DatasetContext {
  readonly split: 'train' | 'val' | 'test';
  /** Augmentations to apply (training only). */
  readonly augment?: readonly ComponentSpec[];
}

const GtFrames = t.union([PositiveInt, oneOf('all')]);

/** Procedurally blurred clips, generated on the fly: for tests, smoke runs and examples. */
export const synthetic = defineComponent({
  kind: 'dataset',
  type: 'synthetic',
  codec: strict({
    videos: PositiveInt,
    samplesPerVideo: PositiveInt,
    numFrames: PositiveInt,
    gtFrames: GtFrames,
    height: PositiveInt,
    width: PositiveInt,
    subFrames: PositiveInt,
    maxMotion: PositiveNumber,
    seed: PositiveInt,
  }),
  defaults: { ...syntheticDefaults, seed: 1 },
  check: (p) => (p.gtFrames === 'all' || p.gtFrames <= p.numFrames ? [] : [{ path: 'gtFrames', message: `expected at most numFrames (${p.numFrames}), got ${p.gtFrames}` }]),
  build: (s, ctx: DatasetContext): Dataset => {
    const { type: _, ...opts } = s;
    return syntheticDataset(opts, `synthetic-${ctx.split}`);
  },
  describe: 'procedurally blurred moving scenes (no files needed)',
});

// Options every reader shares (the original's dataset keys, camelCased).
const readerProps = {
  sampling: oneOf(...samplingModes),
  numFrames: PositiveInt,
  interval: PositiveInt,
  overlapping: Bool,
  skipBad: Bool,
  verify: oneOf('headers', 'full'),
  allowGaps: Bool,
  memoryCache: Bool,
};
const readerDefaults = { sampling: 'n_c', numFrames: 5, interval: 1, overlapping: true, skipBad: false, verify: 'headers', allowGaps: false, memoryCache: false } as const;
const optionalProps = { cacheFile: NonEmptyString };

function augmentFor(ctx: DatasetContext): AugmentSpec[] {
  return ctx.split === 'train' ? (ctx.augment ?? []).map((a) => a as unknown as AugmentSpec) : [];
}

function readerOptions<S extends { type: string }>(s: S, ctx: DatasetContext) {
  const { type, ...rest } = s;
  return { ...rest, name: `${type}-${ctx.split}`, augment: augmentFor(ctx) };
}

/**
 * Dataset component: the GoPro benchmark (GOPRO_Large, Nah et al. 2017) read from a split folder
 * (`root`), with the `blur` or, with `useGamma`, the `blur_gamma` inputs.
 */
export const gopro = defineComponent({
  kind: 'dataset',
  type: 'gopro',
  codec: strict({ root: NonEmptyString, useGamma: Bool, ...readerProps }, optionalProps),
  defaults: { ...readerDefaults, useGamma: false },
  build: (s, ctx: DatasetContext) => goproDataset(readerOptions(s, ctx)),
  describe: 'GoPro (root = GOPRO/train or GOPRO/test; blur, or blur_gamma with useGamma)',
});

/**
 * Dataset component: the DVD video deblurring benchmark (Su et al. 2017), videos in
 * `root/<video>/{input,GT}`.
 */
export const dvd = defineComponent({
  kind: 'dataset',
  type: 'dvd',
  codec: strict({ root: NonEmptyString, ...readerProps }, optionalProps),
  defaults: readerDefaults,
  build: (s, ctx: DatasetContext) => dvdDataset(readerOptions(s, ctx)),
  describe: 'DVD (root/<video>/{input,GT})',
});

/**
 * Dataset component: the REDS benchmark (Nah et al. 2019), sharp frames under `rootGt` and blurry
 * frames under `rootInput`.
 */
export const reds = defineComponent({
  kind: 'dataset',
  type: 'reds',
  codec: strict({ rootGt: NonEmptyString, rootInput: NonEmptyString, ...readerProps }, optionalProps),
  defaults: readerDefaults,
  build: (s, ctx: DatasetContext) => redsDataset(readerOptions(s, ctx)),
  describe: 'REDS (rootGt = train/train_sharp, rootInput = train/train_blur)',
});

/**
 * Dataset component: the BSD beam-splitter benchmark (Zhong et al. 2020), videos in
 * `root/<video>/{Blur,Sharp}/RGB`.
 */
export const bsd = defineComponent({
  kind: 'dataset',
  type: 'bsd',
  codec: strict({ root: NonEmptyString, ...readerProps }, optionalProps),
  defaults: readerDefaults,
  build: (s, ctx: DatasetContext) => bsdDataset(readerOptions(s, ctx)),
  describe: 'BSD (root/<video>/{Blur,Sharp}/RGB)',
});

/**
 * Dataset component: a folder of frames (or of videos as folders of frames) for inference; samples
 * have no ground truth and are never augmented.
 */
export const folder = defineComponent({
  kind: 'dataset',
  type: 'folder',
  codec: strict({ root: NonEmptyString, ...readerProps }, optionalProps),
  defaults: readerDefaults,
  build: (s, ctx: DatasetContext) => {
    const { augment: _, ...o } = readerOptions(s, ctx);
    return folderDataset(o);
  },
  describe: 'a folder of frames, or of videos (folders of frames), for inference: no ground truth',
});

/**
 * Builds a dataset from its spec: the entry point worker threads of the parallel loader call,
 * so that they load readers only (no TensorFlow).
 */
export async function openDatasetSpec(spec: ComponentSpec, ctx: DatasetContext): Promise<Dataset> {
  return await buildComponent<Dataset | Promise<Dataset>>('dataset', spec, ctx);
}

/** Whether a dataset type is one of these built-ins (which worker threads can open). */
export function isBuiltinDataset(type: string): boolean {
  return ['synthetic', 'gopro', 'dvd', 'reds', 'bsd', 'folder'].includes(type);
}
