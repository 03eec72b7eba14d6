// Renders docs/images/synth-example.png: one synthetic frame, sharp (left) beside its
// linear-light blurred version (right). Usage: npx tsx scripts/synth-example.ts [out.png]
// The frame shown is, among the first 24 of the video, the one with the longest motion during
// its exposure, so the picture shows the blur clearly; everything else is as `synthesize` does.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Rng } from '../src/util/rng.ts';
import { defaultMotion } from '../src/synth/trajectory.ts';
import { exposureTravel, planVideo, renderFrame, subFrameCount } from '../src/synth/video.ts';
import { defaultImagesDir, readPhoto, resizedPhoto } from '../src/synth/photo.ts';
import { toBytes } from '../src/synth/render.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? path.join(root, 'docs/images/synth-example.png');
const width = 480;
const height = 320;
const o = { width, height, frames: 24, subFrames: 'auto' as const, exposure: 1, motion: defaultMotion(width, height) };

const photo = await readPhoto(path.join(defaultImagesDir, 'coffee.png'));
const plan = planVideo(Rng.derive(4, 'synth-example'), photo, o);
const travel = (k: number) => exposureTravel(plan, k, 1);
const frame = Array.from({ length: o.frames }, (_, k) => k).reduce((best, k) => (travel(k) > travel(best) ? k : best), 0);
const image = await resizedPhoto(photo, plan.photoWidth, plan.photoHeight);
const { sharp: gt, blurred } = renderFrame(image, plan, frame, { subFrames: 'auto', exposure: 1 });

const gap = 8;
const raw = (img: typeof gt) => ({ input: Buffer.from(toBytes(img)), raw: { width, height, channels: 3 as const } });
await sharp({ create: { width: 2 * width + gap, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
  .composite([
    { ...raw(gt), left: 0, top: 0 },
    { ...raw(blurred.linear), left: width + gap, top: 0 },
  ])
  .png()
  .toFile(out);
console.log(`${out}: frame ${frame}, ${travel(frame).toFixed(1)} px of motion during the exposure, ${subFrameCount(plan, frame, o)} sub-frames`);
