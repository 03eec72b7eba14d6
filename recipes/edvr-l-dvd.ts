// EDVR-L (Wang et al. 2019) on DVD, as the original's configs/edvr/edvr_l_dvd.yaml: 128 features,
// 40 reconstruction blocks, hr_in with pre-deblurring and TSA fusion.
import { experiment, models, losses, optim, schedules, augment, datasets, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'edvr-l-dvd',
  data: {
    train: datasets.dvd({ root: 'datasets/DVD/quantitative_datasets', sampling: 'n_c', numFrames: 5 }),
    val: datasets.dvd({ root: 'datasets/DVD/test', sampling: 'dvd_test', numFrames: 5 }),
    batchSize: 8,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.edvr.preset('deblur', { numFeat: 128, numReconstructBlock: 40 }),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 2e-4 }),
  schedule: schedules.multiStep({ milestones: [500, 600, 620], gamma: 0.1 }),
  run: { epochs: 651 },
  validation: { every: 5 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
