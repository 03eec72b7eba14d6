// One synthetic video: where the camera looks on its photograph over time, and the rendering of
// frame k as a blurred frame (average of sub-frames over the exposure) with its sharp ground
// truth (the middle sub-frame). Consecutive frames continue one trajectory, so a clip is
// temporally coherent.
import type { Rng } from '../util/rng.ts';
import { poseAt, randomTrajectory, subFrameTimes, type MotionOptions, type Trajectory } from './trajectory.ts';
import { SubFrameAverager, renderView, viewAffine, viewCorners, rgbImage, type Averaging, type Interpolation, type RgbImage, type View } from './render.ts';

/**
 * Options of one synthesised video: frame size in pixels, number of frames, sub-frames per frame,
 * exposure and camera motion.
 */
export interface VideoOptions {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  /** Sub-frames per frame (odd, so that the middle one is the sharp frame), or 'auto'. */
  readonly subFrames: SubFrames;
  /** Fraction of the frame interval the shutter is open, in (0, 1]. */
  readonly exposure: number;
  readonly motion: MotionOptions;
}

/**
 * A video drawn for one photograph: the camera trajectory, the size the photograph is resized to, and
 * where the view sits on it.
 */
export interface VideoPlan {
  readonly trajectory: Trajectory;
  /** Size the photograph is resized to before rendering. */
  readonly photoWidth: number;
  readonly photoHeight: number;
  readonly view: View;
}

/**
 * A fixed odd count averages exactly that many sharp sub-frames, as GoPro did (7 to 13), with its
 * ghosting when the motion within a frame is long. 'auto' picks, per frame, the smallest odd count
 * (at least 7) that moves no pixel more than `maxStep` pixels between consecutive sub-frames,
 * like REDS, which interpolated its frames before averaging.
 */
export type SubFrames = number | 'auto';

/** Default largest motion between consecutive sub-frames with `subFrames: 'auto'`, in output pixels. */
export const defaultMaxStep = 1.5;
const MIN_AUTO = 7;
const MAX_AUTO = 255;

// Photograph pixels kept clear of the edges, so that interpolation taps stay inside.
const EDGE = 3;

/**
 * Throws unless width, height and frames are positive integers, `subFrames` is valid and exposure is
 * in (0, 1].
 */
export function checkVideoOptions(o: VideoOptions): void {
  for (const k of ['width', 'height', 'frames'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`${k} must be a positive integer, got ${o[k]}`);
  }
  checkSubFrames(o.subFrames);
  if (!(o.exposure > 0 && o.exposure <= 1)) throw new Error(`exposure must be in (0, 1], got ${o.exposure}`);
}

/** Throws unless `n` is 'auto' or an odd positive integer (the middle sub-frame is the sharp frame). */
export function checkSubFrames(n: SubFrames): void {
  if (n === 'auto') return;
  if (!Number.isInteger(n) || n < 1 || n % 2 !== 1) {
    throw new Error(`subFrames must be 'auto' or an odd positive integer (the middle sub-frame is the sharp frame), got ${n}`);
  }
}

// Times at which the swept area and the motion within an exposure are measured.
const PROBES = 32;

/** Times spanning the whole exposure of every frame (ends included). */
function sweptTimes(o: VideoOptions): number[] {
  const out: number[] = [];
  for (let k = 0; k < o.frames; k++) {
    for (let i = 0; i <= PROBES; i++) out.push(k + o.exposure * (i / PROBES - 0.5));
  }
  return out;
}

/**
 * Draws a trajectory and fits the whole video onto a photograph of `photoWidth`×`photoHeight`:
 * the photograph is enlarged if the swept area does not fit, otherwise scaled by a random
 * factor (log-uniform between just fitting and the smaller of full size and 4x the swept size)
 * so views show varied amounts of the scene, and the swept area is placed at random.
 */
export function planVideo(rng: Rng, photo: { readonly width: number; readonly height: number }, o: VideoOptions): VideoPlan {
  checkVideoOptions(o);
  const trajectory = randomTrajectory(rng, o.motion);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const t of sweptTimes(o)) {
    for (const [x, y] of viewCorners(poseAt(trajectory, t), o.width, o.height)) {
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  }
  const needW = maxX - minX + 2 * EDGE;
  const needH = maxY - minY + 2 * EDGE;
  const fit = Math.max(needW / photo.width, needH / photo.height);
  // At most 4x the swept size per side: varied framing without holding a huge float image.
  const scale = fit >= 1 ? fit : Math.exp(rng.uniform(Math.log(fit), Math.log(Math.min(1, 4 * fit))));
  const photoWidth = Math.max(Math.ceil(photo.width * scale), Math.ceil(needW));
  const photoHeight = Math.max(Math.ceil(photo.height * scale), Math.ceil(needH));
  const view: View = {
    width: o.width,
    height: o.height,
    base: 1,
    originX: rng.uniform(EDGE - minX, photoWidth - EDGE - maxX),
    originY: rng.uniform(EDGE - minY, photoHeight - EDGE - maxY),
  };
  return { trajectory, photoWidth, photoHeight, view };
}

/**
 * Options of rendering frames: sub-frames per frame, exposure, the `auto` sub-frame step,
 * interpolation and the gamma of linear-light averaging.
 */
export interface RenderOptions {
  readonly subFrames: SubFrames;
  readonly exposure: number;
  /** Largest motion between consecutive sub-frames with `subFrames: 'auto'` (default 1.5 px). */
  readonly maxStep?: number;
  readonly interpolation?: Interpolation;
  readonly gamma?: number;
}

function checkPhoto(photo: RgbImage, plan: VideoPlan): void {
  if (photo.width !== plan.photoWidth || photo.height !== plan.photoHeight) {
    throw new Error(`photograph is ${photo.width}x${photo.height} but the plan needs it resized to ${plan.photoWidth}x${plan.photoHeight}`);
  }
}

/** Longest path a frame corner travels during the exposure of frame `k`, in output pixels. */
export function exposureTravel(plan: VideoPlan, k: number, exposure: number): number {
  const { width, height } = plan.view;
  let prev = viewCorners(poseAt(plan.trajectory, k - exposure / 2), width, height);
  const length = [0, 0, 0, 0];
  for (let i = 1; i <= PROBES; i++) {
    const next = viewCorners(poseAt(plan.trajectory, k + exposure * (i / PROBES - 0.5)), width, height);
    next.forEach(([x, y], c) => {
      const [px, py] = prev[c]!;
      length[c]! += Math.hypot(x - px, y - py);
    });
    prev = next;
  }
  // The motion of a view is affine, so no pixel moves farther than the farthest corner.
  return Math.max(...length);
}

/** Number of sub-frames averaged into frame `k`. */
export function subFrameCount(plan: VideoPlan, k: number, o: Pick<RenderOptions, 'subFrames' | 'exposure' | 'maxStep'>): number {
  checkSubFrames(o.subFrames);
  if (o.subFrames !== 'auto') return o.subFrames;
  const step = o.maxStep ?? defaultMaxStep;
  if (!(step > 0 && Number.isFinite(step))) throw new Error(`maxStep must be a positive number, got ${step}`);
  const n = Math.min(MAX_AUTO, Math.max(MIN_AUTO, Math.ceil(exposureTravel(plan, k, o.exposure) / step)));
  return n % 2 === 1 ? n : n + 1;
}

/** The sharp sub-frames of frame `k` (in time order). */
export function renderSubFrames(photo: RgbImage, plan: VideoPlan, k: number, o: RenderOptions): RgbImage[] {
  checkPhoto(photo, plan);
  const { width, height } = plan.view;
  return subFrameTimes(k, subFrameCount(plan, k, o), o.exposure).map((t) => renderView(photo, viewAffine(poseAt(plan.trajectory, t), plan.view), width, height, o.interpolation));
}

/**
 * One rendered frame: the sharp middle sub-frame and the blurred frame averaged both ways (`linear`
 * and `plain`).
 */
export interface RenderedFrame {
  /** Ground truth: the middle sub-frame. */
  readonly sharp: RgbImage;
  readonly blurred: Readonly<Record<Averaging, RgbImage>>;
}

/** Frame `k`: its sharp middle sub-frame and both averages of its sub-frames. */
export function renderFrame(photo: RgbImage, plan: VideoPlan, k: number, o: RenderOptions): RenderedFrame {
  checkPhoto(photo, plan);
  const { width, height } = plan.view;
  const times = subFrameTimes(k, subFrameCount(plan, k, o), o.exposure);
  const middle = (times.length - 1) / 2;
  const acc = new SubFrameAverager(width, height, o.gamma);
  const scratch = rgbImage(width, height);
  let sharp: RgbImage | undefined;
  times.forEach((t, j) => {
    const target = j === middle ? rgbImage(width, height) : scratch;
    renderView(photo, viewAffine(poseAt(plan.trajectory, t), plan.view), width, height, o.interpolation, target);
    acc.add(target);
    if (j === middle) sharp = target;
  });
  if (!sharp) throw new Error(`renderFrame: no middle sub-frame among ${times.length}`);
  return { sharp, blurred: { linear: acc.average('linear'), plain: acc.average('plain') } };
}
