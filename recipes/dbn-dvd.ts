// DBN (Su et al. 2017) on DVD, as the original's configs/dbn/dbn_dvd.yaml: 5-frame windows
// restoring the centre frame, Charbonnier loss, Adam 2e-4, 651 epochs.
//   npx tsx recipes/dbn-dvd.ts [--set data.train.root=/path/to/DVD/quantitative_datasets] ...
import { experiment, models, losses, optim, schedules, augment, datasets, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'dbn-dvd',
  data: {
    train: datasets.dvd({ root: 'datasets/DVD/quantitative_datasets', sampling: 'n_c', numFrames: 5 }),
    val: datasets.dvd({ root: 'datasets/DVD/test', sampling: 'dvd_test', numFrames: 5 }),
    batchSize: 8,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.dbn({ numFrames: 5, inChannels: 3, innerChannels: 64 }),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 2e-4, betas: [0.9, 0.99] }),
  schedule: schedules.multiStep({ milestones: [500, 600, 620], gamma: 0.1 }),
  run: { epochs: 651 },
  validation: { every: 5 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
