// The mutable side of a run: counters, the best metric so far, pending hook work, how the run
// is to stop, and the operations hooks may perform on the live model (validate, checkpoint, stop).
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../runtime/index.ts';
import type { TrainSetup } from './setup.ts';
import { evaluate, type EvalResult } from './evaluate.ts';
import { checkpointIteration, listCheckpoints, loadTrainingState, loadWeights, readCheckpointState, saveCheckpoint } from './checkpoint.ts';

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
    this.markDone();
  }

  /**
   * Evaluates the model on the validation dataset (through the EMA weights when the run keeps an EMA),
   * records PSNR and SSIM as `lastMetrics`, and returns the result; throws if the experiment has no
   * `data.val`.
   */
  async validate(opts: { readonly saveImages?: number; readonly onProgress?: (done: number, total: number) => void } = {}): Promise<EvalResult> {
    const { val, model, strategy, valBatchSize } = this.setup;
    if (!val) throw new Error('validation requested but the experiment has no validation dataset (data.val)');
    const run = () => evaluate(model, model.params, strategy, val, { batchSize: valBatchSize, saveImages: opts.saveImages ?? 0, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    // With an EMA, validation sees the averaged weights (swapped in, then back).
    const r = await (this.setup.ema ? this.setup.ema.withAveraged(run) : run());
    this.lastMetrics = { psnr: r.psnr, ssim: r.ssim };
    return r;
  }

  /** Writes `checkpoints/iter_<n>` (or `checkpoints/<name>`) and returns its path. */
  async saveCheckpoint(name = `iter_${String(this.iteration).padStart(8, '0')}`): Promise<string> {
    const dir = path.join(this.checkpointsDir, name);
    const { model, optimizer, ema, experiment, seed } = this.setup;
    const optState = optimizer.state();
    const emaState = ema?.state();
    try {
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
    const ours = listCheckpoints(this.checkpointsDir).filter((dir) => checkpointIteration(dir) <= this.iteration);
    for (const dir of ours.slice(0, Math.max(0, ours.length - keep))) fs.rmSync(dir, { recursive: true, force: true });
  }

  /** Restores weights, optimiser/EMA state and position from a checkpoint directory. */
  resume(dir: string): void {
    const state = readCheckpointState(dir);
    if (state.seed !== this.setup.seed) throw new Error(`${dir}: checkpoint was made with seed ${state.seed}, the experiment has seed ${this.setup.seed}; an exact resume needs the same seed`);
    loadWeights(this.setup.model, path.join(dir, 'weights.safetensors'));
    const training = loadTrainingState(dir, state);
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
