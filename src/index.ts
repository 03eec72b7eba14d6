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
/**
 * Training hooks: operators over the event stream of a run (validation, checkpoints, logs, progress)
 * and helpers to write new ones.
 */
export * as hooks from './engine/hooks/index.ts';

// Running recipes, defining models and loading weights from user code.
export { runIfMain, isMain, loadRecipe } from './cli/recipe.ts';
export { defineModel, buildModel, paramCount, paramShapes, fromOriginal, originalClassNames, type ModelDefinition, type ModelCombinator, type OptionsOf, type OriginalClass } from './models/define.ts';
export { makeModel, countParams, loadStateDict, stateDict, type Model, type Params, type ModelInput, type ModelOutput, type StateDict, type Layout, type LoadOptions, type LoadReport } from './models/model.ts';
export { loadWeights, readCheckpointState, latestCheckpoint, listCheckpoints, checkpointIteration, type CheckpointState } from './engine/checkpoint.ts';
export type { Strategy, Pair, Recurrence } from './engine/strategy.ts';
export type { Dataset, Sample } from './data/dataset.ts';
export type { Loss } from './losses/types.ts';
export type { Optimizer } from './optim/types.ts';
export type { LrAt } from './optim/schedules.ts';
export { psnr, ssim, MetricAccumulator } from './metrics/index.ts';
// Leaderboard protocols: the value `simdeblur leaderboard --protocol FILE.ts` loads (docs/leaderboard-guide.md).
export { protocol, decodeProtocol, ProtocolCodec, type Protocol, type ProtocolInput, type ModelRule } from './leaderboard/protocol.ts';
export { builtinProtocols } from './leaderboard/protocols/index.ts';
// The tfjs namespace bound to the backend in use, and what that backend is.
export { tf, runtimeInfo, isNative, type Tf, type RuntimeInfo, type Tensor, type Tensor1D, type Tensor2D, type Tensor3D, type Tensor4D, type Tensor5D, type Scalar, type Variable } from './runtime/index.ts';
// Tensor code traced once into one TensorFlow graph and run with one native call (the experiment
// key `graph` runs training steps this way; `simdeblur deblur` its forward passes).
export { traceGraphFunction, graphFunctionsAvailable, NotTraceable, type GraphFunction } from './runtime/graph-function.ts';
export { GraphCache, type Traced, type GraphRun } from './runtime/graph-cache.ts';
