// MSCNN / DeepDeblur (Nah et al. 2017) on GoPro, as the original's configs/mscnn/mscnn_gopro.yaml:
// single frames, 3-scale pyramids, L1 per scale. (The original config lacked its multi-scale
// meta-arch and used a legacy loss form, and crashed.)
import { experiment, models, losses, optim, schedules, augment, datasets, strategies, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'mscnn-gopro',
  data: {
    train: datasets.gopro({ root: 'datasets/GOPRO/train', sampling: 'n_c', numFrames: 1 }),
    val: datasets.gopro({ root: 'datasets/GOPRO/test', sampling: 'n_c', numFrames: 1 }),
    batchSize: 8,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.mscnn({ inChannels: 3, numFeats: 64, outChannels: 3, numResblocks: 19, kernelSize: 5, numScales: 3 }),
  strategy: strategies.multiScale({ numScales: 3 }),
  loss: losses.l1(),
  optimizer: optim.adam({ lr: 1e-4, betas: [0.9, 0.999] }),
  schedule: schedules.multiStep({ milestones: [500, 750, 900], gamma: 0.5 }),
  run: { epochs: 1001 },
  validation: { every: 20 },
  checkpoint: { every: 20 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
