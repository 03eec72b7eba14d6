// The data of a protocol: a synthesised set (made once under --out, shared by every model) or a
// benchmark read in place. Experiment values name its folders through the placeholder
// `$DATA`, so that the value (and its hash) does not depend on where --out is; the worker puts
// the real folder in before running.
import fs from 'node:fs';
import path from 'node:path';
import { layoutOf, type LayoutName, type SplitName } from '../synth/layout.ts';
import { frameId } from '../data/image.ts';
import { canonicalHash } from './canonical.ts';
import type { ProtocolData, SynthData } from './protocol.ts';

/** Stands for the data folder in experiment values. */
export const DATA_ROOT = '$DATA';

/** The layout the protocol's data is in. */
export function dataLayout(d: ProtocolData): LayoutName {
  return (d.synth ?? d.benchmark)!.layout;
}

/** What identifies the data (part of every experiment hash): the synthesis settings, or the benchmark's folder. */
export function dataIdentity(d: ProtocolData): unknown {
  return d.synth !== undefined ? { synth: d.synth } : { benchmark: { layout: d.benchmark!.layout, root: path.resolve(d.benchmark!.root) } };
}

/** The real data folder: under `out` for synthesised data (named by its settings), else the benchmark's root. */
export function dataDir(d: ProtocolData, out: string): string {
  return d.synth !== undefined ? path.resolve(out, 'data', canonicalHash(d.synth).slice(0, 12)) : path.resolve(d.benchmark!.root);
}

// A synthesised set is two synthesiser outputs (different video counts), one per split.
const synthSplitDir = (root: string, split: SplitName) => path.join(root, `${split}-set`);

/** Reader options naming the folders of `split` under `root` (`root`, or REDS's `rootGt` + `rootInput`). */
export function splitRoots(d: ProtocolData, split: SplitName, root = DATA_ROOT): Record<string, string> {
  const layout = layoutOf(dataLayout(d));
  const r = layout.roots(d.synth !== undefined ? synthSplitDir(root, split) : root, split);
  return r.rootInput !== undefined ? { rootGt: r.rootGt, rootInput: r.rootInput } : { root: r.rootGt };
}

/** `value` with every string that starts with `$DATA` rooted at `dir` instead. */
export function withDataDir<T>(value: T, dir: string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v === DATA_ROOT || v.startsWith(`${DATA_ROOT}/`) ? path.join(dir, v.slice(DATA_ROOT.length)) : v;
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** Ids (`video/frame`) of the centre `n` frames of every held-out synthesised video. */
export function centreFrames(s: SynthData, n: number): string[] {
  if (n > s.frames) throw new Error(`eval.score.centre: ${n} frames asked for, but the synthesised videos have ${s.frames}`);
  const layout = layoutOf(s.layout);
  const first = Math.floor((s.frames - n) / 2);
  return Array.from({ length: s.testVideos }, (_, v) => Array.from({ length: n }, (_, k) => `${layout.videoName(v)}/${frameId(layout.frameFile(first + k))}`)).flat();
}

/**
 * Makes the data ready in `dir`: synthesises what is missing (a rerun finds it complete), or
 * checks that the benchmark's split folders exist. Progress goes to `log`.
 */
export async function prepareData(d: ProtocolData, dir: string, log: (line: string) => void): Promise<void> {
  if (d.benchmark !== undefined) {
    for (const split of ['train', 'test'] as const) {
      for (const folder of Object.values(splitRoots(d, split, dir))) {
        if (!fs.existsSync(folder)) throw new Error(`benchmark data: ${folder} does not exist (a ${d.benchmark.layout} benchmark root was expected at ${dir})`);
      }
    }
    return;
  }
  const s = d.synth!;
  const { synthesize } = await import('../synth/synthesize.ts');
  for (const [split, videos] of [['train', s.videos], ['test', s.testVideos]] as const) {
    let last = -1;
    await synthesize({
      layout: s.layout,
      out: synthSplitDir(dir, split),
      split,
      videos,
      frames: s.frames,
      width: s.width,
      height: s.height,
      seed: s.seed,
      ...(s.motion !== undefined ? { motion: s.motion } : {}),
      onProgress: (pr) => {
        const pct = Math.floor((100 * pr.done) / pr.total);
        if (!pr.skipped && pct >= last + 25) {
          last = pct;
          log(`synthesising the ${split} set (${videos} videos of ${s.frames} frames, ${s.width}x${s.height}): ${pct}%`);
        }
      },
    });
  }
}

/** The benchmark layout of the folder `dir` (GoPro, DVD, REDS or BSD, from its split folders). */
export function detectLayout(dir: string): LayoutName {
  const has = (...parts: string[]) => fs.existsSync(path.join(dir, ...parts));
  if (has('quantitative_datasets')) return 'dvd';
  if (has('train', 'train_sharp') || has('val', 'val_sharp')) return 'reds';
  if (has('valid')) return 'bsd';
  if (has('train') && has('test')) return 'gopro';
  throw new Error(`${dir}: not a benchmark root (expected GoPro's train/ and test/, DVD's quantitative_datasets/, REDS's train/train_sharp/ or BSD's valid/)`);
}
