// The typed experiment language: codecs, component registry, built-in components, experiments
// and command-line overrides.
export * from './codecs.ts';
export { formatErrors, decodeWith, decodeOrThrow, showValue } from './errors.ts';
export { closest, didYouMean, editDistance } from './suggest.ts';
export * from './registry.ts';
export * from './experiment.ts';
export { applyOverrides, overrideExperiment, parseOverride, type Override } from './overrides.ts';
export { term, type LossTermSpec } from './losses.ts';
export { baseLr } from './optim.ts';
export { stepUnit } from './schedules.ts';
export * as models from './models.ts';
export * as losses from './losses.ts';
export * as optim from './optim.ts';
export * as schedules from './schedules.ts';
