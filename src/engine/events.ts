// The events a training run emits. Hooks are operators over this stream; every event carries
// the run's context so that a hook can evaluate or checkpoint the live model.
import type { TrainContext } from './context.ts';
import type { SideBySide, VideoMetrics } from './evaluate.ts';

export type { SideBySide, VideoMetrics };

export interface Position {
  /** 0-based index of the current (or just finished) epoch. */
  readonly epoch: number;
  /** Optimisation steps completed so far in the whole run. */
  readonly iteration: number;
}

export interface StartEvent extends Position {
  readonly type: 'start';
  readonly ctx: TrainContext;
  readonly totalIterations: number;
  readonly itersPerEpoch: number;
  readonly params: number;
  readonly resumedFrom?: string;
}

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
}

export interface EpochEvent extends Position {
  readonly type: 'epoch';
  readonly ctx: TrainContext;
  readonly meanLoss: number;
  readonly seconds: number;
}

export interface ValidationEvent extends Position {
  readonly type: 'validation';
  readonly ctx: TrainContext;
  readonly psnr: number;
  readonly ssim: number;
  readonly perVideo: Readonly<Record<string, VideoMetrics>>;
  readonly seconds: number;
  /** A few restored images beside their inputs and ground truth. */
  readonly images: readonly SideBySide[];
}

export interface CheckpointEvent extends Position {
  readonly type: 'checkpoint';
  readonly ctx: TrainContext;
  readonly path: string;
  readonly reason: 'periodic' | 'best' | 'stop' | 'final';
}

export interface EndEvent extends Position {
  readonly type: 'end';
  readonly ctx: TrainContext;
  readonly reason: 'completed' | 'stopped';
  readonly seconds: number;
}

export type TrainEvent = StartEvent | StepEvent | EpochEvent | ValidationEvent | CheckpointEvent | EndEvent;
