// The standard hooks, and all of them composed in their usual order.
import { pipe, type OperatorFunction } from 'rxjs';
import type { TrainEvent } from '../events.ts';
import { validate } from './validate.ts';
import { checkpoints } from './checkpoint.ts';
import { progress, type ProgressOptions } from './progress.ts';
import { jsonlLog } from './jsonl-log.ts';
import { tensorboard } from './tensorboard.ts';
import { stopOnNaN } from './stop-on-nan.ts';

export { validate, checkpoints, progress, jsonlLog, tensorboard, stopOnNaN };
export { asyncHook, sideEffect, due, unitsDone } from './operators.ts';
export { formatDuration } from './progress.ts';

export interface StandardHookOptions {
  readonly progress?: ProgressOptions | false;
  readonly tensorboard?: boolean;
  readonly jsonl?: boolean;
}

/**
 * validate → checkpoint (so "best" follows validation) → stop on NaN → logs. Validation and
 * checkpoint periods come from the experiment.
 */
export function standardHooks(opts: StandardHookOptions = {}): OperatorFunction<TrainEvent, TrainEvent> {
  const logs: Array<OperatorFunction<TrainEvent, TrainEvent>> = [];
  if (opts.jsonl !== false) logs.push(jsonlLog());
  if (opts.tensorboard !== false) logs.push(tensorboard());
  if (opts.progress !== false) logs.push(progress(opts.progress ?? {}));
  return pipe(validate(), checkpoints(), stopOnNaN(), ...(logs as [OperatorFunction<TrainEvent, TrainEvent>]));
}
