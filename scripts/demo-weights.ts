// Builds the demonstration models shipped in weights/: for each demo recipe, trains it (or reuses
// its finished run in the work directory), copies the final checkpoint's weights and the run's
// experiment.json into weights/<name>/, measures the shipped weights and the blurry input on the
// held-out photograph's synthesised videos, and writes card.json and MODEL_CARD.md from those
// measurements (no number in a card is typed by hand).
//
//   npx tsx scripts/demo-weights.ts [demo-nafnet] [demo-dbn] [--retrain]
//
// Without names, both. --retrain trains again even when a finished run exists.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isLeft } from 'fp-ts/lib/Either.js';
import { checkpointIteration, decodeExperiment, latestCheckpoint, loadRecipe, paramCount, runtimeInfo, workDirOf, type Experiment } from 'simdeblur';
import { readJsonl, writeFileAtomicSync } from 'simdeblur/io';
import { DEMO_DATA_DIR, HELD_OUT_PHOTO, demoHeldOutData, demoTrainData, measureCheckpoint, prepareDemoData, runDemo, type HeldOutScores } from '../recipes/demo/shared.ts';

/** A shipped demonstration model: its recipe and what its card says about real training. */
interface Demo {
  readonly name: string;
  readonly recipe: string;
  readonly title: string;
  /** How the model is fed, for the card. */
  readonly input: string;
  /** The input tensor's shape, for the card's usage example. */
  readonly shape: string;
  /** Recipes (with their dataset arguments) that train real models on the benchmarks, and what each trains. */
  readonly real: ReadonlyArray<readonly [recipeArgs: string, what: string]>;
}

const DEMOS: readonly Demo[] = [
  {
    name: 'demo-nafnet',
    recipe: 'recipes/demo-nafnet.ts',
    title: 'NAFNet (width 16), an image model',
    input: 'one blurry image in, the deblurred image out (samples: `n_c` with `numFrames: 1`)',
    shape: '[B, H, W, 3] (or [B, 1, H, W, 3])',
    real: [
      ['recipes/nafnet-gopro.ts --set data.train.root=/path/to/GOPRO/train --set data.val.root=/path/to/GOPRO/test', 'NAFNet width 64 on GoPro, the paper\'s configuration'],
      ['recipes/restormer-gopro.ts --set data.train.root=/path/to/GOPRO/train --set data.val.root=/path/to/GOPRO/test', 'Restormer on GoPro'],
      ['recipes/mimounet-gopro.ts --set data.train.root=/path/to/GOPRO/train --set data.val.root=/path/to/GOPRO/test', 'MIMO-UNet on GoPro'],
    ],
  },
  {
    name: 'demo-dbn',
    recipe: 'recipes/demo-dbn.ts',
    title: 'DBN (innerChannels 16), a video model',
    input: 'five consecutive blurry frames in, the deblurred centre frame out (samples: `n_c` with `numFrames: 5`)',
    shape: '[B, 5, H, W, 3], H and W multiples of 8',
    real: [
      ['recipes/dbn-dvd.ts --set data.train.root=/path/to/DVD/quantitative_datasets --set data.val.root=/path/to/DVD/test', 'DBN on DVD, the paper\'s configuration'],
      ['recipes/dbn-gopro.ts --set data.train.root=/path/to/GOPRO/train --set data.val.root=/path/to/GOPRO/test', 'DBN on GoPro'],
      ['recipes/dbn-reds.ts --set data.train.rootGt=/path/to/REDS/train/train_sharp --set data.train.rootInput=/path/to/REDS/train/train_blur', 'DBN on REDS (and data.val.rootGt / rootInput)'],
    ],
  },
];

/** The measured facts a card is written from (card.json). */
interface Card {
  readonly name: string;
  readonly recipe: string;
  readonly seed: number;
  readonly iterations: number;
  /** Training time reported by `fit` (wall clock of the training loop). */
  readonly trainSeconds: number;
  readonly params: number;
  readonly weightsBytes: number;
  readonly machine: { readonly cpuCores: number; readonly cpuModel: string; readonly backend: string; readonly tensorflow: string | null };
  readonly heldOut: { readonly photo: string } & HeldOutScores;
}

/** A run in the work directory that completed all its iterations, or undefined. */
function finishedRun(workDir: string): { experiment: Experiment; checkpoint: string; iterations: number; trainSeconds: number } | undefined {
  const expFile = path.join(workDir, 'experiment.json');
  const logFile = path.join(workDir, 'log.jsonl');
  const checkpoint = latestCheckpoint(path.join(workDir, 'checkpoints'));
  if (!fs.existsSync(expFile) || !fs.existsSync(logFile) || checkpoint === undefined) return undefined;
  const decoded = decodeExperiment(JSON.parse(fs.readFileSync(expFile, 'utf8')));
  if (isLeft(decoded)) throw new Error(`${expFile}: ${decoded.left.join('; ')}`);
  const end = (readJsonl(logFile) as Array<{ type: string; reason?: string; iteration: number; seconds?: number }>).filter((r) => r.type === 'end').at(-1);
  const length = decoded.right.run.iterations;
  if (!end || end.reason !== 'completed' || length === undefined || end.iteration !== length || checkpointIteration(checkpoint) !== length) return undefined;
  return { experiment: decoded.right, checkpoint, iterations: end.iteration, trainSeconds: end.seconds! };
}

const fmt = (x: number, digits: number) => x.toFixed(digits);
const signed = (x: number, digits: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
const minutes = (s: number) => `${Math.floor(Math.round(s) / 60)} min ${Math.round(s) % 60} s`;

/** MODEL_CARD.md, written from the card's measurements and the run's experiment. */
function modelCard(demo: Demo, card: Card, exp: Experiment): string {
  const h = card.heldOut;
  const train = exp.data.train as { numFrames?: number; sampling?: string };
  const crop = (exp.data.augment[0] as { size?: readonly number[] } | undefined)?.size;
  const photos = fs.readdirSync('assets/images').filter((n) => /\.(png|jpe?g)$/i.test(n) && n !== HELD_OUT_PHOTO);
  const model = JSON.stringify(exp.model);
  const t = demoTrainData;
  const v = demoHeldOutData;
  return `# ${demo.name}: ${demo.title}

**A CPU-trained demonstration model, not a benchmark model.** It was trained for ${card.iterations}
iterations (${minutes(card.trainSeconds)}) on ${card.machine.cpuCores} CPU cores, on small videos synthesised from
${photos.length} photographs. It shows the pipeline end to end and restores moderate synthetic camera
blur in small images (held-out gain below); it is not comparable with published results, and
real photographs differ from its training data (see Limits). Train real models on the benchmarks
(below).

Input and output: ${demo.input}; RGB in [0, 1].

## Files

| file | contents |
| --- | --- |
| \`weights.safetensors\` | the weights of the run's final checkpoint, iteration ${card.iterations} (PyTorch layout, loadable by name; ${card.weightsBytes} bytes) |
| \`experiment.json\` | the run's decoded experiment, as \`fit\` wrote it (its data roots are where the recipe synthesises the data, under \`${DEMO_DATA_DIR}\`) |
| \`card.json\` | the figures of this card, as JSON |

## Model

${exp.model.type} \`${model}\`: ${card.params} parameters.

## Training

- Recipe: \`${demo.recipe}\` (\`npx tsx ${demo.recipe}\`), seed ${card.seed}, ${card.iterations} iterations.
- Samples: \`${train.sampling}\` with ${train.numFrames === 1 ? '1 frame' : `${train.numFrames} frames`}, random ${crop ? crop.join('×') : ''} crops, flips and transposition; batch ${exp.data.batchSize}.
- Loss ${exp.loss.terms.map((x) => x.loss.type).join(' + ')}; optimiser ${exp.optimizer.type} (lr ${baseLrOf(exp)}); schedule ${exp.schedule.type}.
- Wall time of the training loop: ${fmt(card.trainSeconds, 0)} s on ${card.machine.cpuCores} CPU cores (${card.machine.cpuModel}), backend ${card.machine.backend}${card.machine.tensorflow ? ` (TensorFlow ${card.machine.tensorflow})` : ''}, on a machine shared with other work.
- Rebuilt by \`npx tsx scripts/demo-weights.ts ${demo.name} --retrain\`, which trains the recipe, copies these files and measures them.

## Data

Synthesised with \`synthesize\` from \`simdeblur/synth\` ([docs/synth.md](../../docs/synth.md)) in the GoPro layout,
${t.width}×${t.height} frames. Training: ${t.videos} videos of ${t.frames} frames (seed ${t.seed}) from ${photos.map((p) => `\`${p}\``).join(', ')}; \`${HELD_OUT_PHOTO}\` is held out entirely.

- Camera motion: a steady pan of ${t.motion.drift} px per frame in a random direction per video, plus wandering
  and shake (root-mean-square speed ${t.motion.speed} px per frame), default rotation and zoom, all scaled by a
  per-video strength in [0.5, 1.5]; each blurred frame averages sub-frames over the whole frame
  interval in linear light.
- Blurred frames only: Gaussian read noise σ = ${t.noise}, shot noise of variance ${t.shotNoise} × value, and a
  JPEG round trip at quality ${t.jpegQuality}. The sharp frames are lossless.

## Held-out measurement

\`${h.photo}\`, never seen in training: ${v.videos} videos of ${v.frames} frames, ${v.width}×${v.height}, synthesised the same way
with seed ${v.seed}. ${h.frames} frames scored${(train.numFrames ?? 1) > 1 ? ` (the centre frames of complete ${train.numFrames}-frame windows)` : ''}, by \`evaluate\` (the path of
\`simdeblur test\`) on \`weights.safetensors\` of this folder; the blurry input is scored on the same frames.

| | PSNR (dB) | SSIM |
| --- | --- | --- |
| blurry input | ${fmt(h.inputPsnr, 2)} | ${fmt(h.inputSsim, 4)} |
| output | ${fmt(h.outputPsnr, 2)} | ${fmt(h.outputSsim, 4)} |
| gain | ${signed(h.outputPsnr - h.inputPsnr, 2)} | ${signed(h.outputSsim - h.inputSsim, 4)} |

## Use

\`\`\`ts
import fs from 'node:fs';
import { buildModel, decodeExperiment, loadWeights } from 'simdeblur';

const dir = 'node_modules/simdeblur/weights/${demo.name}';
const exp = decodeExperiment(JSON.parse(fs.readFileSync(\`\${dir}/experiment.json\`, 'utf8')));
if (exp._tag === 'Left') throw new Error(exp.left.join('\\n'));
const model = buildModel(exp.right.model, exp.right.seed);
loadWeights(model, \`\${dir}/weights.safetensors\`);
// model.apply(model.params, input, { training: false }), input ${demo.shape}: the deblurred [B, H, W, 3]
\`\`\`

## Train real models

These weights come from minutes of CPU time on a toy dataset. Real models are trained on the
benchmarks, read in place from their published layouts (docs/data.md), preferably on a GPU
(docs/runtime.md); point a recipe at the dataset with \`--set\` (docs/recipes.md):

${demo.real.map(([r, what]) => `- ${what}:\n  \`npx tsx ${r}\``).join('\n')}

## Limits

The training scenes are planes seen by a moving camera (no parallax, no moving objects), made
from ${photos.length} small photographs at ${t.width}×${t.height}; the blur is moderate (a few pixels), and the noise and
compression are fixed in strength. Larger blur, other noise, other content or large images will
be restored less well, or not at all.
`;
}

function baseLrOf(exp: Experiment): string {
  const lr = (exp.optimizer as { lr?: unknown }).lr;
  return typeof lr === 'number' ? String(lr) : '?';
}

/** Trains (or reuses) one demo, copies its files into weights/<name>/, measures it and writes its cards. */
async function build(demo: Demo, retrain: boolean): Promise<Card> {
  const recipe = await loadRecipe(demo.recipe);
  const decoded = decodeExperiment(recipe);
  if (isLeft(decoded)) throw new Error(`${demo.recipe}: ${decoded.left.join('; ')}`);
  const workDir = workDirOf(decoded.right);
  let run = retrain ? undefined : finishedRun(workDir);
  if (run) console.log(`${demo.name}: reusing the finished run in ${workDir}`);
  else {
    console.log(`${demo.name}: training ${demo.recipe} in ${workDir} ...`);
    await runDemo(recipe, ['--work-dir', workDir]);
    run = finishedRun(workDir);
    if (!run) throw new Error(`${demo.name}: the run in ${workDir} did not complete`);
  }
  // The held-out data the experiment's validation set names (synthesised once).
  await prepareDemoData(DEMO_DATA_DIR);

  const out = path.join('weights', demo.name);
  fs.mkdirSync(out, { recursive: true });
  const weights = path.join(out, 'weights.safetensors');
  fs.copyFileSync(path.join(run.checkpoint, 'weights.safetensors'), weights);
  fs.copyFileSync(path.join(workDir, 'experiment.json'), path.join(out, 'experiment.json'));
  // Measured on the copy: the figures are those of the shipped file.
  const scores = await measureCheckpoint(run.experiment, weights);
  const info = runtimeInfo();
  const card: Card = {
    name: demo.name,
    recipe: demo.recipe,
    seed: run.experiment.seed,
    iterations: run.iterations,
    trainSeconds: run.trainSeconds,
    params: paramCount(run.experiment.model),
    weightsBytes: fs.statSync(weights).size,
    machine: { cpuCores: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown', backend: info.backend, tensorflow: info.tfVersion ?? null },
    heldOut: { photo: HELD_OUT_PHOTO, ...scores },
  };
  writeFileAtomicSync(path.join(out, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  writeFileAtomicSync(path.join(out, 'MODEL_CARD.md'), modelCard(demo, card, run.experiment));
  return card;
}

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { retrain: { type: 'boolean', default: false } } });
  const unknown = positionals.filter((n) => !DEMOS.some((d) => d.name === n));
  if (unknown.length > 0) throw new Error(`unknown demo ${unknown.join(', ')}; expected ${DEMOS.map((d) => d.name).join(', ')}`);
  const chosen = positionals.length > 0 ? DEMOS.filter((d) => positionals.includes(d.name)) : DEMOS;
  for (const demo of chosen) {
    const card = await build(demo, values.retrain);
    const h = card.heldOut;
    console.log(`${demo.name}: held-out ${h.photo} ${h.inputPsnr.toFixed(2)} -> ${h.outputPsnr.toFixed(2)} dB (${signed(h.outputPsnr - h.inputPsnr, 2)}), SSIM ${h.inputSsim.toFixed(4)} -> ${h.outputSsim.toFixed(4)}; weights/${demo.name}/`);
    console.log(JSON.stringify(card));
  }
}

await main(process.argv.slice(2));
