// The events a training run emits. Hooks are operators over this stream; every event carries
// the run's context so that a hook can evaluate or checkpoint the live model.
import type { TrainContext } from './context.ts';
import type { SideBySide, VideoMetrics } from './evaluate.ts';

export type { SideBySide, VideoMetrics };

/** Where the run stands when an event is emitted. */
export interface Position {
  /** 0-based index of the current (or just finished) epoch. */
  readonly epoch: number;
  /** Optimisation steps completed so far in the whole run. */
  readonly iteration: number;
}

/**
 * Emitted once when a run starts (or resumes): the planned number of iterations, iterations per epoch,
 * the model's parameter count, and the checkpoint resumed from, if any.
 */
export interface StartEvent extends Position {
  readonly type: 'start';
  readonly ctx: TrainContext;
  readonly totalIterations: number;
  readonly itersPerEpoch: number;
  readonly params: number;
  readonly resumedFrom?: string;
}

/**
 * Emitted after every optimisation step: the loss and its named terms, the learning rate, throughput
 * and timings; `skipped` when the loss was not finite.
 */
export interface StepEvent extends Position {
  readonly type: 'step';
  readonly ctx: TrainContext;
  /** Index of the batch within its epoch. */
  readonly batch: number;
  readonly loss: number;
  readonly terms: Readonly<Record<string, number>>;
  readonly lr: number;
  readonly imagesPerSec: number;
  /** Time waiting for data and time in the optimisation step, ms. */
  readonly dataMs: number;
  readonly stepMs: number;
  /** The loss was not finite: the update was not applied. */
  readonly skipped: boolean;
  /**
   * Tensors (`params/…`, `buffers/…`, `optimizer/…`, `ema/…`) that held a non-finite value after
   * this step. The state was then put back to the last finite one (`ctx.iteration` says which)
   * and the run stops.
   */
  readonly nonFiniteState?: readonly string[];
}

/** Emitted at the end of each epoch with its mean loss and duration in seconds. */
export interface EpochEvent extends Position {
  readonly type: 'epoch';
  readonly ctx: TrainContext;
  readonly meanLoss: number;
  readonly seconds: number;
}

/**
 * Emitted by the `validate` hook after each validation: overall and per-video PSNR and SSIM, duration
 * in seconds, and a few side-by-side images.
 */
export interface ValidationEvent extends Position {
  readonly type: 'validation';
  readonly ctx: TrainContext;
  readonly psnr: number;
  readonly ssim: number;
  /**
   * PSNR of the blurry inputs themselves: what doing nothing scores (null when not comparable;
   * absent when whoever made the event did not compute it).
   */
  readonly inputPsnr?: number | null;
  readonly perVideo: Readonly<Record<string, VideoMetrics>>;
  readonly seconds: number;
  /** A few restored images beside their inputs and ground truth. */
  readonly images: readonly SideBySide[];
}

/**
 * Emitted when a checkpoint has been written: its directory and why it was made (periodic, best
 * validation PSNR, stop, or final).
 */
export interface CheckpointEvent extends Position {
  readonly type: 'checkpoint';
  readonly ctx: TrainContext;
  readonly path: string;
  readonly reason: 'periodic' | 'best' | 'stop' | 'final';
}

/**
 * Something a person should know about the run that does not stop it: a diverging loss, or a
 * step that runs eagerly although the experiment asked for graph steps.
 */
export interface WarningEvent extends Position {
  readonly type: 'warning';
  readonly ctx: TrainContext;
  readonly kind: 'divergence' | 'graph';
  readonly message: string;
}

/**
 * Emitted last, when the run completed its planned length or was stopped, with its total duration in
 * seconds.
 */
export interface EndEvent extends Position {
  readonly type: 'end';
  readonly ctx: TrainContext;
  readonly reason: 'completed' | 'stopped';
  readonly seconds: number;
}

/**
 * Any event of a training run, discriminated by `type`; every event carries the run's {@link
 * TrainContext} as `ctx`.
 */
export type TrainEvent = StartEvent | StepEvent | EpochEvent | ValidationEvent | CheckpointEvent | WarningEvent | EndEvent;
