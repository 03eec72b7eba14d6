// MIMO-UNet (Cho et al. 2021) on GoPro, as the original's configs/minmounet/mimounet_gopro.yaml:
// three output scales, L1 in the image domain and in the 2-D frequency domain. The frequency
// term has the paper's weight 0.1 (`--set strategy.fftWeight=1` for SimDeblur's weighting).
// Use models.mimoUnetPlus() for MIMO-UNet+.
import { experiment, models, losses, optim, schedules, augment, datasets, strategies, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'mimounet-gopro',
  data: {
    train: datasets.gopro({ root: 'datasets/GOPRO/train', sampling: 'n_n', numFrames: 1 }),
    val: datasets.gopro({ root: 'datasets/GOPRO/test', sampling: 'n_n', numFrames: 1 }),
    batchSize: 4,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.mimoUnet({ numRes: 8 }),
  strategy: strategies.mimo({ fftWeight: 0.1 }),
  loss: losses.l1(),
  optimizer: optim.adam({ lr: 1e-4, betas: [0.9, 0.99] }),
  schedule: schedules.multiStep({ milestones: [500, 1000, 1500, 2000, 2500], gamma: 0.5 }),
  run: { epochs: 3001 },
  validation: { every: 50 },
  checkpoint: { every: 10 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
