// The leaderboard's table and conditions line, shared by the Markdown and HTML outputs: each
// column is defined once (heading, shown text, sort value).
import type { Protocol } from './protocol.ts';
import type { Row } from './rows.ts';
import { describeMachine, type Machine } from './machine.ts';

/** One column of the leaderboard table. */
export interface Column {
  readonly head: string;
  readonly kind: 'text' | 'number' | 'note';
  readonly text: (r: Row, rank: number) => string;
  /** Sort value (default: the text). */
  readonly value?: (r: Row) => number | null;
}

const fixed = (digits: number) => (v: number | null) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits));

/** The columns, in order; `size` is the cost measurement's [height, width]. */
export function columns(size: readonly [number, number]): Column[] {
  return [
    { head: '#', kind: 'number', text: (_, i) => String(i + 1) },
    { head: 'model', kind: 'text', text: (r) => r.model },
    { head: 'configuration', kind: 'note', text: (r) => r.note || 'as its recipe' },
    { head: 'PSNR', kind: 'number', text: (r) => fixed(2)(r.psnr), value: (r) => r.psnr },
    { head: 'SSIM', kind: 'number', text: (r) => fixed(4)(r.ssim), value: (r) => r.ssim },
    { head: 'input PSNR', kind: 'number', text: (r) => fixed(2)(r.inputPsnr), value: (r) => r.inputPsnr },
    { head: 'input SSIM', kind: 'number', text: (r) => fixed(4)(r.inputSsim), value: (r) => r.inputSsim },
    { head: 'params (M)', kind: 'number', text: (r) => (r.params / 1e6).toFixed(3), value: (r) => r.params },
    { head: `GMACs/frame @${size[1]}×${size[0]}`, kind: 'number', text: (r) => (r.macsPerFrame / 1e9).toFixed(3), value: (r) => r.macsPerFrame },
    { head: 'train s/iter', kind: 'number', text: (r) => fixed(3)(r.trainSecondsPerIter), value: (r) => r.trainSecondsPerIter },
    { head: 'infer ms/frame', kind: 'number', text: (r) => fixed(1)(r.inferenceMsPerFrame), value: (r) => r.inferenceMsPerFrame },
    { head: 'peak RSS (MB)', kind: 'number', text: (r) => r.peakRssMb.toFixed(0), value: (r) => r.peakRssMb },
    { head: 'iterations', kind: 'number', text: (r) => String(r.iterations), value: (r) => r.iterations },
    { head: 'samples', kind: 'number', text: (r) => String(r.samplesSeen), value: (r) => r.samplesSeen },
    { head: 'seed', kind: 'number', text: (r) => String(r.seed), value: (r) => r.seed },
    { head: 'wall (s)', kind: 'number', text: (r) => r.wallSeconds.toFixed(0), value: (r) => r.wallSeconds },
    { head: 'hash', kind: 'text', text: (r) => r.hash.slice(0, 12) },
  ];
}

/** Rows best first (PSNR, then SSIM, then model name). */
export function ranked(rows: readonly Row[]): Row[] {
  return [...rows].sort((a, b) => b.psnr - a.psnr || b.ssim - a.ssim || a.model.localeCompare(b.model));
}

/** `a, b` for values that agree, `a / b / c` where rows differ. */
const distinct = (xs: readonly string[]): string => [...new Set(xs)].join(' / ');

/** The conditions a table was made under, as sentences (Markdown-safe plain text). */
export function conditions(p: Protocol, protocolHash: string, machine: Machine, rows: readonly Row[], date: Date): string[] {
  const t = p.train;
  const budget =
    t.iterations === 'recipe'
      ? "each model's recipe schedule (epochs, batch and crop of the original configuration)"
      : `${t.iterations} iterations × batch ${t.batch === 'recipe' ? "(recipe's)" : t.batch} per model${t.batch === 'recipe' ? '' : ` (${t.iterations * t.batch} samples)`}, crop ${t.crop === 'recipe' ? "(recipe's)" : `${t.crop[1]}×${t.crop[0]}`}, lr ${t.lrScale === 1 ? "the recipe's" : `${t.lrScale}× the recipe's`}, schedule ${t.schedule === 'recipe' ? "the recipe's" : t.schedule.type}`;
  const s = p.data.synth;
  const data = s
    ? `synthesised ${s.layout}-layout data: ${s.videos} training and ${s.testVideos} held-out videos of ${s.frames} frames at ${s.width}×${s.height} (seed ${s.seed})`
    : `the ${p.data.benchmark!.layout} benchmark at ${p.data.benchmark!.root}`;
  const scored = typeof p.eval.score === 'object' ? `the centre ${p.eval.score.centre} frames of every held-out video (the same frames for every model)` : 'every frame each model restores';
  const v = (k: keyof Row['versions']) => distinct(rows.map((r) => r.versions[k]));
  const versions = rows.length === 0 ? '' : `simdeblur ${v('simdeblur')}, TensorFlow ${v('tensorflow')} (${v('backend')} backend), tfjs ${v('tfjs')}, Node ${v('node')}`;
  return [
    `Protocol \`${p.name}\` (sha256 ${protocolHash.slice(0, 12)}), seed ${p.seed}, ${date.toISOString().slice(0, 10)}.`,
    `Training: ${budget}.`,
    `Data: ${data}; scored on ${scored}; MACs and inference time on one ${p.cost.size[1]}×${p.cost.size[0]} clip.`,
    `Machine: ${describeMachine(machine)} (load ${machine.load} when written)${versions ? `; ${versions}` : ''}.`,
  ];
}
