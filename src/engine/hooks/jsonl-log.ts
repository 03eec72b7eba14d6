// A JSON-lines log of the run (default `<workDir>/log.jsonl`), one object per event, for
// scripts: every `every`-th step (and every skipped one), and every validation, checkpoint,
// epoch and end event.
import path from 'node:path';
import { tap } from 'rxjs';
import { JsonlWriter } from '../../io/jsonl.ts';
import type { TrainEvent } from '../events.ts';
import { perRun, positiveInt, type Hook } from './operators.ts';

/** The event as plain JSON (no context, no image data). */
export function eventRecord(ev: TrainEvent): Record<string, unknown> {
  const { ctx, ...rest } = ev;
  const base = { ...rest, time: new Date().toISOString() };
  if (ev.type === 'validation') return { ...base, images: ev.images.map((i) => i.name) };
  if (ev.type === 'start') return { ...base, name: ctx.setup.name, model: ctx.setup.model.name, experiment: ctx.setup.experiment };
  return base;
}

/** Options of the `jsonlLog` hook. */
export interface JsonlLogOptions {
  /** Default `<workDir>/log.jsonl`. */
  readonly file?: string;
  /** Step period in iterations (default 10). */
  readonly every?: number;
}

/**
 * A hook that appends one JSON object per event to a JSON-lines file (default `<workDir>/log.jsonl`):
 * every `every`-th step and every skipped one, and all other events.
 */
export function jsonlLog(opts: JsonlLogOptions = {}): Hook {
  const every = positiveInt('jsonlLog', 'every', opts.every ?? 10);
  return perRun(() => {
    let writer: JsonlWriter | undefined;
    return tap({
      next(ev) {
        writer ??= new JsonlWriter(opts.file ?? path.join(ev.ctx.setup.workDir, 'log.jsonl'));
        if (ev.type === 'step' && ev.iteration % every !== 0 && !ev.skipped) return;
        writer.write(eventRecord(ev));
        if (ev.type === 'end' || ev.type === 'checkpoint') writer.flush();
      },
      finalize: () => writer?.close(),
    });
  });
}
