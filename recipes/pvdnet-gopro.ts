// PVDNet (Son et al. 2021) on GoPro, as the original's configs/pvdnet/pvdnet_gopro.yaml:
// overlapping 13-frame clips, frames 1..11 restored one optimiser step at a time
// (pvdnetRecurrent), the large backbone with a frozen BIMNet; validation on whole videos of
// blur_gamma (the original's 3-frame clips scored every third frame, each from a blurry
// "previous output"). Pretrained BIMNet: `--set model.bimnetWeights=FILE` (docs/models.md).
import { experiment, models, losses, optim, schedules, augment, datasets, strategies, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'pvdnet-gopro',
  data: {
    train: datasets.gopro({ root: 'datasets/GOPRO/train', sampling: 'n_n', numFrames: 13 }),
    val: datasets.gopro({ root: 'datasets/GOPRO/test', sampling: 'video', useGamma: true }),
    batchSize: 1,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.pvdnet.preset('deblur'),
  strategy: strategies.pvdnetRecurrent(),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 1e-4, betas: [0.9, 0.999] }),
  schedule: schedules.multiStep({ milestones: [700, 850, 920], gamma: 0.1 }),
  run: { epochs: 1001 },
  validation: { every: 10 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
