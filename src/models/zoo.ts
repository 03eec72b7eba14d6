// The original framework's model classes, by name, with their constructor arguments mapped to
// ours: what `simdeblur parity` uses to rebuild the model a fixture (or a converted PyTorch
// checkpoint) was made with.
import type { Model } from './model.ts';
import { buildDbn } from './dbn.ts';
import { buildNafnet } from './nafnet.ts';

type Kwargs = Record<string, unknown>;

export interface OriginalModel {
  /** Our model type name (the `type` of its spec). */
  readonly type: string;
  /** Our options, from the original's constructor arguments (missing ones take its defaults). */
  options(kwargs: Kwargs): Record<string, unknown>;
  build(options: Record<string, unknown>, seed: number): Model;
}

function num(kw: Kwargs, key: string, fallback?: number): number {
  const v = kw[key] ?? fallback;
  if (typeof v !== 'number') throw new Error(`constructor argument ${key}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}

function nums(kw: Kwargs, key: string, fallback?: number[]): number[] {
  const v = kw[key] ?? fallback;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new Error(`constructor argument ${key}: expected a list of numbers, got ${JSON.stringify(v)}`);
  return v as number[];
}

export const originalModels: Readonly<Record<string, OriginalModel>> = {
  DBN: {
    type: 'dbn',
    options: (kw) => ({ numFrames: num(kw, 'num_frames', 5), inChannels: num(kw, 'in_channels', 3), innerChannels: num(kw, 'inner_channels', 64) }),
    build: (o, seed) => buildDbn(o as never, seed),
  },
  NAFNet: {
    type: 'nafnet',
    options: (kw) => ({
      imgChannels: num(kw, 'img_channel', 3),
      width: num(kw, 'width', 16),
      middleBlkNum: num(kw, 'middle_blk_num', 1),
      encBlkNums: nums(kw, 'enc_blk_nums', []),
      decBlkNums: nums(kw, 'dec_blk_nums', []),
    }),
    build: (o, seed) => buildNafnet(o as never, seed),
  },
};

export function originalModel(className: string): OriginalModel {
  const m = originalModels[className];
  if (!m) throw new Error(`unknown model class '${className}' (known: ${Object.keys(originalModels).join(', ')})`);
  return m;
}
