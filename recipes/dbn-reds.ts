// DBN on REDS, as the original's configs/dbn/dbn_reds.yaml (batch 4, 301 epochs).
//   npx tsx recipes/dbn-reds.ts [--set data.train.rootGt=... --set data.train.rootInput=...]
import { experiment, models, losses, optim, schedules, augment, datasets, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'dbn-reds',
  data: {
    train: datasets.reds({ rootGt: 'datasets/REDS/train/train_sharp', rootInput: 'datasets/REDS/train/train_blur', sampling: 'n_c', numFrames: 5 }),
    val: datasets.reds({ rootGt: 'datasets/REDS/val/val_sharp', rootInput: 'datasets/REDS/val/val_blur', sampling: 'n_c', numFrames: 5 }),
    batchSize: 4,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.dbn({ numFrames: 5, inChannels: 3, innerChannels: 64 }),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 2e-4 }),
  schedule: schedules.multiStep({ milestones: [250, 280, 290], gamma: 0.1 }),
  run: { epochs: 301 },
  validation: { every: 2 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
