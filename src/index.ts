// The public entry point: the experiment language with every built-in component registered,
// and the engine that runs an experiment.
export * from './config/index.ts';
export * from './components.ts';
export { fit, type FitOptions, type FitSummary } from './engine/fit.ts';
export { train, type TrainOptions } from './engine/train.ts';
export { interpret, type InterpretOptions } from './engine/interpret.ts';
export { evaluate, type EvalOptions, type EvalResult } from './engine/evaluate.ts';
export { trainSetup, type TrainSetup, type TrainSetupParts, type LossTerm } from './engine/setup.ts';
export type { TrainContext } from './engine/context.ts';
export type * from './engine/events.ts';
export { standardHooks, type HookSettings, type StandardHookOptions } from './engine/hooks/index.ts';
export * as hooks from './engine/hooks/index.ts';
