// A small NAFNet (width 16) trained on the CPU as a demonstration model: single frames of videos
// synthesised from the bundled photographs (random camera motion, sensor noise, a JPEG round
// trip; coffee.png held out entirely), measured on blurry videos of the held-out photograph.
// Not a benchmark model: recipes/nafnet-gopro.ts trains the real one on GoPro.
//
//   npx tsx recipes/demo-nafnet.ts [--set run.iterations=500] [--work-dir DIR] [--data-dir DIR]
//
// The data is written once to work_dirs/demo-data (shared with demo-dbn.ts); training goes
// through `fit` (checkpoints and experiment.json in work_dirs/demo-nafnet); the last line of
// output is a JSON summary with the held-out PSNR/SSIM of the blurry input and of the output.
import { experiment, models, losses, optim, schedules, augment, datasets, isMain } from 'simdeblur';
import { DEMO_DATA_DIR, demoDataPaths, runDemo } from './demo/shared.ts';

const data = demoDataPaths(DEMO_DATA_DIR);

const exp = experiment({
  name: 'demo-nafnet',
  seed: 0,
  data: {
    // One frame per sample (n_c with numFrames 1): an image model sees single images.
    train: datasets.gopro({ root: data.train, sampling: 'n_c', numFrames: 1, memoryCache: true }),
    val: datasets.gopro({ root: data.heldOut, sampling: 'n_c', numFrames: 1 }),
    batchSize: 4,
    augment: [augment.crop({ size: [64, 64] }), augment.hflip(), augment.vflip(), augment.transpose()],
  },
  model: models.nafnet({ imgChannels: 3, width: 16, middleBlkNum: 1, encBlkNums: [1, 1, 1], decBlkNums: [1, 1, 1] }),
  loss: losses.charbonnier({ reduction: 'mean' }),
  optimizer: optim.adam({ lr: 1e-3, betas: [0.9, 0.9] }),
  schedule: schedules.cosine({ etaMin: 1e-6, stepEvery: 'iteration' }),
  run: { iterations: 5000 },
  validation: { every: 1000 },
  checkpoint: { every: 1000, keepLast: 1 },
  log: { every: 50 },
});
export default exp;

if (isMain(import.meta.url)) await runDemo(exp, process.argv.slice(2));
