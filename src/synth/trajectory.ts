// Smooth random camera trajectories. A trajectory is a small set of sinusoids per degree of
// freedom: slow waves give a wandering pan, a fast low-amplitude wave gives hand shake (curved
// blur within one frame). Sums of sinusoids are bounded, so a long video never drifts off its
// photograph, and a trajectory is plain data, evaluated at any real time (unit: frames).
import type { Rng } from '../util/rng.ts';

/** One sinusoid `amp * sin(omega * t + phase)` added along direction (dx, dy) (unit vector). */
export interface Wave {
  readonly amp: number;
  readonly omega: number;
  readonly phase: number;
}

export interface TranslationWave extends Wave {
  readonly dx: number;
  readonly dy: number;
}

/**
 * A camera path as a function of time in frames: sums of sinusoids for translation, rotation and
 * log-scale, plus an optional constant drift.
 */
export interface Trajectory {
  /** Translation of the view, in output pixels. */
  readonly translation: readonly TranslationWave[];
  /** Rotation of the view about its centre, in radians. */
  readonly angle: readonly Wave[];
  /** Natural log of the view's scale factor (0: no zoom). */
  readonly logScale: readonly Wave[];
  /** Constant velocity of the view, output pixels per frame (absent: none). */
  readonly drift?: { readonly vx: number; readonly vy: number };
}

/**
 * The camera view at one instant: translation in output pixels, rotation in radians and the natural
 * log of the scale.
 */
export interface Pose {
  readonly x: number;
  readonly y: number;
  readonly angle: number;
  readonly logScale: number;
}

/**
 * How strongly the synthetic camera moves: typical translation, rotation and zoom rates per frame, and
 * optionally a dominant pan direction and a steady drift.
 */
export interface MotionOptions {
  /** Typical translation speed: root-mean-square over time, output pixels per frame. */
  readonly speed: number;
  /** Typical rotation speed (root-mean-square), radians per frame. */
  readonly rotation: number;
  /** Typical zoom rate (root-mean-square change of log-scale per frame; 0.002 ≈ 0.2 %). */
  readonly zoom: number;
  /**
   * Direction of the dominant pan in degrees (0: along x, 90: along y), the same for every
   * video; absent: a random direction per video.
   */
  readonly direction?: number;
  /**
   * A steady pan along the dominant direction, output pixels per frame (scaled by the video's
   * strength like the rest), on top of the wandering motion; absent or 0: none.
   */
  readonly drift?: number;
}

/** Defaults scaled to the frame: 2 % of the long side per frame, a little rotation and zoom. */
export function defaultMotion(width: number, height: number): MotionOptions {
  return { speed: Math.max(1, 0.02 * Math.max(width, height)), rotation: (0.1 * Math.PI) / 180, zoom: 0.0015 };
}

// Periods in frames: slow pan waves and fast shake.
const SLOW_PERIOD: readonly [number, number] = [15, 50];
const SHAKE_PERIOD: readonly [number, number] = [3, 8];

/** A wave whose peak speed (amp * omega) is `speed`. */
function wave(rng: Rng, speed: number, period: readonly [number, number]): Wave {
  const omega = (2 * Math.PI) / rng.uniform(period[0], period[1]);
  return { amp: speed / omega, omega, phase: rng.uniform(0, 2 * Math.PI) };
}

/** Peak speeds proportional to `shares` whose combined root-mean-square speed is `rms`. */
function peakSpeeds(rms: number, shares: readonly number[]): number[] {
  // A sinusoid with peak speed v has mean-square speed v^2 / 2; independent phases add.
  const norm = Math.sqrt(shares.reduce((a, s) => a + (s * s) / 2, 0));
  return shares.map((s) => (rms * s) / norm);
}

/**
 * A random trajectory. Each video draws a strength in [0.5, 1.5] that scales all of `motion`,
 * and the speed varies along the video, so a dataset mixes mild and strong blur.
 */
export function randomTrajectory(rng: Rng, motion: MotionOptions): Trajectory {
  for (const k of ['speed', 'rotation', 'zoom'] as const) {
    if (!(Number.isFinite(motion[k]) && motion[k] >= 0)) throw new Error(`randomTrajectory: motion.${k} must be a finite number >= 0, got ${motion[k]}`);
  }
  if (motion.drift !== undefined && !(Number.isFinite(motion.drift) && motion.drift >= 0)) throw new Error(`randomTrajectory: motion.drift must be a finite number >= 0, got ${motion.drift}`);
  if (motion.direction !== undefined && !Number.isFinite(motion.direction)) throw new Error(`randomTrajectory: motion.direction must be a finite number of degrees, got ${motion.direction}`);
  const strength = rng.uniform(0.5, 1.5);
  // Drawn even when fixed, so the other draws do not depend on it.
  const drawn = rng.uniform(0, 2 * Math.PI);
  const dir = motion.direction === undefined ? drawn : (motion.direction * Math.PI) / 180;
  const main = { dx: Math.cos(dir), dy: Math.sin(dir) };
  const across = { dx: -Math.sin(dir), dy: Math.cos(dir) };
  // Mostly a pan along a dominant direction, some drift across it, a little shake per axis.
  const [v0, v1, v2, v3, v4] = peakSpeeds(motion.speed * strength, [0.6, 0.45, 0.3, 0.2, 0.2]) as [number, number, number, number, number];
  const translation: TranslationWave[] = [
    { ...wave(rng, v0, SLOW_PERIOD), ...main },
    { ...wave(rng, v1, SLOW_PERIOD), ...main },
    { ...wave(rng, v2, SLOW_PERIOD), ...across },
    { ...wave(rng, v3, SHAKE_PERIOD), dx: 1, dy: 0 },
    { ...wave(rng, v4, SHAKE_PERIOD), dx: 0, dy: 1 },
  ];
  const [r0, r1] = peakSpeeds(motion.rotation * strength, [0.8, 0.4]) as [number, number];
  const angle = [wave(rng, r0, SLOW_PERIOD), wave(rng, r1, SHAKE_PERIOD)];
  const logScale = [wave(rng, Math.SQRT2 * motion.zoom * strength, SLOW_PERIOD)];
  const v = (motion.drift ?? 0) * strength;
  return v === 0 ? { translation, angle, logScale } : { translation, angle, logScale, drift: { vx: v * main.dx, vy: v * main.dy } };
}

function waveAt(w: Wave, t: number): number {
  return w.amp * Math.sin(w.omega * t + w.phase);
}

/** The pose at time `t` (frames; fractional times are sub-frames). */
export function poseAt(traj: Trajectory, t: number): Pose {
  let x = (traj.drift?.vx ?? 0) * t;
  let y = (traj.drift?.vy ?? 0) * t;
  for (const w of traj.translation) {
    const s = waveAt(w, t);
    x += s * w.dx;
    y += s * w.dy;
  }
  let angle = 0;
  for (const w of traj.angle) angle += waveAt(w, t);
  let logScale = 0;
  for (const w of traj.logScale) logScale += waveAt(w, t);
  return { x, y, angle, logScale };
}

/**
 * Times of the `count` sub-frames averaged into frame `frame`: evenly spread over the exposure
 * (a fraction of the frame interval) and centred on the frame time, so with an odd count the
 * middle sub-frame is exactly at `frame`.
 */
export function subFrameTimes(frame: number, count: number, exposure = 1): number[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`subFrameTimes: count must be a positive integer, got ${count}`);
  if (!(exposure > 0 && exposure <= 1)) throw new Error(`subFrameTimes: exposure must be in (0, 1], got ${exposure}`);
  return Array.from({ length: count }, (_, j) => frame + exposure * ((j + 0.5) / count - 0.5));
}
