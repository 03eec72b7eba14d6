// The standard hooks, and all of them composed in their usual order.
import type { Experiment } from '../../config/experiment.ts';
import { validate, type ValidateOptions } from './validate.ts';
import { checkpoints, type CheckpointHookOptions } from './checkpoint.ts';
import { progress, type ProgressOptions } from './progress.ts';
import { jsonlLog, type JsonlLogOptions } from './jsonl-log.ts';
import { tensorboard, type TensorboardOptions } from './tensorboard.ts';
import { stopOnNaN } from './stop-on-nan.ts';
import { divergence, type DivergenceOptions } from './divergence.ts';
import { composeHooks, type Hook } from './operators.ts';

export { validate, checkpoints, progress, jsonlLog, tensorboard, stopOnNaN, divergence };
export type { ValidateOptions, CheckpointHookOptions, ProgressOptions, JsonlLogOptions, TensorboardOptions, DivergenceOptions };
export { asyncHook, composeHooks, due, perRun, unitsDone, type Hook } from './operators.ts';
export { formatDuration } from './progress.ts';
export { eventRecord } from './jsonl-log.ts';

/** The experiment sections the standard hooks take their settings from (an Experiment will do). */
export type HookSettings = Pick<Experiment, 'validation' | 'checkpoint' | 'log'>;

/** Which of the standard logging hooks `standardHooks` includes, and the console progress options. */
export interface StandardHookOptions {
  /** Console progress: its options, or false for none (default: on, on stdout). */
  readonly progress?: Omit<ProgressOptions, 'every'> | false;
  /** TensorBoard event files (default true). */
  readonly tensorboard?: boolean;
  /** The JSON-lines log (default true). */
  readonly jsonl?: boolean;
}

/**
 * validate → checkpoint (so "best" follows validation) → stop on NaN → divergence warning → logs, with periods from
 * the experiment's `validation`, `checkpoint` and `log` sections.
 */
export function standardHooks(settings: HookSettings, opts: StandardHookOptions = {}): Hook {
  const { validation, checkpoint, log } = settings;
  const hooks: Hook[] = [validate(validation), checkpoints(checkpoint), stopOnNaN(), divergence()];
  if (opts.jsonl !== false) hooks.push(jsonlLog({ every: log.every }));
  if (opts.tensorboard !== false) hooks.push(tensorboard({ every: log.every }));
  if (opts.progress !== false) hooks.push(progress({ ...opts.progress, every: log.every }));
  return composeHooks(hooks);
}
