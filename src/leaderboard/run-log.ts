// The curves of a training run, read from its `log.jsonl` (the JSON-lines log the engine's
// `jsonlLog` hook writes, one record per event): loss and learning rate per logged step,
// validation PSNR/SSIM with the blurry input's PSNR, and the best checkpoint. A resumed run
// appends to the same log and may log an iteration again: the last record of an iteration wins.
import fs from 'node:fs';
import path from 'node:path';
import { readJsonl } from '../io/jsonl.ts';

/** A logged training step. */
export interface StepPoint {
  readonly iteration: number;
  readonly loss: number;
  readonly lr: number;
}

/** A validation. */
export interface ValidationPoint {
  readonly iteration: number;
  readonly psnr: number;
  readonly ssim: number;
  /** The blurry input's PSNR on the same frames (null when not comparable or not recorded). */
  readonly inputPsnr: number | null;
}

/** One run's curves. */
export interface RunLog {
  /** A name for the run (its directory's, made unique among the runs shown). */
  readonly name: string;
  readonly dir: string;
  readonly model: string | null;
  readonly totalIterations: number | null;
  readonly steps: readonly StepPoint[];
  readonly validations: readonly ValidationPoint[];
  /** Where `checkpoints/best` was last saved (else the highest validation PSNR), if validated. */
  readonly best: ValidationPoint | null;
  /** How the log ends: 'completed' / 'stopped' from its end record, else 'running or interrupted'. */
  readonly status: string;
  /** Wall time of the last segment of the run, s (from its end record). */
  readonly seconds: number | null;
  /** Records skipped because they could not be read (a torn last line). */
  readonly warnings: readonly string[];
}

type Rec = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The log file of a run directory (or the file itself). */
export function logFileOf(dirOrFile: string): string {
  return fs.existsSync(dirOrFile) && fs.statSync(dirOrFile).isFile() ? dirOrFile : path.join(dirOrFile, 'log.jsonl');
}

/** Reads a run's curves from its directory (or log file); `name` labels it. */
export function readRunLog(dirOrFile: string, name = path.basename(path.resolve(dirOrFile))): RunLog {
  const file = logFileOf(dirOrFile);
  if (!fs.existsSync(file)) throw new Error(`${dirOrFile}: no log.jsonl (is it a training work directory?)`);
  const warnings: string[] = [];
  const records = readJsonl(file, { onWarning: (m) => warnings.push(m) }).filter((r): r is Rec => typeof r === 'object' && r !== null);
  const steps = new Map<number, StepPoint>();
  const vals = new Map<number, ValidationPoint>();
  let bestAt: number | null = null;
  let model: string | null = null;
  let total: number | null = null;
  let status = 'running or interrupted';
  let seconds: number | null = null;
  for (const r of records) {
    const it = num(r.iteration);
    if (it === null) continue;
    switch (r.type) {
      case 'start':
        model = typeof r.model === 'string' ? r.model : model;
        total = num(r.totalIterations) ?? total;
        status = 'running or interrupted';
        // A resumed run starts again from here: later records replace what followed.
        for (const m of [steps, vals]) for (const k of [...m.keys()]) if (k > it) m.delete(k);
        break;
      case 'step': {
        const loss = num(r.loss);
        const lr = num(r.lr);
        if (loss !== null && lr !== null) steps.set(it, { iteration: it, loss, lr });
        break;
      }
      case 'validation': {
        const psnr = num(r.psnr);
        const ssim = num(r.ssim);
        if (psnr !== null && ssim !== null) vals.set(it, { iteration: it, psnr, ssim, inputPsnr: num(r.inputPsnr) });
        break;
      }
      case 'checkpoint':
        if (r.reason === 'best') bestAt = it;
        break;
      case 'end':
        status = typeof r.reason === 'string' ? r.reason : status;
        seconds = num(r.seconds);
        break;
    }
  }
  const validations = [...vals.values()].sort((a, b) => a.iteration - b.iteration);
  const top = validations.reduce<ValidationPoint | null>((b, v) => (b === null || v.psnr > b.psnr ? v : b), null);
  const best = (bestAt !== null ? vals.get(bestAt) : undefined) ?? top;
  return { name, dir: path.resolve(path.dirname(file)), model, totalIterations: total, steps: [...steps.values()].sort((a, b) => a.iteration - b.iteration), validations, best, status, seconds, warnings };
}

/** Reads several runs, naming each by its directory (with as much of its path as makes the names unique). */
export function readRunLogs(dirs: readonly string[]): RunLog[] {
  const abs = dirs.map((d) => path.resolve(d));
  const names = abs.map((d) => {
    const parts = path.dirname(logFileOf(d)).split(path.sep).filter(Boolean);
    for (let n = 1; n <= parts.length; n++) {
      const name = parts.slice(-n).join('/');
      const clash = abs.some((o) => o !== d && path.dirname(logFileOf(o)).split(path.sep).filter(Boolean).slice(-n).join('/') === name);
      if (!clash) return name;
    }
    return d;
  });
  return dirs.map((d, i) => readRunLog(d, names[i]));
}
