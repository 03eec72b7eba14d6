// Rendering a view of a photograph through a moving camera, and turning sub-frames into a
// blurred frame. Images here are float32 RGB in [0, 1], `[H, W, 3]` row-major, gamma-encoded
// like the photographs they come from (the sharp high-frame-rate frames of a real capture).
import type { Rng } from '../util/rng.ts';
import type { Pose } from './trajectory.ts';

/** A float32 RGB image, values in [0, 1] (gamma-encoded), stored `[height, width, 3]` row-major. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** `[height, width, 3]` row-major. */
  readonly data: Float32Array;
}

/** How a view is resampled from the photograph: `bilinear` or `bicubic`. */
export type Interpolation = 'bilinear' | 'bicubic';

/**
 * How sub-frames are combined: `linear` undoes the gamma curve, averages light, and re-applies
 * it (GoPro's `blur_gamma`, the physically motivated model); `plain` averages the encoded pixel
 * values (GoPro's `blur`).
 */
export type Averaging = 'linear' | 'plain';

/** Where the output frame sits on the (possibly resized) photograph. */
export interface View {
  readonly width: number;
  readonly height: number;
  /** Photograph pixels per output pixel. */
  readonly base: number;
  /** Photograph coordinates (pixel centres at i + 0.5) of the view centre at pose zero. */
  readonly originX: number;
  readonly originY: number;
}

/** Photograph index coordinates of output pixel (x, y): `(a x + b y + c, d x + e y + f)`. */
export interface Affine {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
  readonly e: number;
  readonly f: number;
}

/**
 * An {@link RgbImage} of `width`×`height` pixels, zero-filled or wrapping `data` (which must hold
 * width·height·3 values).
 */
export function rgbImage(width: number, height: number, data?: Float32Array): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error(`rgbImage: bad size ${width}x${height}`);
  const d = data ?? new Float32Array(width * height * 3);
  if (d.length !== width * height * 3) throw new Error(`rgbImage: ${width}x${height}x3 needs ${width * height * 3} values, got ${d.length}`);
  return { width, height, data: d };
}

/**
 * The view transform: an output pixel centre at offset q from the frame centre shows the scene
 * point `pose + exp(logScale) * R(angle) * q` (output-pixel units), which lies at
 * `origin + base * point` on the photograph.
 */
export function viewAffine(pose: Pose, view: View): Affine {
  const s = view.base * Math.exp(pose.logScale);
  const cos = s * Math.cos(pose.angle);
  const sin = s * Math.sin(pose.angle);
  const qx0 = 0.5 - view.width / 2;
  const qy0 = 0.5 - view.height / 2;
  // -0.5: from pixel-centre coordinates to array indices.
  return {
    a: cos,
    b: -sin,
    c: view.originX + view.base * pose.x + cos * qx0 - sin * qy0 - 0.5,
    d: sin,
    e: cos,
    f: view.originY + view.base * pose.y + sin * qx0 + cos * qy0 - 0.5,
  };
}

/** The four outer corners of the frame in scene units (before `origin + base *`). */
export function viewCorners(pose: Pose, width: number, height: number): Array<readonly [number, number]> {
  const s = Math.exp(pose.logScale);
  const cos = s * Math.cos(pose.angle);
  const sin = s * Math.sin(pose.angle);
  const out: Array<readonly [number, number]> = [];
  for (const qy of [-height / 2, height / 2]) {
    for (const qx of [-width / 2, width / 2]) out.push([pose.x + cos * qx - sin * qy, pose.y + sin * qx + cos * qy]);
  }
  return out;
}

function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

function renderBilinear(src: RgbImage, m: Affine, out: RgbImage): void {
  const { width: sw, height: sh, data: s } = src;
  const { width: w, height: h, data: o } = out;
  let p = 0;
  for (let y = 0; y < h; y++) {
    let sx = m.b * y + m.c;
    let sy = m.e * y + m.f;
    for (let x = 0; x < w; x++, sx += m.a, sy += m.d, p += 3) {
      const x0f = Math.floor(sx);
      const y0f = Math.floor(sy);
      const fx = sx - x0f;
      const fy = sy - y0f;
      const x0 = clampIndex(x0f, sw);
      const x1 = clampIndex(x0f + 1, sw);
      const r0 = clampIndex(y0f, sh) * sw;
      const r1 = clampIndex(y0f + 1, sh) * sw;
      const i00 = (r0 + x0) * 3;
      const i01 = (r0 + x1) * 3;
      const i10 = (r1 + x0) * 3;
      const i11 = (r1 + x1) * 3;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      o[p] = w00 * s[i00]! + w01 * s[i01]! + w10 * s[i10]! + w11 * s[i11]!;
      o[p + 1] = w00 * s[i00 + 1]! + w01 * s[i01 + 1]! + w10 * s[i10 + 1]! + w11 * s[i11 + 1]!;
      o[p + 2] = w00 * s[i00 + 2]! + w01 * s[i01 + 2]! + w10 * s[i10 + 2]! + w11 * s[i11 + 2]!;
    }
  }
}

/** Catmull-Rom weights (cubic convolution, a = -0.5) for fractional offset t in [0, 1). */
function cubicWeights(t: number, w: Float64Array): void {
  const t2 = t * t;
  const t3 = t2 * t;
  w[0] = -0.5 * t3 + t2 - 0.5 * t;
  w[1] = 1.5 * t3 - 2.5 * t2 + 1;
  w[2] = -1.5 * t3 + 2 * t2 + 0.5 * t;
  w[3] = 0.5 * t3 - 0.5 * t2;
}

function renderBicubic(src: RgbImage, m: Affine, out: RgbImage): void {
  const { width: sw, height: sh, data: s } = src;
  const { width: w, height: h, data: o } = out;
  const wx = new Float64Array(4);
  const wy = new Float64Array(4);
  const cols = new Int32Array(4);
  let p = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++, p += 3) {
      const sx = m.a * x + m.b * y + m.c;
      const sy = m.d * x + m.e * y + m.f;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      cubicWeights(sx - x0, wx);
      cubicWeights(sy - y0, wy);
      for (let k = 0; k < 4; k++) cols[k] = clampIndex(x0 - 1 + k, sw);
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < 4; j++) {
        const row = clampIndex(y0 - 1 + j, sh) * sw;
        const vy = wy[j]!;
        for (let k = 0; k < 4; k++) {
          const i = (row + cols[k]!) * 3;
          const wk = vy * wx[k]!;
          r += wk * s[i]!;
          g += wk * s[i + 1]!;
          b += wk * s[i + 2]!;
        }
      }
      // Cubic convolution overshoots at edges; keep values displayable.
      o[p] = r < 0 ? 0 : r > 1 ? 1 : r;
      o[p + 1] = g < 0 ? 0 : g > 1 ? 1 : g;
      o[p + 2] = b < 0 ? 0 : b > 1 ? 1 : b;
    }
  }
}

/** Resample `src` through `affine` into a `width`×`height` frame (edges clamp). */
export function renderView(src: RgbImage, affine: Affine, width: number, height: number, interpolation: Interpolation = 'bilinear', out?: RgbImage): RgbImage {
  const target = out ?? rgbImage(width, height);
  if (target.width !== width || target.height !== height) throw new Error(`renderView: output buffer is ${target.width}x${target.height}, expected ${width}x${height}`);
  if (interpolation === 'bilinear') renderBilinear(src, affine, target);
  else if (interpolation === 'bicubic') renderBicubic(src, affine, target);
  else throw new Error(`renderView: unknown interpolation '${String(interpolation)}' (bilinear or bicubic)`);
  return target;
}

// ---------------------------------------------------------------------------------------
// Averaging sub-frames.

const LUT_SIZE = 4096;

/**
 * x ↦ x^gamma on [0, 1] by a piecewise-linear table: the power dominates the cost of averaging
 * otherwise, and the table's error (< 1e-7 for gamma 2.2) is far below 8-bit quantisation.
 * Only used for gamma >= 1, where the curve is flat at 0 and the table is accurate everywhere.
 */
function powTable(gamma: number): Float32Array {
  const t = new Float32Array(LUT_SIZE + 2);
  for (let i = 0; i <= LUT_SIZE; i++) t[i] = Math.pow(i / LUT_SIZE, gamma);
  t[LUT_SIZE + 1] = t[LUT_SIZE]!;
  return t;
}

const tables = new Map<number, Float32Array>();

function decodeGamma(gamma: number): (v: number) => number {
  if (!(gamma >= 1 && Number.isFinite(gamma))) throw new Error(`gamma must be a finite number >= 1, got ${gamma}`);
  let t = tables.get(gamma);
  if (!t) tables.set(gamma, (t = powTable(gamma)));
  const table = t;
  return (v) => {
    const u = (v <= 0 ? 0 : v >= 1 ? 1 : v) * LUT_SIZE;
    const i = u | 0;
    const f = u - i;
    return table[i]! + f * (table[i + 1]! - table[i]!);
  };
}

/**
 * Accumulates sub-frames and gives their plain and/or linear-light average. Sums are kept in
 * float64 so that the result does not depend on summation error.
 */
export class SubFrameAverager {
  private readonly plain: Float64Array;
  private readonly light: Float64Array;
  private readonly degamma: (v: number) => number;
  private count = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly gamma = 2.2,
  ) {
    this.plain = new Float64Array(width * height * 3);
    this.light = new Float64Array(width * height * 3);
    this.degamma = decodeGamma(gamma);
  }

  /** Adds one sub-frame (same size as the averager) to both sums. */
  add(frame: RgbImage): void {
    if (frame.width !== this.width || frame.height !== this.height) {
      throw new Error(`SubFrameAverager: frame is ${frame.width}x${frame.height}, expected ${this.width}x${this.height}`);
    }
    const d = frame.data;
    const dg = this.degamma;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      this.plain[i]! += v;
      this.light[i]! += dg(v);
    }
    this.count++;
  }

  get frames(): number {
    return this.count;
  }

  /**
   * The average of the sub-frames added so far, of encoded values (`plain`) or of linear light
   * re-encoded with the gamma (`linear`); throws if none were added.
   */
  average(averaging: Averaging): RgbImage {
    if (this.count === 0) throw new Error('SubFrameAverager: no sub-frames added');
    const out = rgbImage(this.width, this.height);
    const o = out.data;
    const inv = 1 / this.count;
    if (averaging === 'plain') {
      for (let i = 0; i < o.length; i++) o[i] = this.plain[i]! * inv;
    } else if (averaging === 'linear') {
      const enc = 1 / this.gamma;
      for (let i = 0; i < o.length; i++) o[i] = Math.pow(this.light[i]! * inv, enc);
    } else {
      throw new Error(`unknown averaging '${String(averaging)}' (linear or plain)`);
    }
    return out;
  }
}

/** Average of `frames` (all the same size); see `Averaging`. */
export function averageFrames(frames: readonly RgbImage[], averaging: Averaging, gamma = 2.2): RgbImage {
  const first = frames[0];
  if (!first) throw new Error('averageFrames: no frames');
  const acc = new SubFrameAverager(first.width, first.height, gamma);
  for (const f of frames) acc.add(f);
  return acc.average(averaging);
}

// ---------------------------------------------------------------------------------------
// Sensor noise and quantisation.

/**
 * Sensor noise added to a blurred frame: signal-independent read noise and signal-dependent shot
 * noise, in [0, 1] units.
 */
export interface NoiseOptions {
  /** Standard deviation of signal-independent (read) noise, in [0, 1] units. */
  readonly sigma?: number;
  /** Signal-dependent (shot) noise: variance `shot * value`, a Gaussian stand-in for Poisson. */
  readonly shot?: number;
}

/** A noisy copy of `img` (values may leave [0, 1]; quantisation clips). */
export function addNoise(img: RgbImage, rng: Rng, noise: NoiseOptions): RgbImage {
  const sigma = noise.sigma ?? 0;
  const shot = noise.shot ?? 0;
  if (!(sigma >= 0 && Number.isFinite(sigma)) || !(shot >= 0 && Number.isFinite(shot))) {
    throw new Error(`addNoise: sigma and shot must be finite numbers >= 0, got ${sigma} and ${shot}`);
  }
  const out = rgbImage(img.width, img.height, img.data.slice());
  if (sigma === 0 && shot === 0) return out;
  const o = out.data;
  const var0 = sigma * sigma;
  for (let i = 0; i < o.length; i++) {
    const v = o[i]!;
    o[i] = v + Math.sqrt(var0 + shot * (v > 0 ? v : 0)) * rng.normal();
  }
  return out;
}

/** 8-bit RGB: clip to [0, 1], scale, round half up; NaN becomes 0. */
export function toBytes(img: RgbImage): Uint8Array {
  const d = img.data;
  const out = new Uint8Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    out[i] = v > 0 ? (v < 1 ? Math.floor(v * 255 + 0.5) : 255) : 0;
  }
  return out;
}

/** An {@link RgbImage} from 8-bit RGB bytes (`[height, width, 3]` row-major), scaled to [0, 1]. */
export function fromBytes(width: number, height: number, bytes: Uint8Array): RgbImage {
  if (bytes.length !== width * height * 3) throw new Error(`fromBytes: ${width}x${height}x3 needs ${width * height * 3} bytes, got ${bytes.length}`);
  const data = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) data[i] = bytes[i]! / 255;
  return { width, height, data };
}
