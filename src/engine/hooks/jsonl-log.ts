// A JSON-lines log of the run (default `<workDir>/log.jsonl`), one object per event, for
// scripts: every `log.every`-th step, and every validation, checkpoint, epoch and end event.
import path from 'node:path';
import type { OperatorFunction } from 'rxjs';
import { JsonlWriter } from '../../io/jsonl.ts';
import type { TrainEvent } from '../events.ts';
import { sideEffect } from './operators.ts';

/** The event as plain JSON (no context, no image data). */
export function eventRecord(ev: TrainEvent): Record<string, unknown> {
  const { ctx, ...rest } = ev;
  const base = { ...rest, time: new Date().toISOString() };
  if (ev.type === 'validation') return { ...base, images: ev.images.map((i) => i.name) };
  if (ev.type === 'start') return { ...base, name: ctx.setup.name, model: ctx.setup.model.name, experiment: ctx.setup.experiment };
  return base;
}

export function jsonlLog(opts: { file?: string; every?: number } = {}): OperatorFunction<TrainEvent, TrainEvent> {
  let writer: JsonlWriter | undefined;
  return sideEffect(
    (ev) => {
      writer ??= new JsonlWriter(opts.file ?? path.join(ev.ctx.setup.workDir, 'log.jsonl'));
      const every = opts.every ?? ev.ctx.setup.log.every;
      if (ev.type === 'step' && ev.iteration % every !== 0 && !ev.skipped) return;
      writer.write(eventRecord(ev));
      if (ev.type === 'end' || ev.type === 'checkpoint') writer.flush();
    },
    () => writer?.close(),
  );
}
