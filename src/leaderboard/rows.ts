// A leaderboard row (one model trained and evaluated under one protocol) and where rows live:
// `<out>/rows/<experiment hash>.json`, written atomically once the model is done, beside
// `<hash>.png` (its restored showcase crop, blurry | restored | sharp). A row present is never
// recomputed: a rerun or --resume starts with the models that have none.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';

/** Versions of what produced a row. */
export interface Versions {
  readonly simdeblur: string;
  /** The TensorFlow C library ('none' on the pure-JS backend). */
  readonly tensorflow: string;
  readonly tfjs: string;
  readonly node: string;
  /** tfjs backend name ('tensorflow': native). */
  readonly backend: string;
}

/** One model's results under a protocol. */
export interface Row {
  /** Model type. */
  readonly model: string;
  /** How its network differs from the recipe's, and the protocol's note. */
  readonly note: string;
  /** The recipe its settings come from (null: the model registry's). */
  readonly recipe: string | null;
  readonly psnr: number;
  readonly ssim: number;
  /** The blurry input's scores on the same frames. */
  readonly inputPsnr: number | null;
  readonly inputSsim: number | null;
  /** Frames scored. */
  readonly frames: number;
  /** Trainable parameters. */
  readonly params: number;
  /** Multiply-accumulates per output frame at `costSize`. */
  readonly macsPerFrame: number;
  /** [height, width] of the MAC count and inference time. */
  readonly costSize: readonly [number, number];
  /** Mean wall time of a training iteration (data included; the first iteration left out), s. */
  readonly trainSecondsPerIter: number;
  /**
   * CPU time of the training process per iteration (all its threads), s: a figure less sensitive
   * than `trainSecondsPerIter` to other work on the machine; on an idle machine the wall time is
   * about this divided by the cores TensorFlow keeps busy.
   */
  readonly trainCpuSecondsPerIter: number;
  /** Inference time per output frame at `costSize`, ms. */
  readonly inferenceMsPerFrame: number;
  /** Peak resident memory of the process that trained, evaluated and measured the model, MB. */
  readonly peakRssMb: number;
  readonly iterations: number;
  /** Training samples seen: iterations × batch. */
  readonly samplesSeen: number;
  readonly batch: number;
  readonly seed: number;
  /** SHA-256 of the entry's canonical JSON (experiment, evaluation, cost, data). */
  readonly hash: string;
  /** SHA-256 of the protocol's canonical JSON. */
  readonly protocolHash: string;
  readonly protocol: string;
  readonly versions: Versions;
  /** Wall time of the whole model (training, evaluation, cost), s. */
  readonly wallSeconds: number;
  /** CPU time of the model's whole process (start-up included), s. */
  readonly cpuSeconds: number;
  readonly finishedAt: string;
  /** The model's run directory (experiment.json, log.jsonl, checkpoints), relative to --out. */
  readonly runDir: string;
  /** Warnings of the training run (a diverging loss). */
  readonly warnings: readonly string[];
}

/** The rows folder under an output folder. */
export function rowsDir(out: string): string {
  return path.join(out, 'rows');
}

/** The file of the row with experiment hash `hash`. */
export function rowFile(out: string, hash: string): string {
  return path.join(rowsDir(out), `${hash}.json`);
}

/** The showcase image (blurry | restored | sharp PNG) of the row with experiment hash `hash`. */
export function showcaseFile(out: string, hash: string): string {
  return path.join(rowsDir(out), `${hash}.png`);
}

/** Reads the row of `hash`, or undefined when there is none. */
export function readRow(out: string, hash: string): Row | undefined {
  const file = rowFile(out, hash);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Row;
  } catch (err) {
    throw new Error(`${file}: not a leaderboard row (${err instanceof Error ? err.message : String(err)}); remove it to recompute the model`);
  }
}

/** Every row under `out` made under the protocol of hash `protocolHash`, in file-name order. */
export function readRows(out: string, protocolHash: string): Row[] {
  const dir = rowsDir(out);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /^[0-9a-f]{64}\.json$/.test(f))
    .sort()
    .map((f) => readRow(out, f.slice(0, -'.json'.length))!)
    .filter((r) => r.protocolHash === protocolHash);
}

/** Writes a row atomically (a crash leaves the old file or none, never a torn one). */
export async function writeRow(out: string, row: Row): Promise<void> {
  await writeFileAtomic(rowFile(out, row.hash), `${JSON.stringify(row, null, 2)}\n`);
}
