// The data contract between readers and the engine. A dataset is an indexable collection of
// samples; augmentation draws from the explicit random stream it is handed, so the same seed
// gives the same crops whatever the number of loader workers.
import type { Rng } from '../util/rng.ts';

/** Shape of a clip as stored in a sample: frames, height, width, channels. */
export type ClipShape = readonly [number, number, number, number];

/**
 * One training or evaluation sample: a blurry input clip and its sharp ground-truth frames, float32
 * RGB in [0, 1], stored `[T, H, W, C]` row-major.
 */
export interface Sample {
  /** Video name, for per-video metrics. */
  readonly video: string;
  /** Ids of the ground-truth frames this sample predicts (one per gt frame). */
  readonly frames: readonly string[];
  /** Blurry input clip, float32 RGB in [0, 1], `[T, H, W, C]` row-major. */
  readonly input: Float32Array;
  readonly inputShape: ClipShape;
  /** Sharp ground truth, `[Tgt, H, W, C]`. */
  readonly gt: Float32Array;
  readonly gtShape: ClipShape;
}

/**
 * An indexable collection of samples; `get` is asynchronous and draws any augmentation from the `rng`
 * it is given.
 */
export interface Dataset {
  readonly name: string;
  readonly length: number;
  /** Sample `index`; augmentations draw from `rng` (which the loader derives per sample). */
  get(index: number, rng: Rng): Promise<Sample>;
}
