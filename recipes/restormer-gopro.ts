// Restormer (Zamir et al. 2022) on GOPRO, as the original's configs/restormer/restormer_gopro.yaml:
// single images, batch 1, Charbonnier, Adam 2e-4, 1001 epochs.
import { experiment, models, losses, optim, schedules, augment, datasets, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'restormer-gopro',
  data: {
    train: datasets.gopro({ root: 'datasets/GOPRO/train', sampling: 'n_n', numFrames: 1 }),
    val: datasets.gopro({ root: 'datasets/GOPRO/test', sampling: 'n_n', numFrames: 1 }),
    batchSize: 1,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.restormer(),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 2e-4, betas: [0.9, 0.99] }),
  schedule: schedules.multiStep({ milestones: [700, 850, 920], gamma: 0.1 }),
  run: { epochs: 1001 },
  validation: { every: 10 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
