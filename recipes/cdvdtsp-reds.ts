// CDVD-TSP (Pan et al. 2020) on REDS, as the original's configs/cdvd_tsp/cdvdtsp_reds.yaml: 5-frame
// windows, the PWC-Net flow network, the temporal sharpness prior and the two-stage cascade.
// Pretrained PWC-Net: `--set model.flowWeights=FILE` (docs/models.md); without it the flow
// network starts from its initialisation and the build says so.
import { experiment, models, losses, optim, schedules, augment, datasets, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'cdvdtsp-reds',
  data: {
    train: datasets.reds({ rootGt: 'datasets/REDS/train/train_sharp', rootInput: 'datasets/REDS/train/train_blur', sampling: 'n_c', numFrames: 5 }),
    val: datasets.reds({ rootGt: 'datasets/REDS/val/val_sharp', rootInput: 'datasets/REDS/val/val_blur', sampling: 'n_c', numFrames: 5 }),
    batchSize: 4,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.cdvdTsp.preset('deblur'),
  loss: losses.hem(),
  optimizer: optim.adam({ lr: 1e-4, betas: [0.9, 0.999] }),
  schedule: schedules.multiStep({ milestones: [300, 350, 380], gamma: 0.1 }),
  run: { epochs: 401 },
  validation: { every: 2 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
