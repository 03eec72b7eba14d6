// Runs a model over a sequence of frames read once, front to back: each step's window is built
// from the frames held so far (reading ahead as far as it needs), restored whole or tile by
// tile, and the restored frames are handed on in frame order. Frames no later step needs are
// dropped, so a long video is never held whole (except by a model that runs over it at once).
import { tf } from '../runtime/index.ts';
import type { Tensor, Tensor4D } from '../runtime/index.ts';
import { modelVariables, type Model, type Params } from '../models/model.ts';
import type { Strategy } from '../engine/strategy.ts';
import { keepFrom, planSteps, type TemporalPlan } from './plan.ts';
import { runTiled, type TileOptions } from './tile.ts';
import { mirrorPadded } from '../models/pad.ts';
import type { Frame } from './frames.ts';
import type { GraphCache } from '../runtime/graph-cache.ts';

/** A model ready to restore frames: weights, how a forward pass is laid out, and its temporal windows. */
export interface Restorer {
  readonly model: Model;
  readonly params: Params;
  readonly strategy: Strategy;
  readonly plan: TemporalPlan;
  /** H and W the model and strategy take are multiples of this; windows are mirror-padded to it. */
  readonly sizeMultiple: number;
  /** Tiles start on this grid, so that they restore like the whole frame (see ModelInference.align). */
  readonly align: number;
  /**
   * Runs each window shape's forward pass as one TensorFlow graph function, traced on its first
   * window; a forward pass that cannot be traced runs op by op.
   */
  readonly graphs?: GraphCache;
}

/** Frames to restore: how many, and the frames in order. */
export interface FrameSequence {
  readonly count: number;
  /** The frames in order, read once. */
  frames(): AsyncIterable<Frame>;
}

/** Options of {@link restoreFrames}. */
export interface RestoreOptions {
  /** Restore each window tile by tile (bounded memory) instead of whole. */
  readonly tile?: TileOptions;
  /** Called after each model run with the tiles done in it and its total. */
  readonly onTile?: (done: number, total: number) => void;
  /** Stops between model runs (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/** A restored frame: its position, the blurry frame it came from and the output (float RGB HWC, clamped to [0, 1]). */
export interface Restored {
  readonly index: number;
  readonly input: Frame;
  readonly rgb: Float32Array;
}

/**
 * One window through the strategy's evaluation forward pass, mirror-padded to the sizes the model
 * takes: the restored frames `[N, H, W, 3]`, clamped to [0, 1].
 */
function forwardWindow(r: Restorer, input: Tensor, gtFrames: number): Tensor4D {
  const eager = () =>
    tf.tidy(() => {
      const out = mirrorPadded(r.model.name, input, r.sizeMultiple, (padded) => {
        const [, , h, w, c] = padded.shape as [number, number, number, number, number];
        // Only the ground truth's shape matters to an evaluation forward pass.
        const pair = r.strategy.forward(r.model, r.params, padded, tf.zeros([1, gtFrames, h, w, c]), false)[0];
        if (pair === undefined) throw new Error(`strategy ${r.strategy.name} returned no output`);
        return pair.out;
      });
      return tf.clipByValue(out, 0, 1) as Tensor4D;
    });
  if (r.graphs === undefined) return eager();
  const g = r.graphs.run(`forward(${gtFrames})`, [input, ...modelVariables(r.model)], () => ({ outputs: [eager()], meta: null }));
  return 'refused' in g ? eager() : (g.outputs[0] as Tensor4D);
}

/**
 * Restores every frame of `seq` and passes each to `emit` in frame order. Every frame must have
 * the first frame's size.
 */
export async function restoreFrames(r: Restorer, seq: FrameSequence, emit: (frame: Restored) => Promise<void>, opts: RestoreOptions = {}): Promise<void> {
  const steps = planSteps(seq.count, r.plan);
  const keep = keepFrom(steps);
  const held = new Map<number, Frame>();
  const it = seq.frames()[Symbol.asyncIterator]();
  let shape: { readonly width: number; readonly height: number } | undefined;
  let read = 0;
  let next = 0;
  const pending = new Map<number, Float32Array>();
  try {
    for (const [s, step] of steps.entries()) {
      opts.signal?.throwIfAborted();
      const last = Math.max(...step.input);
      while (read <= last) {
        const n = await it.next();
        if (n.done) throw new Error(`expected ${seq.count} frames, the input ended after ${read}`);
        const f = n.value;
        shape ??= { width: f.width, height: f.height };
        if (f.width !== shape.width || f.height !== shape.height) {
          throw new Error(`frame ${f.name} is ${f.width}x${f.height}, the frames before it are ${shape.width}x${shape.height}`);
        }
        held.set(read++, f);
      }
      const frames = step.input.map((p) => held.get(p)!);
      const { width: w, height: h } = frames[0]!;
      const clip = new Float32Array(frames.length * h * w * 3);
      frames.forEach((f, i) => clip.set(f.rgb, i * h * w * 3));
      const input = tf.tensor5d(clip, [1, frames.length, h, w, 3]);
      let out: Tensor4D;
      try {
        out = opts.tile
          ? runTiled(input, { ...opts.tile, align: r.align }, (patch) => forwardWindow(r, patch, step.gtFrames), opts.onTile)
          : forwardWindow(r, input, step.gtFrames);
      } finally {
        input.dispose();
      }
      const data = (await out.data()) as Float32Array;
      const rows = out.shape[0];
      out.dispose();
      if (rows !== step.targets.length) {
        throw new Error(`model ${r.model.name} restored ${rows} frames from a window of ${step.input.length}, expected ${step.targets.length} (check the experiment's validation sampling)`);
      }
      const size = h * w * 3;
      step.targets.forEach((p, j) => {
        if (p >= next && p < seq.count && !pending.has(p)) pending.set(p, data.slice(j * size, (j + 1) * size));
      });
      while (pending.has(next)) {
        const rgb = pending.get(next)!;
        pending.delete(next);
        await emit({ index: next, input: held.get(next)!, rgb });
        next++;
      }
      for (const p of held.keys()) if (p < keep[s]! && p < next) held.delete(p);
    }
  } finally {
    await it.return?.();
  }
  if (next !== seq.count) throw new Error(`restored ${next} of ${seq.count} frames`);
}
