// The compute of one model at a frame size, counted by running it once: the `flops` command.
// The model runs as it does over a video by default (its registry's inference strategy and
// temporal windows), on one random clip, in eval mode.
import { buildComponent, decodeComponent, type ComponentSpec } from '../config/registry.ts';
import { buildModel, modelInference } from '../models/define.ts';
import { checkSampling, samplingDefaults } from '../data/sampling.ts';
import type { Strategy } from '../engine/strategy.ts';
import { measureCost, type Cost } from './cost.ts';
import '../components.ts';

/** What {@link modelFlops} reports. */
export interface ModelFlops extends Omit<Cost, 'inferenceMsPerFrame'> {
  /** The model spec measured (defaults filled). */
  readonly spec: ComponentSpec;
  readonly size: readonly [number, number];
  /** The strategy it ran with. */
  readonly strategy: string;
  /** Floating-point operations per frame: 2 × MACs. */
  readonly flopsPerFrame: number;
}

/**
 * Parameters and MACs per output frame of the model of `spec` at `size` ([height, width]),
 * counted from one forward pass; `videoFrames` is the clip length of models that run over whole
 * videos (default 5).
 */
export async function modelFlops(spec: ComponentSpec, size: readonly [number, number], videoFrames = 5): Promise<ModelFlops> {
  const decoded = decodeComponent('model', spec);
  const inference = modelInference(decoded);
  let sampling = checkSampling({ ...samplingDefaults, ...inference.sampling });
  if (sampling.sampling === 'video') sampling = { ...sampling, numFrames: videoFrames };
  const model = buildModel(decoded, 0);
  try {
    const strategy = buildComponent<Strategy>('strategy', inference.strategy);
    const { inferenceMsPerFrame: _, ...cost } = await measureCost(model, model.params, strategy, { size, runs: 0, sampling });
    return { spec: decoded, size, strategy: strategy.name, ...cost, flopsPerFrame: 2 * cost.macsPerFrame };
  } finally {
    model.dispose();
  }
}
