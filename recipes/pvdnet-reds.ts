// PVDNet (Son et al. 2021) on REDS, as the original's configs/pvdnet/pvdnet_reds.yaml:
// 13-frame clips, frames 1..11 restored one optimiser step at a time (pvdnetRecurrent), the
// large backbone with a frozen BIMNet; validation on whole videos (the original's 50-frame
// clips restarted the recurrence at each clip). Pretrained BIMNet:
// `--set model.bimnetWeights=FILE` (docs/models.md).
import { experiment, models, losses, optim, schedules, augment, datasets, strategies, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'pvdnet-reds',
  data: {
    train: datasets.reds({ rootGt: 'datasets/REDS/train/train_sharp', rootInput: 'datasets/REDS/train/train_blur', sampling: 'n_n', numFrames: 13, overlapping: false }),
    val: datasets.reds({ rootGt: 'datasets/REDS/val/val_sharp', rootInput: 'datasets/REDS/val/val_blur', sampling: 'video' }),
    batchSize: 4,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.pvdnet.preset('deblur'),
  strategy: strategies.pvdnetRecurrent(),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 1e-4, betas: [0.9, 0.999] }),
  schedule: schedules.multiStep({ milestones: [300, 350, 380], gamma: 0.1 }),
  run: { epochs: 401 },
  validation: { every: 2 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
