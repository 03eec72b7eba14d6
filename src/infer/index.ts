// Running trained models on images, folders of frames and videos (see docs/inference.md).
export { restoreFrames } from './run.ts';
export type { Restorer, FrameSequence, RestoreOptions, Restored } from './run.ts';
export { planSteps, mirror, keepFrom } from './plan.ts';
export type { Step, TemporalPlan } from './plan.ts';
export { runTiled, tileGrid } from './tile.ts';
export type { TileOptions, TileRect } from './tile.ts';
export { openInputs, naturalCompare, videoFrameName, VIDEO_EXTENSIONS } from './frames.ts';
export type { Frame, FrameSource } from './frames.ts';
export { sinkFor, checkOutputs, outputPaths, writePng } from './sinks.ts';
export type { FrameSink, SinkOptions } from './sinks.ts';
export { fromExperiment, fromModelName, readExperiment, experimentFileOf, trainCropOf, shippedWeightsDir, DEMO_MODELS } from './load.ts';
export type { RestorerSource } from './load.ts';
export { loadRestorer } from './restorer.ts';
export type { LoadedRestorer } from './restorer.ts';
export { deblurSource, meanMetrics, gtFileOf } from './deblur.ts';
export type { DeblurOptions, FrameMetrics, SourceResult } from './deblur.ts';
export { sideBySide } from './side-by-side.ts';
