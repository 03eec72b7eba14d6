// Sampling modes: which windows of a video's frames become samples, and which frames of each
// window are inputs and ground truth. Pure functions of the frame count and the options.
//
// Windows are computed on *positions* in the sorted frame list, never on numbers parsed from
// file names, so numbering that starts anywhere (GoPro's 000047) works and the reader can check
// numbering gaps separately. With contiguous numbering the results are the original's, except
// where the original was wrong (n_r with interval > 1; even numFrames with n_c).

export const samplingModes = ['n_c', 'n_l', 'n_r', 'n_n', 'dvd_test', 'strcnn', 'video'] as const;
export type SamplingMode = (typeof samplingModes)[number];

export interface SamplingOptions {
  /**
   * How inputs and targets sit in a window (default 'n_c'). 'video': each video is one sample,
   * all its frames as input and ground truth (numFrames, interval and overlapping are unused),
   * for recurrent models evaluated with their state carried through the whole video.
   */
  readonly sampling: SamplingMode;
  /** Input frames per sample (default 1). */
  readonly numFrames: number;
  /** Temporal stride between the frames of a window (default 1; strcnn needs 1). */
  readonly interval: number;
  /** Windows start at every frame (true) or tile the video without sharing frames (false). */
  readonly overlapping: boolean;
}

export const samplingDefaults: SamplingOptions = { sampling: 'n_c', numFrames: 1, interval: 1, overlapping: true };

/** One sample's frames, as positions in the video's sorted frame list. */
export interface Window {
  readonly input: readonly number[];
  readonly gt: readonly number[];
}

/** One sample's frames, as frame ids. */
export interface ClipRef {
  readonly video: string;
  readonly input: readonly string[];
  readonly gt: readonly string[];
}

export interface VideoFrames {
  readonly name: string;
  readonly frames: readonly string[];
}

/** Frames a `dvd_test` video must have (its anchors go up to position 97). */
export const DVD_TEST_MIN_FRAMES = 98;

/** Throws a clear error for options no window can satisfy; returns the options with defaults. */
export function checkSampling(options: Partial<SamplingOptions>): SamplingOptions {
  const o = { ...samplingDefaults, ...options };
  if (!(samplingModes as readonly string[]).includes(o.sampling)) {
    throw new Error(`sampling must be one of ${samplingModes.join(', ')}, got ${JSON.stringify(o.sampling)}`);
  }
  if (!Number.isInteger(o.numFrames) || o.numFrames < 1) throw new Error(`numFrames must be a positive integer, got ${o.numFrames}`);
  if (!Number.isInteger(o.interval) || o.interval < 1) throw new Error(`interval must be a positive integer, got ${o.interval}`);
  if (typeof o.overlapping !== 'boolean') throw new Error(`overlapping must be a boolean, got ${JSON.stringify(o.overlapping)}`);
  if ((o.sampling === 'n_c' || o.sampling === 'dvd_test') && o.numFrames % 2 === 0) {
    throw new Error(`sampling '${o.sampling}' needs an odd numFrames (the target is the centre frame), got ${o.numFrames}`);
  }
  if (o.sampling === 'strcnn') {
    if (o.numFrames < 5) throw new Error(`sampling 'strcnn' needs numFrames >= 5 (two context frames either side of at least one target), got ${o.numFrames}`);
    if (o.interval !== 1) throw new Error(`sampling 'strcnn' takes consecutive frames: interval must be 1, got ${o.interval}`);
  }
  return o;
}

/** Temporal span of a window, in positions ('video': 1, the shortest video that gives one). */
export function windowSpan(o: SamplingOptions): number {
  if (o.sampling === 'video') return 1;
  return o.sampling === 'strcnn' ? o.numFrames : (o.numFrames - 1) * o.interval + 1;
}

/** numpy's `linspace(2, 97, 30)` truncated to integers: the original DVD test anchors. */
export function dvdTestPositions(): number[] {
  const step = (97 - 2) / 29;
  return Array.from({ length: 30 }, (_, i) => Math.trunc(i === 29 ? 97 : 2 + i * step));
}

function range(start: number, stop: number, step: number): number[] {
  const out: number[] = [];
  for (let i = start; i < stop; i += step) out.push(i);
  return out;
}

/** Anchor positions of a video with `length` frames (empty when the video is too short). */
export function anchorPositions(length: number, o: SamplingOptions): number[] {
  const span = windowSpan(o);
  const step = o.overlapping ? 1 : span;
  switch (o.sampling) {
    case 'n_c':
      return range(Math.floor(span / 2), length - Math.floor(span / 2), step);
    case 'n_l':
    case 'n_n':
      return range(0, length - span + 1, step);
    case 'n_r':
      return range(span - 1, length, step);
    case 'dvd_test':
      return length >= DVD_TEST_MIN_FRAMES ? dvdTestPositions() : [];
    case 'strcnn':
      // The first target has two context frames before it; the window holds numFrames frames.
      return range(2, length - span + 3, step);
    case 'video':
      return length > 0 ? [0] : [];
  }
}

/** The window anchored at position `a` (for 'video', see `videoWindows`). */
export function windowAt(a: number, o: SamplingOptions): Window {
  const { numFrames: n, interval: s } = o;
  const seq = (first: number, count: number, stride: number) => Array.from({ length: count }, (_, i) => first + i * stride);
  switch (o.sampling) {
    case 'n_c':
    case 'dvd_test':
      return { input: seq(a - Math.floor(n / 2) * s, n, s), gt: [a] };
    case 'n_l':
      return { input: seq(a, n, s), gt: [a] };
    case 'n_n': {
      const frames = seq(a, n, s);
      return { input: frames, gt: frames };
    }
    case 'n_r':
      return { input: seq(a - (n - 1) * s, n, s), gt: [a] };
    case 'strcnn':
      return { input: seq(a - 2, n, 1), gt: seq(a, n - 4, 1) };
    case 'video':
      throw new Error("windowAt: a 'video' window depends on the video's length (use videoWindows)");
  }
}

/** Every window of a video with `length` frames. */
export function videoWindows(length: number, options: Partial<SamplingOptions>): Window[] {
  const o = checkSampling(options);
  if (o.sampling === 'video') {
    const all = Array.from({ length }, (_, i) => i);
    return length > 0 ? [{ input: all, gt: all }] : [];
  }
  return anchorPositions(length, o).map((a) => windowAt(a, o));
}

/**
 * The samples of a list of videos, in video order then anchor order. `dvd_test` requires every
 * video to have at least 98 frames and says which one does not.
 */
export function sampleClips(videos: readonly VideoFrames[], options: Partial<SamplingOptions>): ClipRef[] {
  const o = checkSampling(options);
  const out: ClipRef[] = [];
  for (const v of videos) {
    if (o.sampling === 'dvd_test' && v.frames.length < DVD_TEST_MIN_FRAMES) {
      throw new Error(`sampling 'dvd_test' needs videos of at least ${DVD_TEST_MIN_FRAMES} frames; ${v.name} has ${v.frames.length}`);
    }
    const id = (p: number) => v.frames[p]!;
    for (const w of videoWindows(v.frames.length, o)) out.push({ video: v.name, input: w.input.map(id), gt: w.gt.map(id) });
  }
  return out;
}
