// PVDNet (Son et al. 2021) on DVD, as the original's configs/pvdnet/pvdnet_dvd.yaml: 13-frame
// clips, frames 1..11 restored one optimiser step at a time from the previous output
// (pvdnetRecurrent, in [-1, 1] with the ground truth mapped alike), the large backbone with
// a frozen BIMNet; validation on whole videos (the original restored each frame from a 3-frame
// clip with the blurry frame as its "previous output"). Give the pretrained BIMNet with
// `--set model.bimnetWeights=FILE` (docs/models.md); without it the flow network is random.
import { experiment, models, losses, optim, schedules, augment, datasets, strategies, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'pvdnet-dvd',
  data: {
    train: datasets.dvd({ root: 'datasets/DVD/quantitative_datasets', sampling: 'n_n', numFrames: 13, overlapping: false }),
    val: datasets.dvd({ root: 'datasets/DVD/test', sampling: 'video' }),
    batchSize: 1,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.pvdnet.preset('deblur'),
  strategy: strategies.pvdnetRecurrent(),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 2e-4, betas: [0.9, 0.99] }),
  schedule: schedules.multiStep({ milestones: [700, 850, 920], gamma: 0.1 }),
  run: { epochs: 1001 },
  validation: { every: 10 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
