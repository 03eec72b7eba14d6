// The original framework's model classes, by name, with their constructor arguments mapped to
// ours: what `simdeblur parity` uses to rebuild the model a fixture (or a converted PyTorch
// checkpoint) was made with.
import type { Model } from './model.ts';
import { buildDblrnet } from './dblrnet.ts';
import { buildStrcnn } from './strcnn.ts';
import { buildIfirnn } from './ifirnn.ts';
import { buildEstrnn } from './estrnn.ts';
import { buildEdvr } from './edvr.ts';
import { buildCdvdTsp } from './cdvd-tsp.ts';
import { buildStfan } from './stfan.ts';
import { buildPvdnet } from './pvdnet.ts';

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

function bool(kw: Kwargs, key: string, fallback: boolean): boolean {
  const v = kw[key] ?? fallback;
  if (typeof v !== 'boolean') throw new Error(`constructor argument ${key}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

function str(kw: Kwargs, key: string, fallback: string): string {
  const v = kw[key] ?? fallback;
  if (typeof v !== 'string') throw new Error(`constructor argument ${key}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function nums(kw: Kwargs, key: string, fallback?: number[]): number[] {
  const v = kw[key] ?? fallback;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new Error(`constructor argument ${key}: expected a list of numbers, got ${JSON.stringify(v)}`);
  return v as number[];
}

export const originalModels: Readonly<Record<string, OriginalModel>> = {
  DBLRNet: {
    type: 'dblrnet',
    options: (kw) => ({ numFrames: num(kw, 'num_frames', 5), inChannels: num(kw, 'in_channels', 3), innerChannels: num(kw, 'inner_channels', 64) }),
    build: (o, seed) => buildDblrnet(o as never, seed),
  },
  STRCNN: {
    type: 'strcnn',
    options: (kw) => ({
      numFramesEncoded: num(kw, 'num_frames_encoded', 5),
      inChannels: num(kw, 'in_channels', 3),
      innerChannels: num(kw, 'inner_channels', 32),
      encoderBlocks: num(kw, 'encoder_blocks', 4),
      decoderBlocks: num(kw, 'decoder_blocks', 4),
      isDtb: bool(kw, 'is_dtb', true),
    }),
    build: (o, seed) => buildStrcnn(o as never, seed),
  },
  IFIRNN: {
    type: 'ifirnn',
    options: (kw) => ({ inChannels: num(kw, 'in_channels', 3), innerChannels: num(kw, 'inner_channels', 16), dualCell: bool(kw, 'dual_cell', true), intraIters: num(kw, 'intra_iters', 3) }),
    build: (o, seed) => buildIfirnn(o as never, seed),
  },
  ESTRNN: {
    type: 'estrnn',
    options: (kw) => ({
      nFeatures: num(kw, 'n_features', 16),
      nBlocks: num(kw, 'n_blocks', 15),
      futureFrames: num(kw, 'future_frames', 2),
      pastFrames: num(kw, 'past_frames', 2),
      activation: str(kw, 'activation', 'gelu'),
    }),
    build: (o, seed) => buildEstrnn(o as never, seed),
  },
  EDVR: {
    type: 'edvr',
    options: (kw) => ({
      numInCh: num(kw, 'num_in_ch', 3),
      numOutCh: num(kw, 'num_out_ch', 3),
      numFeat: num(kw, 'num_feat', 64),
      numFrame: num(kw, 'num_frame', 5),
      deformableGroups: num(kw, 'deformable_groups', 8),
      numExtractBlock: num(kw, 'num_extract_block', 5),
      numReconstructBlock: num(kw, 'num_reconstruct_block', 10),
      centerFrameIdx: num(kw, 'center_frame_idx', 2),
      hrIn: bool(kw, 'hr_in', false),
      withPredeblur: bool(kw, 'with_predeblur', false),
      withTsa: bool(kw, 'with_tsa', true),
    }),
    build: (o, seed) => buildEdvr(o as never, seed),
  },
  CDVD_TSP: {
    type: 'cdvdTsp',
    options: (kw) => ({
      inChannels: num(kw, 'in_channels', 3),
      nSequence: num(kw, 'n_sequence', 3),
      outChannels: num(kw, 'out_channels', 3),
      nResblock: num(kw, 'n_resblock', 3),
      nFeat: num(kw, 'n_feat', 32),
      isMaskFilter: bool(kw, 'is_mask_filter', false),
    }),
    build: (o, seed) => buildCdvdTsp(o as never, seed),
  },
  // The original's STFAN wrapper runs its STFANCell over a clip; both take no arguments.
  STFAN: { type: 'stfan', options: () => ({}), build: (_o, seed) => buildStfan({}, seed) },
  STFANCell: { type: 'stfan', options: () => ({}), build: (_o, seed) => buildStfan({}, seed) },
  PVDNet: {
    type: 'pvdnet',
    // The original feeds BIMNet the current frame twice (SPEC §7.4); its weights and outputs need that.
    options: (kw) => ({ pvKsize: num(kw, 'PV_ksize', 5), largeModel: bool(kw, 'large_model', false), fixBimnet: bool(kw, 'fix_BIMNet', true), wi: num(kw, 'wi', 1), bimnetInput: 'current' }),
    build: (o, seed) => buildPvdnet(o as never, seed),
  },
};

export function originalModel(className: string): OriginalModel {
  const m = originalModels[className];
  if (!m) throw new Error(`unknown model class '${className}' (known: ${Object.keys(originalModels).join(', ')})`);
  return m;
}
