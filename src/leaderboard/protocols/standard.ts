// `standard`: every model as its recipe trains it — the original configuration's epochs,
// batch, crop, augmentation, loss, optimiser and schedule — on a real benchmark, validated as
// the recipe does and scored on every frame it restores. Sized for GPUs (days per model);
// documented, not run on CPUs. `--data DIR` names the benchmark root (its layout is detected)
// and the recipes of that benchmark come first.
import { protocol } from '../protocol.ts';

/** The `standard` protocol. */
export const standard = protocol({
  name: 'standard',
  description: "The original configurations' schedules on a real benchmark (GPU scale).",
  seed: 0,
  data: { benchmark: { layout: 'dvd', root: 'datasets/DVD' } },
  train: { iterations: 'recipe', batch: 'recipe', crop: 'recipe', augment: 'recipe', schedule: 'recipe', loss: 'recipe', workers: 8, logEvery: 20 },
  // The paper trained MIMO-UNet+ as MIMO-UNet.
  models: { mimoUnetPlus: { recipe: 'mimounet-gopro.ts' } },
  eval: { score: 'all', during: true },
  cost: { size: [256, 256], runs: 3, videoFrames: 5 },
});
