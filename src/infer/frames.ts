// The inputs of inference on the user's own media: frame sources (an image file, a folder of
// frames, a video file) opened and checked before any work starts (sinks.ts writes the results).
//
// Frame names: an image's is its file name without the extension; a folder frame's likewise;
// a video's frames are `frame_000001`, `frame_000002`, ... (six digits or more, from 1).
import fsp from 'node:fs/promises';
import path from 'node:path';
import { DataError, decodeImage, frameId, IMAGE_EXTENSIONS, listImages, readHeader } from '../data/image.ts';
import type { ImageHeader } from '../data/image.ts';
import { decodeVideo, ffmpeg, FfmpegError, FfmpegNotFoundError, probeVideo } from '../io/video.ts';
import type { Ffmpeg } from '../io/video.ts';

/** One RGB frame, float HWC in [0, 1]. */
export interface Frame {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** `height * width * 3` values, row-major RGB. */
  readonly rgb: Float32Array;
}

/** An input to run a model on: one image, a folder of frames, or a video, decoded lazily. */
export interface FrameSource {
  readonly kind: 'image' | 'folder' | 'video';
  /** The path as given. */
  readonly path: string;
  /** Output base name: an image or video file's name without extension; a folder's base name. */
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** Number of frames (a video's is counted exactly by decoding it once at open). */
  readonly count: number;
  /** Videos: frame rate. */
  readonly fps?: number;
  /** Videos: the exact frame rate as ffmpeg takes it, e.g. `30000/1001`. */
  readonly fpsRational?: string;
  /** Videos: the ffmpeg that read it (and that its sink encodes with). */
  readonly ffmpeg?: Ffmpeg;
  /** Frames in order, decoded lazily one at a time (a video is streamed from ffmpeg, never held whole). */
  frames(): AsyncIterable<Frame>;
}

/** File extensions read as videos (case-insensitive), through ffmpeg. */
export const VIDEO_EXTENSIONS: readonly string[] = ['.mp4', '.m4v', '.mov', '.avi', '.mkv', '.webm', '.mpg', '.mpeg', '.wmv', '.flv', '.mts', '.m2ts', '.3gp', '.ogv'];

/**
 * Natural order of names: runs of digits compare by value (frame2 < frame10), everything else
 * by code point; names equal that way (frame01, frame1) fall back to plain code point order, so
 * the order is total and does not depend on the locale.
 */
export function naturalCompare(a: string, b: string): number {
  const digit = (c: number) => c >= 48 && c <= 57;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (digit(ca) && digit(cb)) {
      let ie = i;
      let je = j;
      while (ie < a.length && digit(a.charCodeAt(ie))) ie++;
      while (je < b.length && digit(b.charCodeAt(je))) je++;
      // Leading zeros dropped, a longer run is a larger number; equal lengths compare as text.
      const x = a.slice(i, ie).replace(/^0+/, '');
      const y = b.slice(j, je).replace(/^0+/, '');
      if (x.length !== y.length) return x.length - y.length;
      if (x !== y) return x < y ? -1 : 1;
      i = ie;
      j = je;
    } else {
      if (ca !== cb) return ca - cb;
      i++;
      j++;
    }
  }
  const rest = a.length - i - (b.length - j);
  if (rest !== 0) return rest;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A video frame's name: `frame_000001` for the first. */
export function videoFrameName(index: number): string {
  return `frame_${String(index + 1).padStart(6, '0')}`;
}

function toFrame(name: string, img: { data: Float32Array; width: number; height: number }): Frame {
  return { name, width: img.width, height: img.height, rgb: img.data };
}

/** 8-bit RGB of a frame: clamped to [0, 1], rounded; NaN becomes 0. */
export function toRgb8(frame: Frame): Uint8Array {
  const { rgb, width, height } = frame;
  if (rgb.length !== width * height * 3) throw new RangeError(`frame ${frame.name}: ${rgb.length} values for ${width}x${height}x3`);
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) {
    const v = rgb[i]!;
    out[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
  }
  return out;
}

function fromRgb8(name: string, bytes: Uint8Array, width: number, height: number): Frame {
  const rgb = new Float32Array(bytes.length);
  // Division (not a reciprocal product), as image files are decoded.
  for (let i = 0; i < bytes.length; i++) rgb[i] = bytes[i]! / 255;
  return { name, width, height, rgb };
}

function openImage(file: string, header: ImageHeader): FrameSource {
  const name = frameId(path.basename(file));
  return {
    kind: 'image',
    path: file,
    name,
    width: header.width,
    height: header.height,
    count: 1,
    async *frames() {
      yield toFrame(name, await decodeImage(file, header));
    },
  };
}

async function openFolder(dir: string): Promise<FrameSource> {
  const files = (await listImages(dir)).sort(naturalCompare);
  if (files.length === 0) throw new DataError(`folder ${dir} has no images (${IMAGE_EXTENSIONS.join(', ')})`, dir);
  const byId = new Map<string, string>();
  for (const f of files) {
    const id = frameId(f);
    const other = byId.get(id);
    if (other !== undefined) throw new DataError(`folder ${dir}: ${other} and ${f} would both be written as ${id}.png`, path.join(dir, f));
    byId.set(id, f);
  }
  // Headers only; a few at a time keeps a large folder quick without opening every file at once.
  const headers: ImageHeader[] = [];
  for (let i = 0; i < files.length; i += 16) {
    headers.push(...(await Promise.all(files.slice(i, i + 16).map((f) => readHeader(path.join(dir, f))))));
  }
  const first = headers[0]!;
  headers.forEach((h, i) => {
    if (h.width !== first.width || h.height !== first.height) {
      const file = path.join(dir, files[i]!);
      throw new DataError(`${file} is ${h.width}x${h.height}, but the folder's first frame ${files[0]} is ${first.width}x${first.height}: all frames of a folder must have one size`, file);
    }
  });
  return {
    kind: 'folder',
    path: dir,
    name: path.basename(path.resolve(dir)),
    width: first.width,
    height: first.height,
    count: files.length,
    async *frames() {
      for (let i = 0; i < files.length; i++) yield toFrame(frameId(files[i]!), await decodeImage(path.join(dir, files[i]!), headers[i]!));
    },
  };
}

async function openVideo(file: string, ff: Ffmpeg): Promise<FrameSource> {
  let info;
  try {
    info = await probeVideo(ff, file);
  } catch (e) {
    if (e instanceof FfmpegError) throw new DataError(e.message, file);
    throw e;
  }
  if (info.frames === 0) throw new DataError(`video ${file} has no frames`, file);
  const { width, height, frames: count } = info;
  return {
    kind: 'video',
    path: file,
    name: frameId(path.basename(file)),
    width,
    height,
    count,
    fps: info.fps,
    fpsRational: info.fpsRational,
    ffmpeg: ff,
    async *frames() {
      let i = 0;
      for await (const bytes of decodeVideo(ff, file, info)) {
        if (i === count) throw new DataError(`video ${file} changed since it was opened: it now has more than ${count} frames`, file);
        yield fromRgb8(videoFrameName(i++), bytes, width, height);
      }
      if (i !== count) throw new DataError(`video ${file} changed since it was opened: it now has ${i} frames, not ${count}`, file);
    },
  };
}

/** Several inputs failed to open; `errors` holds one error per problem, each naming its file. */
export class InputsError extends AggregateError {
  constructor(errors: readonly Error[]) {
    super(errors, `${errors.length} inputs cannot be used:\n${errors.map((e) => `  - ${e.message.split('\n').join('\n    ')}`).join('\n')}`);
    this.name = 'InputsError';
  }
}

type Kind = 'image' | 'folder' | 'video' | { readonly unsupported: string };

async function kindOf(p: string): Promise<Kind> {
  let st;
  try {
    st = await fsp.stat(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(code === 'ENOENT' ? `${p} does not exist` : `${p} cannot be read (${(e as Error).message})`, p);
  }
  if (st.isDirectory()) return 'folder';
  const ext = path.extname(p).toLowerCase();
  if (IMAGE_EXTENSIONS.includes(ext)) return 'image';
  if (VIDEO_EXTENSIONS.includes(ext)) return 'video';
  return { unsupported: ext };
}

/**
 * Validates and opens every input before any work starts: existence, kind by extension,
 * readable image headers, folder frames in natural order (frame2 < frame10) and all of one size,
 * no empty folder, no video without frames (counted by decoding), no unsupported extension. All
 * problems are reported together (`InputsError`), or the one problem's own error; each names its
 * file. ffmpeg is looked for only when there is a video.
 */
export async function openInputs(paths: readonly string[]): Promise<FrameSource[]> {
  const kinds = await Promise.all(paths.map((p) => kindOf(p).catch((e: unknown) => e as Error)));
  const videos = paths.filter((_, i) => kinds[i] === 'video');
  let ff: Ffmpeg | Error | undefined;
  if (videos.length > 0) ff = await ffmpeg().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  const errors: Error[] = [];
  if (ff instanceof Error) errors.push(ff instanceof FfmpegNotFoundError ? new FfmpegNotFoundError(`${videos.join(', ')}: ${ff.message}`) : ff);
  const sources: FrameSource[] = [];
  for (let i = 0; i < paths.length; i++) {
    const p = paths[i]!;
    const kind = kinds[i]!;
    try {
      if (kind instanceof Error) throw kind;
      if (typeof kind === 'object') {
        const what = kind.unsupported === '' ? 'has no extension' : `has an unsupported extension (${kind.unsupported})`;
        throw new DataError(`${p} ${what}: images ${IMAGE_EXTENSIONS.join(' ')}, videos ${VIDEO_EXTENSIONS.join(' ')}, or a folder of images`, p);
      }
      if (kind === 'image') sources.push(openImage(p, await readHeader(p)));
      else if (kind === 'folder') sources.push(await openFolder(p));
      else if (ff !== undefined && !(ff instanceof Error)) sources.push(await openVideo(p, ff));
    } catch (e) {
      errors.push(e instanceof Error ? e : new Error(String(e)));
    }
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new InputsError(errors);
  return sources;
}
