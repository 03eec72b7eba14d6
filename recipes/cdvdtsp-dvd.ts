// CDVD-TSP (Pan et al. 2020) on DVD, as the original's configs/cdvd_tsp/cdvdtsp_dvd.yaml: 5-frame
// windows, the PWC-Net flow network, the temporal sharpness prior and the two-stage cascade.
// Pretrained PWC-Net: `--set model.flowWeights=FILE` (docs/models.md); without it the flow
// network starts from its initialisation and the build says so.
import { experiment, models, losses, optim, schedules, augment, datasets, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'cdvdtsp-dvd',
  data: {
    train: datasets.dvd({ root: 'datasets/DVD/quantitative_datasets', sampling: 'n_c', numFrames: 5 }),
    val: datasets.dvd({ root: 'datasets/DVD/test', sampling: 'dvd_test', numFrames: 5 }),
    batchSize: 4,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.cdvdTsp.preset('deblur'),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 1e-4, betas: [0.9, 0.99] }),
  schedule: schedules.multiStep({ milestones: [500, 600, 620], gamma: 0.1 }),
  run: { epochs: 651 },
  validation: { every: 5 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
