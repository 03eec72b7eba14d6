export type { Optimizer, OptimizerState } from './types.ts';
export { adam, adamw, type AdamOptions } from './adam.ts';
export { sgd, type SgdOptions } from './sgd.ts';
export { clipGradNorm, type ClippedGrads } from './clip.ts';
export { ema, type Ema, type EmaOptions } from './ema.ts';
export {
  constant,
  multiStep,
  exponential,
  cosine,
  cosineRestart,
  warmupMultiStep,
  warmupCosineRestart,
  type LrAt,
  type LrSchedule,
  type MultiStepOptions,
  type ExponentialOptions,
  type CosineOptions,
  type CosineRestartOptions,
  type WarmupMultiStepOptions,
  type WarmupCosineRestartOptions,
} from './schedules.ts';
