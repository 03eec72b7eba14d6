// A small DBN (innerChannels 16) trained on the CPU as a demonstration video model: 5-frame
// windows of videos synthesised from the bundled photographs (random camera motion, sensor
// noise, a JPEG round trip; coffee.png held out entirely), measured on blurry videos of the
// held-out photograph. Not a benchmark model: recipes/dbn-dvd.ts, dbn-gopro.ts and dbn-reds.ts
// train the real ones.
//
//   npx tsx recipes/demo-dbn.ts [--set run.iterations=500] [--work-dir DIR] [--data-dir DIR]
//
// The data is written once to work_dirs/demo-data (shared with demo-nafnet.ts); training goes
// through `fit` (checkpoints and experiment.json in work_dirs/demo-dbn); the last line of output
// is a JSON summary with the held-out PSNR/SSIM of the blurry input and of the output.
import { experiment, models, losses, optim, schedules, augment, datasets, isMain } from 'simdeblur';
import { DEMO_DATA_DIR, demoDataPaths, runDemo } from './demo/shared.ts';

const data = demoDataPaths(DEMO_DATA_DIR);

const exp = experiment({
  name: 'demo-dbn',
  seed: 0,
  data: {
    train: datasets.gopro({ root: data.train, sampling: 'n_c', numFrames: 5, memoryCache: true }),
    val: datasets.gopro({ root: data.heldOut, sampling: 'n_c', numFrames: 5 }),
    batchSize: 4,
    augment: [augment.crop({ size: [64, 64] }), augment.hflip(), augment.vflip(), augment.transpose()],
  },
  // Starts as the identity (the centre frame), as in the quickstart.
  model: models.dbn({ numFrames: 5, inChannels: 3, innerChannels: 16, zeroInitResidual: true }),
  loss: losses.charbonnier({ reduction: 'mean' }),
  optimizer: optim.adam({ lr: 2e-3, betas: [0.9, 0.99] }),
  schedule: schedules.cosine({ etaMin: 1e-5, stepEvery: 'iteration' }),
  run: { iterations: 5000 },
  validation: { every: 1000 },
  checkpoint: { every: 1000, keepLast: 1 },
  log: { every: 50 },
});
export default exp;

if (isMain(import.meta.url)) await runDemo(exp, process.argv.slice(2));
