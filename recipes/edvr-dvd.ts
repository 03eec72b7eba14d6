// EDVR (Wang et al. 2019, BasicSR version) on DVD, as the original's configs/edvr/edvr_dvd.yaml:
// 64 features, 10 reconstruction blocks, hr_in with pre-deblurring and TSA fusion.
// recipes/edvr-l-dvd.ts is the large variant.
import { experiment, models, losses, optim, schedules, augment, datasets, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'edvr-dvd',
  data: {
    train: datasets.dvd({ root: 'datasets/DVD/quantitative_datasets', sampling: 'n_c', numFrames: 5 }),
    val: datasets.dvd({ root: 'datasets/DVD/test', sampling: 'dvd_test', numFrames: 5 }),
    batchSize: 8,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.edvr.preset('deblur'),
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
