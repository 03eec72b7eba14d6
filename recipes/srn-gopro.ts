// SRN (Tao et al. 2018) on GoPro, as the original's configs/srn/srn_gopro.yaml: single frames,
// 3 scales, MSE per scale. The config's with_lstm False was ignored by the original, which always
// ran the ConvLSTM; this recipe keeps the LSTM, passing its hidden state on as the paper does.
import { experiment, models, losses, optim, schedules, augment, datasets, strategies, runIfMain } from 'simdeblur';

const exp = experiment({
  name: 'srn-gopro',
  data: {
    train: datasets.gopro({ root: 'datasets/GOPRO/train', sampling: 'n_c', numFrames: 1 }),
    val: datasets.gopro({ root: 'datasets/GOPRO/test', sampling: 'n_c', numFrames: 1 }),
    batchSize: 8,
    workers: 8,
    augment: augment.original([256, 256]),
  },
  model: models.srn({ inChannels: 6, innerChannels: 32, numLevels: 3, withLstm: true, lstmOutput: 'hidden' }),
  strategy: strategies.multiScale({ numScales: 3 }),
  loss: losses.mse(),
  optimizer: optim.adam({ lr: 1e-4, betas: [0.9, 0.999] }),
  schedule: schedules.multiStep({ milestones: [500, 750, 900], gamma: 0.5 }),
  run: { epochs: 1001 },
  validation: { every: 20 },
  checkpoint: { every: 20 },
  log: { every: 20 },
});
export default exp;
await runIfMain(import.meta.url, exp);
