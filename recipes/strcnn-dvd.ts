// STRCNN (Kim et al. 2017) on DVD, as the original's configs/strcnn/strcnn_dvd.yaml: 12-frame
// clips restoring the 8 middle frames. (The original config had no meta-arch and a legacy loss
// form, and crashed; here it is single-scale with Charbonnier, as intended.)
import { experiment, models, losses, optim, schedules, augment, datasets, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'strcnn-dvd',
  data: {
    train: datasets.dvd({ root: 'datasets/DVD/quantitative_datasets', sampling: 'strcnn', numFrames: 12 }),
    val: datasets.dvd({ root: 'datasets/DVD/test', sampling: 'strcnn', numFrames: 12, overlapping: false }),
    batchSize: 8,
    workers: 10,
    augment: augment.original([256, 256]),
  },
  model: models.strcnn({ numFramesEncoded: 5, inChannels: 3, innerChannels: 32, encoderBlocks: 4, decoderBlocks: 4, isDtb: true }),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 2e-4, betas: [0.9, 0.99] }),
  schedule: schedules.multiStep({ milestones: [500, 600, 620], gamma: 0.1 }),
  run: { epochs: 651 },
  validation: { every: 5 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
