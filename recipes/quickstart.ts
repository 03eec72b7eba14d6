// The quickstart: synthesise a small motion-blur dataset from the bundled photographs (once),
// train a small DBN on it for a few minutes on the CPU, evaluate it on held-out videos, and
// compare the deblurred PSNR with the blurry input's. Writes a side-by-side image
// (blurry | deblurred | sharp), then says how to run `simdeblur deblur` with the trained model;
// the last line of output is a JSON summary. Training goes through
// `fit`, like `simdeblur train`: checkpoints, experiment.json, log.jsonl and TensorBoard files
// land in the work directory, and Ctrl-C stops with a checkpoint.
//
// The camera pans steadily sideways (with some wander and shake), so every frame is blurred
// along a similar direction: a task a small network learns in minutes. Random directions per
// video (the synthesiser's default) need far longer training than a quickstart allows.
// DBN starts as the identity (zeroInitResidual) so no step is spent learning to copy the
// centre frame, and the training frames are decoded once and kept in memory (memoryCache).
//
//   npx tsx recipes/quickstart.ts [--set run.iterations=600] [--work-dir work_dirs/quickstart]
import path from 'node:path';
import { parseArgs } from 'node:util';
import { experiment, models, losses, optim, schedules, overrideExperiment, workDirOf, fit, interpret, evaluate, augment, datasets, loadWeights, isMain } from 'simdeblur';
import { synthesize, encodeImage } from 'simdeblur/synth';
import { writeFileAtomic } from 'simdeblur/io';
import { isLeft } from 'fp-ts/lib/Either.js';

const DATA = 'work_dirs/quickstart/data';

/** The synthesised dataset: 10 training and 10 held-out videos of 12 frames, 128x128. */
export const quickstartData = { layout: 'gopro', videos: 10, frames: 12, width: 128, height: 128, seed: 1, split: 'both', motion: { speed: 3, drift: 8, direction: 0 } } as const;

const exp = experiment({
  name: 'quickstart',
  seed: 0,
  data: {
    // GoPro layout (lossless PNG): train/<video>/{blur,blur_gamma,sharp}, test/ held out.
    train: datasets.gopro({ root: `${DATA}/train`, sampling: 'n_c', numFrames: 5, memoryCache: true }),
    val: datasets.gopro({ root: `${DATA}/test`, sampling: 'n_c', numFrames: 5 }),
    batchSize: 4,
    augment: [augment.crop({ size: [64, 64] }), augment.hflip(), augment.vflip()],
  },
  model: models.dbn({ numFrames: 5, inChannels: 3, innerChannels: 16, zeroInitResidual: true }),
  loss: losses.charbonnier({ reduction: 'mean' }),
  optimizer: optim.adam({ lr: 2e-3, betas: [0.9, 0.99] }),
  // The cosine spans the whole run (its tMax defaults to run.iterations).
  schedule: schedules.cosine({ etaMin: 1e-5, stepEvery: 'iteration' }),
  run: { iterations: 3000 },
  validation: { every: 3000 },
  checkpoint: { every: 3000, keepLast: 1 },
  log: { every: 50 },
});
export default exp;

async function quickstart(args: string[]): Promise<void> {
  const t0 = Date.now();
  const { values } = parseArgs({ args, options: { set: { type: 'string', multiple: true, default: [] }, 'work-dir': { type: 'string' } } });
  const decoded = overrideExperiment(exp, values.set);
  if (isLeft(decoded)) throw new Error(`invalid experiment:\n  ${decoded.left.join('\n  ')}`);
  const workDir = values['work-dir'] ?? workDirOf(decoded.right);
  const dataDir = path.join(workDir, 'data');
  const e = overrideExperiment(decoded.right, [`data.train.root=${dataDir}/train`, `data.val.root=${dataDir}/test`]);
  if (isLeft(e)) throw new Error(e.left.join('\n'));

  // 1. Data (kept: a re-run reuses it).
  console.log(`synthesising a GoPro-layout dataset in ${dataDir} (once) ...`);
  await synthesize({ ...quickstartData, out: dataDir });

  // 2. Training.
  const run = await fit(e.right, { workDir, handleSignals: true });
  if (run.checkpoint === undefined) throw new Error('the run wrote no checkpoint');

  // 3. Held-out evaluation of the checkpoint the run ended with, blurry input vs deblurred output.
  await using trained = await interpret(e.right, { workDir, evalOnly: true });
  loadWeights(trained.model, path.join(run.checkpoint, 'weights.safetensors'));
  const r = await evaluate(trained.model, trained.model.params, trained.strategy, trained.val!, { batchSize: 1, saveImages: 1 });
  const side = r.images[0];
  let image: string | undefined;
  if (side) {
    image = path.join(workDir, 'side-by-side.png');
    const data = Uint8Array.from(side.rgb, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
    await writeFileAtomic(image, await encodeImage(data, side.width, side.height, { format: 'png' }));
  }
  // The trained model on the user's own footage: any images, folders of frames or videos.
  const deblur = `npx simdeblur deblur YOUR_VIDEO.mp4 YOUR_FRAMES/ --out ${path.join(workDir, 'deblurred')} --checkpoint ${run.checkpoint}`;
  const summary = { inputPsnr: r.inputPsnr, outputPsnr: r.psnr, gain: r.psnr - (r.inputPsnr ?? NaN), ssim: r.ssim, frames: r.frames, image, checkpoint: run.checkpoint, deblur, seconds: (Date.now() - t0) / 1000 };
  console.log(`held-out videos: blurry input ${r.inputPsnr?.toFixed(2)} dB -> deblurred ${r.psnr.toFixed(2)} dB (${summary.gain >= 0 ? '+' : ''}${summary.gain.toFixed(2)} dB)${image ? `; ${image}` : ''}`);
  console.log(`deblur your own footage with this model:\n  ${deblur}`);
  console.log(JSON.stringify(summary));
}

if (isMain(import.meta.url)) await quickstart(process.argv.slice(2));
