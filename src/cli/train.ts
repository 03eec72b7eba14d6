// `simdeblur train RECIPE.ts [--set k=v]... [--work-dir D] [--resume | --resume-from D]`.
// Ctrl-C stops after the current step and leaves a checkpoint; a second Ctrl-C exits at once.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isLeft } from 'fp-ts/lib/Either.js';
import { lastValueFrom, tap } from 'rxjs';
import { overrideExperiment, type Experiment } from '../index.ts';
import { interpret } from '../engine/interpret.ts';
import { train } from '../engine/train.ts';
import { standardHooks } from '../engine/hooks/index.ts';
import { latestCheckpoint, readCheckpointState } from '../engine/checkpoint.ts';
import type { TrainContext } from '../engine/context.ts';
import { writeFileAtomicSync } from '../io/atomic.ts';
import { loadRecipe } from './recipe.ts';

export const TRAIN_OPTIONS = {
  set: { type: 'string', multiple: true, default: [] as string[] },
  'work-dir': { type: 'string' },
  resume: { type: 'boolean', default: false },
  'resume-from': { type: 'string' },
  quiet: { type: 'boolean', default: false },
  'no-tensorboard': { type: 'boolean', default: false },
} as const;

/** Decodes a recipe value with `--set` overrides; prints the problems and returns undefined. */
export function decodeRecipe(value: unknown, source: string, sets: readonly string[]): Experiment | undefined {
  const r = overrideExperiment(value, sets);
  if (isLeft(r)) {
    process.stderr.write(`invalid experiment in ${source}:\n  ${r.left.join('\n  ')}\n`);
    return undefined;
  }
  return r.right;
}

function differingKeys(a: unknown, b: unknown): string[] {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return JSON.stringify(a) === JSON.stringify(b) ? [] : [''];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify((a as Record<string, unknown>)[k]) !== JSON.stringify((b as Record<string, unknown>)[k]));
}

export async function trainValue(value: unknown, source: string, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: TRAIN_OPTIONS, allowPositionals: false });
  const exp = decodeRecipe(value, source, values.set);
  if (!exp) return 2;
  const workDir = values['work-dir'] ?? exp.workDir;
  let resumeFrom = values['resume-from'];
  if (values.resume && !resumeFrom) {
    resumeFrom = latestCheckpoint(path.join(workDir, 'checkpoints'));
    if (!resumeFrom) throw new Error(`--resume: no checkpoint in ${path.join(workDir, 'checkpoints')}`);
  }
  if (resumeFrom) {
    const diff = differingKeys(readCheckpointState(resumeFrom).experiment, exp).filter((k) => k !== 'run');
    if (diff.length > 0) process.stderr.write(`warning: resuming ${resumeFrom}, whose experiment differs in: ${diff.join(', ')}\n`);
  }
  const setup = await interpret(exp, { workDir });
  fs.mkdirSync(workDir, { recursive: true });
  writeFileAtomicSync(path.join(workDir, 'experiment.json'), `${JSON.stringify(exp, null, 2)}\n`);

  let ctx: TrainContext | undefined;
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nstopping after the current step (Ctrl-C again to quit at once)\n');
    ctx?.requestStop();
  };
  process.on('SIGINT', onSigint);
  let summary: Record<string, unknown> = { name: exp.name, workDir };
  try {
    await lastValueFrom(
      train(setup, { ...(resumeFrom ? { resumeFrom } : {}), onContext: (c) => (ctx = c) }).pipe(
        standardHooks({ progress: values.quiet ? false : {}, tensorboard: !values['no-tensorboard'] }),
        tap((ev) => {
          if (ev.type === 'step') summary = { ...summary, iteration: ev.iteration, loss: ev.loss };
          if (ev.type === 'validation') summary = { ...summary, psnr: ev.psnr, ssim: ev.ssim };
          if (ev.type === 'checkpoint') summary = { ...summary, checkpoint: ev.path };
          if (ev.type === 'end') summary = { ...summary, reason: ev.reason, seconds: ev.seconds };
        }),
      ),
    );
    console.log(JSON.stringify(summary));
    return 0;
  } catch (err) {
    process.stderr.write(`training failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    setup.model.dispose();
    setup.optimizer.dispose();
    setup.ema?.dispose();
    await setup.close?.();
  }
}

export async function trainCommand(args: string[]): Promise<number> {
  const [file, ...rest] = args;
  if (file === undefined || file.startsWith('-')) throw new Error('usage: simdeblur train RECIPE.ts [--set key=value]... [--work-dir DIR] [--resume | --resume-from DIR] [--quiet] [--no-tensorboard]');
  return trainValue(await loadRecipe(file), file, rest);
}
