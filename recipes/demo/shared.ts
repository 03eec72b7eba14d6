// What the two demonstration recipes (demo-nafnet.ts, demo-dbn.ts) share: their training data,
// synthesised from the bundled photographs with one of them (coffee.png) held out entirely, the
// held-out measurement, and the run itself (data, `fit`, measurement, a JSON summary).
//
// Unlike the quickstart's steady sideways pan, the camera moves in a random direction per video
// (a steady pan plus wander and shake), the blurred frames get sensor noise and a JPEG round
// trip: closer to what users' photographs and videos look like.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isLeft } from 'fp-ts/lib/Either.js';
import { evaluate, fit, interpret, latestCheckpoint, loadWeights, makeModel, overrideExperiment, tf, workDirOf, type Experiment, type Model, type ModelInput, type Strategy, type Tensor } from 'simdeblur';
import type { Dataset } from 'simdeblur/data';
import { ParamStore } from 'simdeblur/nn';
import { defaultImagesDir, synthesize, type SynthOptions } from 'simdeblur/synth';

/** The bundled photograph kept out of the training data; the models are measured on it. */
export const HELD_OUT_PHOTO = 'coffee.png';

/** Where the demonstration data is written by default (shared by both recipes; kept between runs). */
export const DEMO_DATA_DIR = 'work_dirs/demo-data';

/**
 * How every demonstration frame is degraded: a steady pan in a random direction per video
 * (strength varying per video) with wander and shake, Gaussian read noise, shot noise and a
 * JPEG round trip of the blurred frames.
 */
export const demoDegradation = {
  motion: { speed: 2, drift: 3 },
  noise: 0.01,
  shotNoise: 0.0005,
  jpegQuality: 85,
} as const satisfies Partial<SynthOptions>;

/** Frame size of the demonstration data (training and held-out). */
export const DEMO_FRAME_SIZE = 128;

/** The training split: 32 videos of 12 frames over the training photographs (8 per photograph). */
export const demoTrainData = {
  layout: 'gopro',
  videos: 32,
  frames: 12,
  width: DEMO_FRAME_SIZE,
  height: DEMO_FRAME_SIZE,
  seed: 1,
  split: 'train',
  ...demoDegradation,
} as const satisfies Omit<SynthOptions, 'out'>;

/** The held-out measurement: 4 videos of 12 frames over the held-out photograph only. */
export const demoHeldOutData = {
  layout: 'gopro',
  videos: 4,
  frames: 12,
  width: DEMO_FRAME_SIZE,
  height: DEMO_FRAME_SIZE,
  seed: 101,
  split: 'test',
  ...demoDegradation,
} as const satisfies Omit<SynthOptions, 'out'>;

/** The folders of the demonstration data under `dataDir`. */
export function demoDataPaths(dataDir: string) {
  return {
    /** The bundled photographs but the held-out one. */
    trainPhotos: path.join(dataDir, 'photos-train'),
    /** The held-out photograph alone. */
    heldOutPhoto: path.join(dataDir, 'photos-held-out'),
    /** GoPro split folder of the training videos. */
    train: path.join(dataDir, 'train', 'train'),
    /** GoPro split folder of the held-out videos. */
    heldOut: path.join(dataDir, 'held-out', 'test'),
  };
}

/** Copies the photographs of `from` into `to` (those `keep` accepts), leaving files already there. */
function copyPhotos(from: string, to: string, keep: (name: string) => boolean): void {
  fs.mkdirSync(to, { recursive: true });
  for (const name of fs.readdirSync(from).filter((n) => /\.(png|jpe?g)$/i.test(n) && keep(n))) {
    const dest = path.join(to, name);
    if (!fs.existsSync(dest)) fs.copyFileSync(path.join(from, name), dest);
  }
}

/**
 * Synthesises the demonstration data under `dataDir` (once: a re-run finds the files and
 * renders nothing): training videos from every bundled photograph but the held-out one, and
 * held-out videos from that photograph alone.
 */
export async function prepareDemoData(dataDir: string): Promise<ReturnType<typeof demoDataPaths>> {
  const p = demoDataPaths(dataDir);
  copyPhotos(defaultImagesDir, p.trainPhotos, (n) => n !== HELD_OUT_PHOTO);
  copyPhotos(defaultImagesDir, p.heldOutPhoto, (n) => n === HELD_OUT_PHOTO);
  await synthesize({ ...demoTrainData, out: path.dirname(p.train), images: p.trainPhotos });
  await synthesize({ ...demoHeldOutData, out: path.dirname(p.heldOut), images: p.heldOutPhoto });
  return p;
}

/** PSNR/SSIM of the blurry input and of the model's output against the sharp frames. */
export interface HeldOutScores {
  readonly inputPsnr: number;
  readonly outputPsnr: number;
  readonly inputSsim: number;
  readonly outputSsim: number;
  /** Frames scored. */
  readonly frames: number;
}

/** A parameterless model returning the centre input frame: the blurry input, scored like an output. */
function blurryInput(): Model {
  return makeModel('blurry input', new ParamStore(0), (_p, input: ModelInput): Tensor => {
    if (Array.isArray(input)) throw new Error('expected one input tensor');
    if (input.rank === 4) return tf.clone(input);
    const [b, t, h, w, c] = input.shape as [number, number, number, number, number];
    return tf.reshape(tf.slice(input, [0, Math.floor(t / 2), 0, 0, 0], [b, 1, h, w, c]), [b, h, w, c]);
  });
}

/**
 * Scores a model on a dataset through `evaluate` (the path of `simdeblur test`), and the
 * blurry input on the same frames the same way.
 */
export async function measure(model: Model, strategy: Strategy, ds: Dataset): Promise<HeldOutScores> {
  const out = await evaluate(model, model.params, strategy, ds, { batchSize: 1, saveImages: 0 });
  const identity = blurryInput();
  try {
    const input = await evaluate(identity, identity.params, strategy, ds, { batchSize: 1, saveImages: 0 });
    return { inputPsnr: input.psnr, outputPsnr: out.psnr, inputSsim: input.ssim, outputSsim: out.ssim, frames: out.frames };
  } finally {
    identity.dispose();
  }
}

/** The experiment with its training data at `train` and its validation data at `val`. */
export function withRoots(exp: unknown, train: string, val: string): Experiment {
  const e = overrideExperiment(exp, [`data.train.root=${JSON.stringify(train)}`, `data.val.root=${JSON.stringify(val)}`]);
  if (isLeft(e)) throw new Error(`invalid experiment:\n  ${e.left.join('\n  ')}`);
  return e.right;
}

/**
 * Scores the weights file of a checkpoint on the experiment's validation data (the held-out
 * videos).
 */
export async function measureCheckpoint(exp: Experiment, weights: string): Promise<HeldOutScores> {
  await using setup = await interpret(exp, { evalOnly: true });
  if (!setup.val) throw new Error(`${exp.name} has no validation data to measure on`);
  loadWeights(setup.model, weights);
  return await measure(setup.model, setup.strategy, setup.val);
}

/** What `runDemo` ends with: the run, its final weights and the held-out scores. */
export interface DemoRun {
  readonly experiment: Experiment;
  readonly workDir: string;
  readonly weights: string;
  readonly iterations: number;
  /** Training time reported by the run (data synthesis and measurement not included). */
  readonly trainSeconds: number;
  readonly heldOut: HeldOutScores;
}

/**
 * Runs a demonstration recipe from its command line (`--set key=value`..., `--work-dir DIR`,
 * `--data-dir DIR`): synthesises the data (once), trains through `fit` (checkpoints and
 * experiment.json in the work directory; Ctrl-C stops with a checkpoint), then scores the final
 * weights and the blurry input on the held-out videos and prints a JSON summary line.
 */
export async function runDemo(exp: unknown, args: readonly string[]): Promise<DemoRun> {
  const { values } = parseArgs({
    args: [...args],
    options: { set: { type: 'string', multiple: true, default: [] }, 'work-dir': { type: 'string' }, 'data-dir': { type: 'string' } },
  });
  const overridden = overrideExperiment(exp, values.set);
  if (isLeft(overridden)) throw new Error(`invalid experiment:\n  ${overridden.left.join('\n  ')}`);
  const workDir = values['work-dir'] ?? workDirOf(overridden.right);
  const dataDir = values['data-dir'] ?? DEMO_DATA_DIR;
  console.log(`synthesising the demonstration data in ${dataDir} (once) ...`);
  const roots = await prepareDemoData(dataDir);
  const e = withRoots(overridden.right, roots.train, roots.heldOut);
  const run = await fit(e, { workDir, handleSignals: true });
  // The final periodic checkpoint (the run's last `checkpoint` event may be `best` instead).
  const final = latestCheckpoint(path.join(workDir, 'checkpoints'));
  if (final === undefined) throw new Error('the run wrote no checkpoint');
  const weights = path.join(final, 'weights.safetensors');
  const heldOut = await measureCheckpoint(e, weights);
  const gain = heldOut.outputPsnr - heldOut.inputPsnr;
  console.log(`held-out photo ${HELD_OUT_PHOTO}: blurry input ${heldOut.inputPsnr.toFixed(2)} dB -> deblurred ${heldOut.outputPsnr.toFixed(2)} dB (${gain >= 0 ? '+' : ''}${gain.toFixed(2)} dB)`);
  const result: DemoRun = { experiment: e, workDir, weights, iterations: run.iteration, trainSeconds: run.seconds, heldOut };
  console.log(JSON.stringify({ workDir, weights, iterations: run.iteration, trainSeconds: run.seconds, reason: run.reason, ...heldOut, gain }));
  return result;
}
