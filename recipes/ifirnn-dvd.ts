// IFIRNN (Nah et al. 2019) on DVD, as the original's configs/ifirnn/ifirnn_dvd.yaml: 12-frame
// clips, every frame restored. (The original config had no meta-arch; single-scale here.)
import { experiment, models, losses, optim, schedules, augment, datasets, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'ifirnn-dvd',
  data: {
    train: datasets.dvd({ root: 'datasets/DVD/quantitative_datasets', sampling: 'n_n', numFrames: 12 }),
    val: datasets.dvd({ root: 'datasets/DVD/test', sampling: 'n_n', numFrames: 12, overlapping: false }),
    batchSize: 4,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.ifirnn({ inChannels: 3, innerChannels: 16, dualCell: true, intraIters: 3 }),
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
