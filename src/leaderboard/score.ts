// Scores a trained model on held-out data with the project's metrics: PSNR and SSIM of each
// restored frame, and of the blurry input frame against the same ground truth, averaged over
// the scored frames. Scoring a fixed list of frames gives every model the same frames whatever
// its temporal window (a 5-frame window restores no frame at a video's ends). The blurry
// frames are read from a one-frame-per-sample view of the same data, so that their scores do
// not depend on the model's windows (evaluation cannot pair inputs with the outputs of
// windows that restore several frames from more context frames, as STRCNN's do).
import { tf } from '../runtime/index.ts';
import type { Tensor4D } from '../runtime/index.ts';
import type { Model, Params } from '../models/model.ts';
import type { Strategy } from '../engine/strategy.ts';
import type { Dataset } from '../data/dataset.ts';
import { evaluate } from '../engine/evaluate.ts';
import { psnrPerImage, ssimPerImage } from '../metrics/index.ts';
import { Rng } from '../util/rng.ts';

/** A restored frame beside its blurry input and ground truth, float RGB `[H, W, 3]` in [0, 1]. */
export interface Showcase {
  /** `video/frame`. */
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly input: Float32Array | null;
  readonly output: Float32Array;
  readonly gt: Float32Array;
}

/** Mean metrics over the scored frames. */
export interface Scores {
  readonly psnr: number;
  readonly ssim: number;
  /** The blurry input frames' scores on the same frames (null if some scored frame has no blurry frame). */
  readonly inputPsnr: number | null;
  readonly inputSsim: number | null;
  readonly frames: number;
  /**
   * One scored frame with its restoration: of a list of frames, the one whose ground truth has the
   * most detail (the same for every model); when every frame is scored, the first restored.
   */
  readonly showcase: Showcase;
}

interface FrameScore {
  readonly psnr: number;
  readonly ssim: number;
}

/** PSNR and SSIM of `out` against `gt`, float RGB `[H, W, 3]`. */
function scoreFrame(gt: Float32Array, out: Float32Array, height: number, width: number): FrameScore {
  const values = tf.tidy(() => {
    const image = (d: Float32Array) => tf.tensor4d(d, [1, height, width, 3]) as Tensor4D;
    const [g, o] = [image(gt), image(out)];
    return tf.concat([psnrPerImage(g, o), ssimPerImage(g, o)]);
  });
  const [psnr, ssim] = Array.from(values.dataSync());
  values.dispose();
  return { psnr: psnr!, ssim: ssim! };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

interface Restored {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly output: Float32Array;
  readonly gt: Float32Array;
}

/** Variance of an image's values: how much there is to see in it. */
function detail(rgb: Float32Array): number {
  let s = 0;
  let s2 = 0;
  for (const v of rgb) {
    s += v;
    s2 += v * v;
  }
  const m = s / rgb.length;
  return s2 / rgb.length - m * m;
}

/**
 * Runs `model` by `strategy` in eval mode over `ds` and scores the frames listed in `frames`
 * (`video/frame` ids; all of them must be restored) or every restored frame ('all'). A frame
 * restored by several windows counts once, by its last restoration, as in `evaluate`.
 * `single` is the same data one frame per sample (sampling n_n, 1 frame): the blurry frames.
 */
export async function scoreModel(model: Model, params: Params, strategy: Strategy, ds: Dataset, single: Dataset, frames: 'all' | readonly string[]): Promise<Scores> {
  const wanted = frames === 'all' ? undefined : new Set(frames);
  const scored = new Map<string, FrameScore>();
  // Restorations kept for the showcase: every listed frame (few), or the first one.
  const kept = new Map<string, Restored>();
  await evaluate(model, params, strategy, ds, {
    batchSize: 1,
    saveImages: 0,
    onRestored: async (f) => {
      const id = `${f.video}/${f.frame}`;
      if (wanted !== undefined && !wanted.has(id)) return;
      scored.set(id, scoreFrame(f.gt, f.output, f.height, f.width));
      if (wanted !== undefined || kept.size === 0) kept.set(id, { id, width: f.width, height: f.height, output: f.output.slice(), gt: f.gt.slice() });
    },
  });
  if (wanted !== undefined) {
    const missing = [...wanted].filter((id) => !scored.has(id));
    if (missing.length > 0) throw new Error(`${model.name} restored none of the frames ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', ...' : ''} (its evaluation windows do not reach them)`);
  }
  if (scored.size === 0) throw new Error(`${model.name}: no frame of ${ds.name} was restored`);
  const shown = [...kept.values()].reduce((best, r) => (detail(r.gt) > detail(best.gt) ? r : best));
  const inputs = new Map<string, FrameScore>();
  let showcaseInput: Float32Array | null = null;
  for (let i = 0; i < single.length; i++) {
    const s = await single.get(i, Rng.seeded(0));
    const id = `${s.video}/${s.frames[0]}`;
    if (!scored.has(id) || inputs.has(id)) continue;
    const [, h, w] = s.gtShape;
    inputs.set(id, scoreFrame(s.gt, s.input, h, w));
    if (id === shown.id) showcaseInput = s.input;
  }
  const all = [...scored.values()];
  const blurry = [...scored.keys()].map((id) => inputs.get(id));
  const complete = blurry.every((b): b is FrameScore => b !== undefined);
  return {
    psnr: mean(all.map((s) => s.psnr)),
    ssim: mean(all.map((s) => s.ssim)),
    inputPsnr: complete ? mean(blurry.map((b) => b.psnr)) : null,
    inputSsim: complete ? mean(blurry.map((b) => b.ssim)) : null,
    frames: all.length,
    showcase: { ...shown, input: showcaseInput },
  };
}
