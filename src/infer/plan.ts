// Which frames a model sees for each frame it restores, when it runs over a whole video: the
// temporal windows it was validated with (its validation data's sampling), laid so that every
// frame of the video gets an output. Positions before the first frame or past the last one are
// mirrored back into the video (frame -1 is frame 1), so the edge frames get the same kind of
// window as the others. Pure functions of the sampling options and the frame count.
import { checkSampling, windowAt, type SamplingOptions } from '../data/sampling.ts';

/** One model run: the input frame positions (mirrored into the video) and the frames it restores. */
export interface Step {
  /** Input frames, as positions in the video (already mirrored), in the model's input order. */
  readonly input: readonly number[];
  /** Frames of the ground truth the strategy expects beside this input (only their count matters). */
  readonly gtFrames: number;
  /**
   * The video position of each restored frame the run returns, in order; positions outside the
   * video (a window longer than the video) and frames an earlier run restored are dropped.
   */
  readonly targets: readonly number[];
}

/** How a model runs over a video: its sampling, and the frames a clip run consumes at each end without output. */
export interface TemporalPlan {
  readonly sampling: SamplingOptions;
  /**
   * Frames at each end of a clip that the strategy restores nothing for (PVDNet's first and last:
   * they have no neighbour); a whole-video run is extended by this many mirrored frames.
   */
  readonly context: number;
  /**
   * The model carries state through a clip of any length: it runs once over the whole video
   * (as 'video' sampling), whatever window length it was validated with.
   */
  readonly wholeVideo: boolean;
}

/** Position `i` mirrored into `[0, length)`: ..., 2, 1, [0, 1, ..., length-1], length-2, ... */
export function mirror(i: number, length: number): number {
  if (length <= 1) return 0;
  const period = 2 * (length - 1);
  const k = ((i % period) + period) % period;
  return k < length ? k : period - k;
}

const seq = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

/**
 * The runs that restore every frame of a video of `length` frames, in order. Windows with one
 * target (n_c, n_l, n_r, dvd_test) run once per frame; windows with several (n_n, strcnn) tile the
 * video, the last one moved back to end at the last frame; whole-video runs cover everything at once.
 */
export function planSteps(length: number, plan: TemporalPlan): Step[] {
  if (!Number.isInteger(length) || length < 1) throw new Error(`a video needs at least one frame, got ${length}`);
  const o = checkSampling(plan.sampling);
  if (o.sampling === 'video' || plan.wholeVideo) {
    // strcnn's targets sit two frames inside their window: the whole video gets two mirrored
    // frames of context at each end. A strategy's own context frames are part of its ground truth.
    const pad = plan.context + (o.sampling === 'strcnn' ? 2 : 0);
    const input = seq(-pad, length + 2 * pad).map((p) => mirror(p, length));
    return [{ input, gtFrames: o.sampling === 'strcnn' ? length + 2 * plan.context : input.length, targets: seq(0, length) }];
  }
  // dvd_test is n_c at a few anchors: over a video, at every frame.
  const sampling = o.sampling === 'dvd_test' ? { ...o, sampling: 'n_c' as const } : o;
  const first = windowAt(0, sampling).gt;
  const span = first[first.length - 1]! - first[0]!;
  const stride = first.length > 1 ? first[1]! - first[0]! : 1;
  const steps: Step[] = [];
  const done = new Set<number>();
  for (let f = 0; f < length; f++) {
    if (done.has(f)) continue;
    // The window whose first target is f, moved back (by whole strides, so f stays a target)
    // until no target lies past the end, unless the video is shorter than the window.
    const limit = length - 1 - span;
    let anchor = f;
    if (f > limit) {
      const back = f - stride * Math.ceil((f - limit) / stride);
      if (back >= 0) anchor = back;
    }
    const w = windowAt(anchor - first[0]!, sampling);
    for (const p of w.gt) if (p >= 0 && p < length) done.add(p);
    steps.push({ input: w.input.map((p) => mirror(p, length)), gtFrames: w.gt.length, targets: w.gt });
  }
  return steps;
}

/**
 * For each step, the lowest frame position any later step still needs: frames below it can be
 * dropped once the step has run (a video is read once, front to back).
 */
export function keepFrom(steps: readonly Step[]): number[] {
  const out = new Array<number>(steps.length);
  let low = Infinity;
  for (let i = steps.length - 1; i >= 0; i--) {
    out[i] = low;
    low = Math.min(low, ...steps[i]!.input);
  }
  return out;
}
