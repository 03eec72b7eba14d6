// DBN on GoPro, as the original's configs/dbn/dbn_gopro.yaml.
//   npx tsx recipes/dbn-gopro.ts [--set data.train.root=/path/to/GOPRO/train --set data.val.root=/path/to/GOPRO/test]
import { experiment, models, losses, optim, schedules, augment, datasets, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'dbn-gopro',
  data: {
    train: datasets.gopro({ root: 'datasets/GOPRO/train', sampling: 'n_c', numFrames: 5 }),
    val: datasets.gopro({ root: 'datasets/GOPRO/test', sampling: 'n_c', numFrames: 5 }),
    batchSize: 8,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.dbn({ numFrames: 5, inChannels: 3, innerChannels: 64 }),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 2e-4, betas: [0.9, 0.99] }),
  schedule: schedules.multiStep({ milestones: [500, 600, 620], gamma: 0.1 }),
  run: { epochs: 651 },
  validation: { every: 10 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
