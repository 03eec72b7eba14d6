// STFAN (Zhou et al. 2019) on DVD, as the original's configs/stfan/stfan_dvd.yaml: 20-frame
// clips (with temporal reversal), the cell optimised after every frame (stfanRecurrent),
// validation on whole videos (the original's 5-frame clips restarted the recurrence at each
// clip). The config's legacy loss entry crashed the original; it meant Charbonnier.
import { experiment, models, losses, optim, schedules, augment, datasets, strategies, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'stfan-dvd',
  data: {
    train: datasets.dvd({ root: 'datasets/DVD/quantitative_datasets', sampling: 'n_n', numFrames: 20 }),
    val: datasets.dvd({ root: 'datasets/DVD/test', sampling: 'video' }),
    batchSize: 2,
    workers: 8,
    augment: [...augment.original([256, 256]), augment.reverse()],
  },
  model: models.stfan(),
  strategy: strategies.stfanRecurrent(),
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
