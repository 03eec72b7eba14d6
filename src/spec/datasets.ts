// Built-in dataset components. A dataset builder is told which split it serves; it may return
// a promise (readers index the files first).
import { syntheticDataset, syntheticDefaults } from '../data/synthetic.ts';
import type { Dataset } from '../data/dataset.ts';
import { oneOf, PositiveInt, PositiveNumber, strict } from './codecs.ts';
import * as t from 'io-ts';
import { defineComponent } from './registry.ts';

export interface DatasetContext {
  readonly split: 'train' | 'val' | 'test';
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
