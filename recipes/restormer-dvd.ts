// Restormer (Zamir et al. 2022) on DVD, as the original's configs/restormer/restormer_dvd.yaml:
// single images, batch 1, Charbonnier, Adam 2e-4, 1001 epochs.
// (The original validated on its training root; this recipe uses the DVD test split.)
import { experiment, models, losses, optim, schedules, augment, datasets, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'restormer-dvd',
  data: {
    train: datasets.dvd({ root: 'datasets/DVD/quantitative_datasets', sampling: 'n_n', numFrames: 1 }),
    val: datasets.dvd({ root: 'datasets/DVD/test', sampling: 'n_n', numFrames: 1 }),
    batchSize: 1,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.restormer(),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 2e-4 }),
  schedule: schedules.multiStep({ milestones: [700, 850, 920], gamma: 0.1 }),
  run: { epochs: 1001 },
  validation: { every: 10 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
