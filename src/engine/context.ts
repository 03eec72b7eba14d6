// The mutable side of a run: counters, the best metric so far, pending hook work, how the run
// is to stop, and the operations hooks may perform on the live model (validate, checkpoint, stop).
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';
import type { TrainSetup } from './setup.ts';
import { evaluate, type EvalResult } from './evaluate.ts';
import { checkpointIteration, listCheckpoints, loadTrainingState, loadWeights, readCheckpointState, saveCheckpoint, type LoadCheckpointOptions } from './checkpoint.ts';
import type { OptimizerState } from '../optim/types.ts';
import { listNames, nonFiniteTensors } from '../util/finite.ts';
import { writesFiles } from './replicas.ts';

/**
 * The model, optimiser and EMA state at a position. Its tensors are clones: they share buffers
 * with the live variables until an update swaps those, so holding one costs memory only while
 * the live state has moved on.
 */
interface Snapshot {
  readonly epoch: number;
  readonly batch: number;
  readonly iteration: number;
  readonly params: Record<string, Tensor>;
  readonly buffers: Record<string, Tensor>;
  readonly optimizer: OptimizerState;
  readonly ema: OptimizerState | undefined;
}

function disposeSnapshot(s: Snapshot | undefined): void {
  if (!s) return;
  tf.dispose([...Object.values(s.params), ...Object.values(s.buffers), ...Object.values(s.optimizer.tensors), ...Object.values(s.ema?.tensors ?? {})]);
}

/**
 * The mutable state of a training run (epoch, batch and iteration counters, best validation PSNR, last
 * metrics) and the operations hooks may perform on the live model: validate, checkpoint, stop.
 */
export class TrainContext {
  epoch = 0;
  /** Batches of the current epoch already trained on. */
  batch = 0;
  iteration = 0;
  bestPsnr: number | null = null;
  lastMetrics: Record<string, number> = {};
  /** The newest validation through `validate()`: where it was made and its PSNR. */
  lastValidation: { readonly iteration: number; readonly psnr: number } | undefined;
  /** The newest state found finite, kept so that a diverged run can save it instead of its own. */
  private lastFinite: Snapshot | undefined;
  readonly startedAt = Date.now();
  /**
   * Resolves once the loop has let go of the setup: after `end`, after an error, or, when the
   * subscriber unsubscribed, once the step in progress and the hook work it waits for are done.
   * Only then may the setup be disposed.
   */
  readonly done: Promise<void>;
  private readonly pending = new Set<Promise<unknown>>();
  private stopMode: 'none' | 'stop' | 'abandon' = 'none';
  private markDone!: () => void;

  constructor(
    readonly setup: TrainSetup,
    readonly itersPerEpoch: number,
  ) {
    this.done = new Promise<void>((resolve) => (this.markDone = resolve));
  }

  get checkpointsDir(): string {
    return path.join(this.setup.workDir, 'checkpoints');
  }

  /** The run's loop waits for `p` before taking its next step (for hooks doing async work). */
  wait(p: Promise<unknown>): void {
    this.pending.add(p);
    p.then(
      () => this.pending.delete(p),
      () => this.pending.delete(p),
    );
  }

  /** Resolves once every promise handed to `wait` (including any added meanwhile) has settled. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /**
   * Stop after the current step; the run then checkpoints, emits `end` (reason 'stopped') and
   * completes. What `train`'s abort signal does.
   */
  requestStop(): void {
    if (this.stopMode === 'none') this.stopMode = 'stop';
  }

  /** Stop after the current step without a checkpoint or further events (the subscriber left). */
  abandon(): void {
    this.stopMode = 'abandon';
  }

  /** A stop was requested (or the run was abandoned). */
  get stopRequested(): boolean {
    return this.stopMode !== 'none';
  }

  get abandoned(): boolean {
    return this.stopMode === 'abandon';
  }

  /** Called by the loop when it has exited. */
  finish(): void {
    disposeSnapshot(this.lastFinite);
    this.lastFinite = undefined;
    this.markDone();
  }

  /** The live model, optimiser and EMA tensors, by name (`params/…`, `buffers/…`, `optimizer/…`, `ema/…`). */
  private liveState(): { named: Record<string, Tensor>; optimizer: OptimizerState; ema: OptimizerState | undefined; owned: Tensor[] } {
    const { model, optimizer, ema } = this.setup;
    const opt = optimizer.state();
    const avg = ema?.state();
    const prefixed = (prefix: string, ts: Readonly<Record<string, Tensor>>) => Object.entries(ts).map(([k, v]) => [`${prefix}/${k}`, v] as const);
    const named = Object.fromEntries([...prefixed('params', model.params), ...prefixed('buffers', model.buffers), ...prefixed('optimizer', opt.tensors), ...prefixed('ema', avg?.tensors ?? {})]);
    return { named, optimizer: opt, ema: avg, owned: [...Object.values(opt.tensors), ...Object.values(avg?.tensors ?? {})] };
  }

  /** Names of the live state's tensors that hold a non-finite value (one scalar read when none do). */
  nonFiniteState(): string[] {
    const { named, owned } = this.liveState();
    try {
      return nonFiniteTensors(named);
    } finally {
      tf.dispose(owned);
    }
  }

  /** The iteration of the state a checkpoint would now hold, if it is finite (else undefined). */
  get finiteIteration(): number | undefined {
    return this.lastFinite?.iteration;
  }

  /**
   * Checks the live state after a step (and at the start of a run). Finite: it becomes the state
   * to fall back on. Not: the model, optimiser and EMA are put back to the last finite state
   * (position included), the run is asked to stop (unless `stop` is false: a run may start from
   * a non-finite state loaded on purpose), and the offending tensors are returned.
   */
  guardState(stop = true): string[] {
    const live = this.liveState();
    let bad: string[];
    try {
      bad = nonFiniteTensors(live.named);
    } catch (err) {
      tf.dispose(live.owned);
      throw err;
    }
    if (bad.length === 0) {
      const { model } = this.setup;
      disposeSnapshot(this.lastFinite);
      // A finished epoch counts as the start of the next, as the loop does after it.
      const closed = this.batch >= this.itersPerEpoch;
      const clone = (ts: Readonly<Record<string, Tensor>>) => Object.fromEntries(Object.entries(ts).map(([k, v]) => [k, tf.clone(v)]));
      this.lastFinite = {
        epoch: closed ? this.epoch + 1 : this.epoch,
        batch: closed ? 0 : this.batch,
        iteration: this.iteration,
        params: clone(model.params),
        buffers: clone(model.buffers),
        // The handles the check was made on become the snapshot's.
        optimizer: live.optimizer,
        ema: live.ema,
      };
      return [];
    }
    tf.dispose(live.owned);
    const s = this.lastFinite;
    if (s) {
      const { model, optimizer, ema } = this.setup;
      for (const [k, v] of Object.entries(s.params)) model.params[k]!.assign(v);
      for (const [k, v] of Object.entries(s.buffers)) model.buffers[k]!.assign(v);
      optimizer.loadState(s.optimizer);
      if (ema && s.ema) ema.loadState(s.ema);
      this.epoch = s.epoch;
      this.batch = s.batch;
      this.iteration = s.iteration;
    }
    if (stop) this.requestStop();
    return bad;
  }

  /**
   * Evaluates the model on the validation dataset (through the EMA weights when the run keeps an EMA),
   * records PSNR and SSIM as `lastMetrics`, and returns the result; throws if the experiment has no
   * `data.val`.
   */
  async validate(opts: { readonly saveImages?: number; readonly onProgress?: (done: number, total: number) => void } = {}): Promise<EvalResult> {
    const { val, model, strategy, valBatchSize } = this.setup;
    if (!val) throw new Error('validation requested but the experiment has no validation dataset (data.val)');
    const { replicas } = this.setup;
    const run = () =>
      evaluate(model, model.params, strategy, val, { batchSize: valBatchSize, saveImages: opts.saveImages ?? 0, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(replicas ? { replicas } : {}) });
    // With an EMA, validation sees the averaged weights (swapped in, then back).
    const r = await (this.setup.ema ? this.setup.ema.withAveraged(run) : run());
    this.lastMetrics = { psnr: r.psnr, ssim: r.ssim };
    this.lastValidation = { iteration: this.iteration, psnr: r.psnr };
    return r;
  }

  /** Whether this process writes the run's files (checkpoints, logs): not a data-parallel replica other than 0. */
  get writes(): boolean {
    return writesFiles(this.setup.replicas);
  }

  /**
   * Writes `checkpoints/iter_<n>` (or `checkpoints/<name>`) and returns its path. A state holding
   * a non-finite value is never written: that throws, naming the tensors. Replicas other than 0
   * write nothing and return the path replica 0 writes.
   */
  async saveCheckpoint(name = `iter_${String(this.iteration).padStart(8, '0')}`): Promise<string> {
    const dir = path.join(this.checkpointsDir, name);
    if (!this.writes) return dir;
    const { model, optimizer, ema, experiment, seed } = this.setup;
    const optState = optimizer.state();
    const emaState = ema?.state();
    try {
      const bad = this.nonFiniteState();
      if (bad.length > 0) throw new Error(`not saving ${dir}: non-finite values in ${listNames(bad)} at iteration ${this.iteration}`);
      await saveCheckpoint(dir, {
        model,
        optimizer: optState,
        ...(emaState ? { ema: emaState } : {}),
        state: { experiment, epoch: this.epoch, batch: this.batch, iteration: this.iteration, seed, metrics: this.lastMetrics, bestPsnr: this.bestPsnr },
      });
    } finally {
      tf.dispose([...Object.values(optState.tensors), ...Object.values(emaState?.tensors ?? {})]);
    }
    return dir;
  }

  /**
   * Removes periodic checkpoints beyond the newest `keep` up to the current iteration. Later ones
   * were left by another run in the same work directory and are not this run's to remove.
   */
  prune(keep: number): void {
    if (!this.writes) return;
    const ours = listCheckpoints(this.checkpointsDir).filter((dir) => checkpointIteration(dir) <= this.iteration);
    for (const dir of ours.slice(0, Math.max(0, ours.length - keep))) fs.rmSync(dir, { recursive: true, force: true });
  }

  /**
   * Restores weights, optimiser/EMA state and position from a checkpoint directory. Non-finite
   * tensors are refused unless `opts.allowNonfinite`.
   */
  resume(dir: string, opts: LoadCheckpointOptions = {}): void {
    const state = readCheckpointState(dir);
    const file = path.join(dir, 'state.json');
    if (state.seed !== this.setup.seed) throw new Error(`${dir}: checkpoint was made with seed ${state.seed}, the experiment has seed ${this.setup.seed}; an exact resume needs the same seed`);
    // The loop leaves batch = itersPerEpoch between an epoch's last step and closing the epoch.
    const per = this.itersPerEpoch;
    if (state.batch > per) {
      throw new Error(`${file}: batch ${state.batch} is past the end of an epoch (${per} iterations per epoch); was the checkpoint made with other training data or batch size?`);
    }
    if (state.epoch * per + state.batch !== state.iteration) {
      throw new Error(
        `${file}: epoch ${state.epoch}, batch ${state.batch} and iteration ${state.iteration} disagree (${per} iterations per epoch: expected iteration ${state.epoch * per + state.batch}); was the checkpoint made with other training data or batch size?`,
      );
    }
    loadWeights(this.setup.model, path.join(dir, 'weights.safetensors'), opts);
    const training = loadTrainingState(dir, state, opts);
    try {
      this.setup.optimizer.loadState(training.optimizer);
      if (this.setup.ema) {
        if (!training.ema) throw new Error(`${dir}: the experiment uses an EMA of the weights but the checkpoint has none`);
        this.setup.ema.loadState(training.ema);
      }
    } finally {
      tf.dispose([...Object.values(training.optimizer.tensors), ...Object.values(training.ema?.tensors ?? {})]);
    }
    this.epoch = state.epoch;
    this.batch = state.batch;
    this.iteration = state.iteration;
    this.bestPsnr = state.bestPsnr;
    this.lastMetrics = { ...state.metrics };
  }
}
