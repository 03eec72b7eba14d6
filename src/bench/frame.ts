// `bench --only frame`: the forward pass of the shipped demonstration models (their
// configurations, random weights: the cost does not depend on the values) on one frame of
// 640x360 and of 1280x720, whole and tiled, in this process. Time per megapixel across the two
// sizes shows whether the cost grows faster than the pixel count; the traced run gives the peak
// of live tensor memory. `bench --only deblur` runs the same frames end to end through the CLI.
import { tf } from '../runtime/index.ts';
import type { Tensor, Tensor4D } from '../runtime/index.ts';
import { dbn } from '../models/dbn.ts';
import { nafnet } from '../models/nafnet.ts';
import type { Model } from '../models/model.ts';
import { runTiled } from '../infer/tile.ts';
import { traceOps } from './op-trace.ts';
import { time } from './timing.ts';

/** A demonstration model's configuration and input layout. */
interface FrameModel {
  readonly name: string;
  readonly build: () => Model;
  /** Frames in the input clip; 0: a single image. */
  readonly frames: number;
  /** Tiles start on this grid (the model's size multiple), as `deblur --tile` places them. */
  readonly align: number;
}

/** As weights/demo-dbn and weights/demo-nafnet (experiment.json). */
const frameModels: readonly FrameModel[] = [
  { name: 'demo-dbn', build: () => dbn.create({ numFrames: 5, inChannels: 3, innerChannels: 16, zeroInitResidual: true }, 0), frames: 5, align: 8 },
  { name: 'demo-nafnet', build: () => nafnet.create({ imgChannels: 3, width: 16, middleBlkNum: 1, encBlkNums: [1, 1, 1], decBlkNums: [1, 1, 1] }, 0), frames: 0, align: 8 },
];

/** Frame sizes [width, height]: 720p and a quarter of it. */
export const FRAME_SIZES: readonly (readonly [number, number])[] = [
  [640, 360],
  [1280, 720],
];

/** `deblur --tile 256` with its default overlap. */
const TILE = { tile: 256, overlap: 32 };

/** One row per model, size and mode (whole, tiled): median ms, ms per megapixel, peak tensor MB. */
export async function* frameRows(opts: { runs?: number; models?: readonly string[] } = {}): AsyncIterable<Record<string, unknown>> {
  const runs = opts.runs ?? 3;
  for (const m of frameModels) {
    if (opts.models && !opts.models.includes(m.name)) continue;
    const model = m.build();
    try {
      for (const [w, h] of FRAME_SIZES) {
        const shape = m.frames > 0 ? [1, m.frames, h, w, 3] : [1, h, w, 3];
        const input = tf.randomUniform(shape, 0, 1, 'float32', 5);
        const whole = (x: Tensor): Tensor4D => tf.tidy(() => model.apply(model.params, x, { training: false }) as Tensor4D);
        const modes: readonly [string, () => Tensor][] = [
          ['whole', () => whole(input)],
          [`tile ${TILE.tile} overlap ${TILE.overlap}`, () => runTiled(input, { ...TILE, align: m.align }, whole)],
        ];
        try {
          for (const [mode, fn] of modes) {
            const trace = await traceOps(fn); // also the warm-up
            const t = time(fn, { warmup: 0, runs });
            const mpix = (w * h) / 1e6;
            yield {
              bench: 'frame',
              model: m.name,
              size: `${w}x${h}`,
              mode,
              ms: Math.round(t.medianMs),
              msPerMegapixel: Math.round(t.medianMs / mpix),
              peakTensorMb: Math.round(trace.peakBytes / 2 ** 20),
              ops: trace.opCount,
              runs,
            };
          }
        } finally {
          input.dispose();
        }
      }
    } finally {
      model.dispose();
    }
  }
}
