// Measures how far tiled inference strays from whole-frame inference on a zoo model: the DBN of
// the parity fixture (the original's computation, the fixture's weights) restores a synthesised
// blurry clip once whole and once tile by tile, and the two outputs are compared.
//
//   npx tsx scripts/measure-tiling.ts [--height 288] [--width 352] [--tile 128] [--overlap 48]
//                                     [--align N] [--photo FILE] [--seed 1]
//
// Prints one JSON line: sizes, tile count, PSNR of the tiled output against the whole-frame one
// (peak 1, both clamped to [0, 1] as restored frames are) and their largest absolute difference,
// clamped and raw.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { tf } from '../src/runtime/index.ts';
import type { Tensor, Tensor4D } from '../src/runtime/index.ts';
import { loadFixture, maxAbsDiff } from '../src/models/fixture.ts';
import { buildModel, fromOriginal, modelSizeMultiple } from '../src/models/define.ts';
import { loadStateDict } from '../src/models/model.ts';
import { runTiled, tileGrid } from '../src/infer/tile.ts';
import { defaultImagesDir, defaultMotion, planVideo, readPhoto, renderFrame, resizedPhoto } from '../src/synth/index.ts';
import { Rng } from '../src/util/rng.ts';
import '../src/models/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    height: { type: 'string', default: '288' },
    width: { type: 'string', default: '352' },
    tile: { type: 'string', default: '128' },
    overlap: { type: 'string', default: '48' },
    photo: { type: 'string', default: path.join(defaultImagesDir, 'chelsea.png') },
    seed: { type: 'string', default: '1' },
    // Default: the model's size multiple.
    align: { type: 'string' },
  },
});
const height = Number(values.height);
const width = Number(values.width);

const fx = loadFixture(path.join(root, 'test', 'fixtures', 'parity', 'dbn'));
const spec = fromOriginal(fx.meta.model, fx.meta.kwargs);
const model = buildModel(spec, fx.meta.seed || 0);
loadStateDict(model, fx.weights, { layout: 'pytorch', strict: true });
const frames = Number(fx.meta.kwargs.num_frames);
// Tiles start on the model's stride grid, as in the whole frame's computation.
const opts = { tile: Number(values.tile), overlap: Number(values.overlap), align: values.align === undefined ? (modelSizeMultiple(spec) ?? 1) : Number(values.align) };

// A blurry clip of `frames` frames: a camera moving over one of the bundled photographs.
const photo = await readPhoto(values.photo);
const video = { width, height, frames, subFrames: 'auto' as const, exposure: 1, motion: defaultMotion(width, height) };
const plan = planVideo(Rng.seeded(Number(values.seed)), photo, video);
const source = await resizedPhoto(photo, plan.photoWidth, plan.photoHeight);
const clip = new Float32Array(frames * height * width * 3);
for (let k = 0; k < frames; k++) clip.set(renderFrame(source, plan, k, { subFrames: 'auto', exposure: 1 }).blurred.linear.data, k * height * width * 3);
const input = tf.tensor5d(clip, [1, frames, height, width, 3]);

const run = (x: Tensor): Tensor4D => model.apply(model.params, x, { training: false }) as Tensor4D;
const t0 = performance.now();
const whole = run(input);
const t1 = performance.now();
const tiled = runTiled(input, opts, run);
const t2 = performance.now();

const a = whole.dataSync();
const b = tiled.dataSync();
const clamp = (v: number): number => Math.min(1, Math.max(0, v));
let se = 0;
let maxClamped = 0;
for (let i = 0; i < a.length; i++) {
  const d = clamp(a[i]!) - clamp(b[i]!);
  se += d * d;
  maxClamped = Math.max(maxClamped, Math.abs(d));
}
const mse = se / a.length;
console.log(
  JSON.stringify({
    model: `${fx.meta.model}(${JSON.stringify(fx.meta.kwargs)})`,
    frames,
    height,
    width,
    ...opts,
    tiles: tileGrid(height, width, opts).length,
    psnrDb: Number((10 * Math.log10(1 / mse)).toFixed(2)),
    maxAbsDiff: Number(maxClamped.toExponential(2)),
    maxAbsDiffRaw: Number(maxAbsDiff(a, b).toExponential(2)),
    wholeSeconds: Number(((t1 - t0) / 1000).toFixed(2)),
    tiledSeconds: Number(((t2 - t1) / 1000).toFixed(2)),
  }),
);
tf.dispose([input, whole, tiled]);
model.dispose();
