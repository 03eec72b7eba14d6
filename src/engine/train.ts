// The training loop as a cold Observable<TrainEvent>. Subscribing starts the run; hooks are
// operators on the stream. After each event the loop waits for work that hooks registered with
// `ctx.wait`, so validation or checkpointing never overlaps an optimisation step.
//
// Two ways to end a run early:
// - stop: abort `opts.signal` (or call `ctx.requestStop()`). The loop finishes the current step,
//   saves a checkpoint, emits `checkpoint` (reason 'stop') and `end` (reason 'stopped'), and
//   completes; awaiting the stream's completion awaits all of it.
// - abandon: unsubscribe. The loop stops after the current step, with no checkpoint and no more
//   events; `ctx.done` resolves when it has let go of the setup.
import { Observable } from 'rxjs';
import { cleanStaleTemps } from '../io/atomic.ts';
import { batchesPerEpoch, epochBatches } from '../data/loader.ts';
import { countParams } from '../models/model.ts';
import { Rng } from '../util/rng.ts';
import { TrainContext } from './context.ts';
import type { TrainEvent } from './events.ts';
import type { TrainSetup } from './setup.ts';
import { trainStep } from './step.ts';
import { modelState } from './replicas.ts';

/** Options of {@link train}: the stop signal and the checkpoint to resume from. */
export interface TrainOptions {
  /** A checkpoint directory to continue from exactly. */
  readonly resumeFrom?: string;
  /** Aborting it stops the run gracefully: a checkpoint, then `end` with reason 'stopped'. */
  readonly signal?: AbortSignal;
  /** Resume from a checkpoint holding NaN or ±Infinity (refused by default). */
  readonly allowNonfinite?: boolean;
}

/** The training loop as a cold stream of events; subscribing starts the run and hooks are operators on the stream. */
export function train(setup: TrainSetup, opts: TrainOptions = {}): Observable<TrainEvent> {
  return new Observable<TrainEvent>((subscriber) => {
    const itersPerEpoch = batchesPerEpoch(setup.train, { batchSize: setup.batchSize, dropLast: true });
    if (itersPerEpoch === 0) {
      subscriber.error(new Error(`training dataset '${setup.train.name}' has ${setup.train.length} samples, fewer than one batch of ${setup.batchSize}`));
      return;
    }
    const { replicas } = setup;
    if (replicas && setup.batchSize % replicas.size !== 0) {
      subscriber.error(new Error(`data.batchSize ${setup.batchSize} is the global batch and must divide by the number of replicas, ${replicas.size}`));
      return;
    }
    const ctx = new TrainContext(setup, itersPerEpoch);
    try {
      if (opts.resumeFrom) ctx.resume(opts.resumeFrom, { allowNonfinite: opts.allowNonfinite ?? false });
    } catch (err) {
      subscriber.error(err);
      return;
    }
    const { signal } = opts;
    const onAbort = () => ctx.requestStop();
    if (signal?.aborted) ctx.requestStop();
    else signal?.addEventListener('abort', onAbort, { once: true });

    const emit = async (ev: TrainEvent): Promise<void> => {
      if (!subscriber.closed) subscriber.next(ev);
      await ctx.settle();
    };
    const totalIterations = setup.run.unit === 'epoch' ? setup.run.length * itersPerEpoch : setup.run.length;
    const finished = () => ctx.iteration >= totalIterations || (setup.run.unit === 'epoch' && ctx.epoch >= setup.run.length);
    const pos = () => ({ ctx, epoch: ctx.epoch, iteration: ctx.iteration });
    // Replicas stop together: a stop asked for on any of them (Ctrl-C, a hook) is agreed on
    // before each step, so that all take the same steps and save the same checkpoint.
    const stopAgreed = (): boolean => {
      if (!replicas) return ctx.stopRequested;
      if (!replicas.any(ctx.stopRequested)) return false;
      ctx.requestStop();
      return true;
    };
    const checkReplicas = (where: string): void => replicas?.assertSame(modelState(setup.model), where);

    // Delivered before subscribe() returns, so a subscriber holds the context (and `ctx.done`)
    // before it can unsubscribe.
    subscriber.next({ type: 'start', ...pos(), totalIterations, itersPerEpoch, params: countParams(setup.model), ...(opts.resumeFrom ? { resumedFrom: opts.resumeFrom } : {}) });

    const run = async (): Promise<void> => {
      await ctx.settle();
      // Leftovers of a checkpoint write interrupted by a crash are finished or removed.
      if (ctx.writes) await cleanStaleTemps(ctx.checkpointsDir).catch(() => undefined);
      if (replicas) {
        const at = replicas.gather(ctx.iteration);
        if (at.some((i) => i !== ctx.iteration)) throw new Error(`replicas start at different iterations (${at.map((i, r) => `rank ${r}: ${i}`).join(', ')}); every replica must resume from the same checkpoint`);
        checkReplicas(`at iteration ${ctx.iteration}, the start of the run`);
      }
      // The state to fall back on should a step make it non-finite.
      ctx.guardState(false);
      // A refused graph step is said once per run (a recurrence refuses at each of its time steps).
      let graphRefusalSaid = false;
      while (!finished() && !stopAgreed()) {
        const epochStart = Date.now();
        let lossSum = 0;
        let steps = 0;
        let tData = performance.now();
        const loaderOptions = { batchSize: setup.batchSize, shuffle: true, seed: setup.seed, dropLast: true, ...(replicas ? { shard: { index: replicas.rank, count: replicas.size } } : {}) };
        const batches = setup.batches ? setup.batches(loaderOptions, ctx.epoch, ctx.batch) : epochBatches(setup.train, loaderOptions, ctx.epoch, ctx.batch);
        for await (const batch of batches) {
          if (stopAgreed() || finished()) break;
          const t0 = performance.now();
          const lr = setup.lr(setup.lrUnit === 'epoch' ? ctx.epoch : ctx.iteration);
          const r = trainStep(setup, batch, lr, Rng.derive(setup.seed, `step:${ctx.iteration}`));
          const t1 = performance.now();
          ctx.iteration++;
          ctx.batch++;
          if (Number.isFinite(r.loss)) {
            lossSum += r.loss;
            steps++;
          }
          const at = { ctx, epoch: ctx.epoch, iteration: ctx.iteration, batch: ctx.batch - 1 };
          if (r.graphRefused !== undefined && !graphRefusalSaid) {
            graphRefusalSaid = true;
            await emit({ type: 'warning', ...at, kind: 'graph', message: `graph: this step runs op by op, not as a graph function: ${r.graphRefused}` });
          }
          // A skipped update can still have changed the state (BatchNorm statistics of the forward).
          const nonFinite = ctx.guardState();
          if (replicas && replicas.checkEvery > 0 && ctx.iteration % replicas.checkEvery === 0) checkReplicas(`after iteration ${ctx.iteration}`);
          await emit({
            type: 'step',
            ...at,
            loss: r.loss,
            terms: r.terms,
            lr,
            imagesPerSec: (batch.inputShape[0] * (replicas?.size ?? 1) * 1000) / Math.max(1e-3, t1 - tData),
            dataMs: t0 - tData,
            stepMs: t1 - t0,
            skipped: !r.applied,
            ...(nonFinite.length > 0 ? { nonFiniteState: nonFinite } : {}),
          });
          tData = performance.now();
        }
        if (ctx.batch >= itersPerEpoch) {
          const done = ctx.epoch;
          ctx.epoch++;
          ctx.batch = 0;
          await emit({ type: 'epoch', ctx, epoch: done, iteration: ctx.iteration, meanLoss: steps > 0 ? lossSum / steps : NaN, seconds: (Date.now() - epochStart) / 1000 });
        }
      }
      // Every replica has left the loop at the same step, the abandoned one too.
      checkReplicas(`at iteration ${ctx.iteration}, the end of the run`);
      if (ctx.abandoned) return;
      // With no finite state to save (a non-finite one was loaded on purpose), nothing is saved.
      if (ctx.stopRequested && !finished() && ctx.finiteIteration !== undefined) {
        const path = await ctx.saveCheckpoint();
        await emit({ type: 'checkpoint', ...pos(), path, reason: 'stop' });
      }
      await emit({ type: 'end', ...pos(), reason: finished() ? 'completed' : 'stopped', seconds: (Date.now() - ctx.startedAt) / 1000 });
    };

    run()
      .then(
        () => subscriber.complete(),
        (err: unknown) => subscriber.error(err),
      )
      .finally(() => {
        signal?.removeEventListener('abort', onAbort);
        ctx.finish();
      });
    return () => ctx.abandon();
  });
}
