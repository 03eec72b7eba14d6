// `simdeblur deblur` on 1280x720 frames: milliseconds per frame and peak memory, whole frame and
// tiled, for the shipped demonstration models. Each row runs the command in its own process, so
// its peak resident memory is that configuration's alone.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { defaultImagesDir, listPhotos } from '../synth/photo.ts';
import { DEMO_MODELS, shippedWeightsDir } from '../infer/load.ts';

const WIDTH = 1280;
const HEIGHT = 720;
/** Frames per row: the first includes the one-off kernel set-up, the rest are the steady state. */
const FRAMES = 4;
const BIN = fileURLToPath(new URL('../../bin/simdeblur.mjs', import.meta.url));

/** A configuration measured: model, tiling (none = whole frame), and op by op (`--eager`) or as graph functions (the default). */
export interface DeblurBenchCase {
  readonly model: keyof typeof DEMO_MODELS;
  readonly tile?: { readonly tile: number; readonly overlap: number };
  readonly eager?: boolean;
}

export const deblurBenchCases: readonly DeblurBenchCase[] = [
  { model: 'image' },
  { model: 'image', eager: true },
  { model: 'image', tile: { tile: 256, overlap: 32 } },
  { model: 'video' },
  { model: 'video', eager: true },
  { model: 'video', tile: { tile: 256, overlap: 32 } },
];

/** A folder of `FRAMES` 1280x720 frames cut from the bundled photographs. */
async function makeFrames(dir: string): Promise<void> {
  const photos = await listPhotos(defaultImagesDir);
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < FRAMES; i++) {
    const photo = photos[i % photos.length]!;
    await sharp(photo).resize(WIDTH, HEIGHT, { fit: 'cover' }).blur(2).png().toFile(path.join(dir, `frame_${String(i + 1).padStart(4, '0')}.png`));
  }
}

/** One row per case: the deblur command's own timing of the frames (after loading) and its peak RSS. */
export async function* deblurBenchRows(cases: readonly DeblurBenchCase[] = deblurBenchCases): AsyncIterable<Record<string, unknown>> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'simdeblur-bench-deblur-'));
  try {
    const frames = path.join(root, 'frames');
    await makeFrames(frames);
    for (const [i, c] of cases.entries()) {
      const weights = path.join(shippedWeightsDir(), DEMO_MODELS[c.model]);
      const args = [BIN, 'deblur', frames, '--out', path.join(root, `out${i}`), '--checkpoint', weights, '--json'];
      if (c.tile) args.push('--tile', String(c.tile.tile), '--overlap', String(c.tile.overlap));
      if (c.eager) args.push('--eager');
      const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 24 });
      const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { msPerFrame: number; peakRssMb: number; frames: number };
      yield {
        bench: 'deblur',
        model: DEMO_MODELS[c.model],
        size: `${WIDTH}x${HEIGHT}`,
        mode: c.tile ? `tile ${c.tile.tile} overlap ${c.tile.overlap}` : 'whole',
        execution: c.eager ? 'eager' : 'graph',
        frames: summary.frames,
        msPerFrame: Math.round(summary.msPerFrame),
        // Comparable across frame sizes: flat when the cost grows with the pixel count.
        msPerMegapixel: Math.round(summary.msPerFrame / ((WIDTH * HEIGHT) / 1e6)),
        peakRssMb: Math.round(summary.peakRssMb),
      };
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
