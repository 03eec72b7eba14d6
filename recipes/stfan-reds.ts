// STFAN (Zhou et al. 2019) on REDS, as the original's configs/stfan/stfan_reds.yaml: 20-frame
// clips, the cell optimised after every frame (stfanRecurrent), MSE plus 0.01 x the VGG19
// perceptual loss (weights: scripts/convert-vgg19.py, docs/losses.md); validation on whole
// videos (the original's 20-frame clips restarted the recurrence at each clip).
import { experiment, models, losses, optim, schedules, augment, datasets, strategies, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'stfan-reds',
  data: {
    train: datasets.reds({ rootGt: 'datasets/REDS/train/train_sharp', rootInput: 'datasets/REDS/train/train_blur', sampling: 'n_n', numFrames: 20 }),
    val: datasets.reds({ rootGt: 'datasets/REDS/val/val_sharp', rootInput: 'datasets/REDS/val/val_blur', sampling: 'video' }),
    batchSize: 2,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.stfan(),
  strategy: strategies.stfanRecurrent(),
  loss: {
    terms: [
      { loss: losses.mse(), weight: 1 },
      { loss: losses.perceptual({ weights: 'weights/vgg19-features.safetensors' }), weight: 0.01 },
    ],
  },
  optimizer: optim.adam({ lr: 1e-4, betas: [0.9, 0.999] }),
  schedule: schedules.multiStep({ milestones: [300, 350, 380], gamma: 0.1 }),
  run: { epochs: 401 },
  validation: { every: 2 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
