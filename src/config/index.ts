// The typed configuration language: codecs, the component registry, experiments and
// command-line overrides. It knows no component: the built-in ones register themselves where
// they are defined, and src/components.ts imports them all.
export * from './codecs.ts';
export { formatErrors, decodeWith, decodeOrThrow, showValue } from './errors.ts';
export { closest, didYouMean, editDistance } from './suggest.ts';
export * from './registry.ts';
export * from './experiment.ts';
export { applyOverrides, overrideExperiment, parseOverride, type Override } from './overrides.ts';
