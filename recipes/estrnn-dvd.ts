// ESTRNN (Zhong et al. 2020) on DVD, as the original's configs/estrnn/estrnn_dvd.yaml: 8-frame
// training clips (4 restored frames; 2 past and 2 future frames of context), 12-frame
// validation clips. (The original config had no meta-arch; single-scale here.)
import { experiment, models, losses, optim, schedules, augment, datasets, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'estrnn-dvd',
  data: {
    train: datasets.dvd({ root: 'datasets/DVD/quantitative_datasets', sampling: 'strcnn', numFrames: 8 }),
    val: datasets.dvd({ root: 'datasets/DVD/test', sampling: 'strcnn', numFrames: 12, overlapping: false }),
    batchSize: 4,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.estrnn({ nFeatures: 16, nBlocks: 15, futureFrames: 2, pastFrames: 2, activation: 'gelu' }),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 5e-4, betas: [0.9, 0.99] }),
  schedule: schedules.multiStep({ milestones: [500, 600, 620], gamma: 0.1 }),
  run: { epochs: 651 },
  validation: { every: 5 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
