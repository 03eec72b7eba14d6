// STFAN (Zhou et al. 2019) on GoPro, as the original's configs/stfan/stfan_gopro.yaml: 20-frame
// clips of the gamma-free blur, the cell optimised after every frame (stfanRecurrent), MSE
// plus 0.01 x the VGG19 perceptual loss; validation on whole videos of blur_gamma (the
// original's 3-frame clips restarted the recurrence at each clip).
// The perceptual loss needs ImageNet VGG19 weights: scripts/convert-vgg19.py writes them to
// weights/vgg19-features.safetensors (docs/losses.md).
import { experiment, models, losses, optim, schedules, augment, datasets, strategies, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'stfan-gopro',
  data: {
    train: datasets.gopro({ root: 'datasets/GOPRO/train', sampling: 'n_n', numFrames: 20, useGamma: false }),
    val: datasets.gopro({ root: 'datasets/GOPRO/test', sampling: 'video', useGamma: true }),
    batchSize: 1,
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
  schedule: schedules.multiStep({ milestones: [700, 850, 920], gamma: 0.1 }),
  run: { epochs: 1001 },
  validation: { every: 10 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
