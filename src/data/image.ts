// Reading frames from disk: image headers (cheap, for the index) and decoding to float32 RGB
// in [0, 1], optionally only a rectangle of the frame. Gray becomes RGB, alpha is dropped,
// 16-bit images are divided by 65535 (not 255). Every failure is a DataError naming the file.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

/** A failure caused by the data on disk (as opposed to a bug or a bad option). */
export class DataError extends Error {
  constructor(
    message: string,
    /** The file or folder at fault. */
    readonly file: string,
  ) {
    super(message);
    this.name = 'DataError';
  }
}

/** File extensions read as frames (case-insensitive); other files in a frame folder are ignored. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.webp'];

export function isImageName(name: string): boolean {
  return !name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** File name without its last extension: the frame id. */
export function frameId(name: string): string {
  const ext = path.extname(name);
  return ext ? name.slice(0, -ext.length) : name;
}

export interface ImageHeader {
  readonly width: number;
  readonly height: number;
  /** Bits per sample: 8 or 16. */
  readonly bits: 8 | 16;
}

export interface Rect {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function isLink(p: string): Promise<boolean> {
  try {
    return (await fsp.lstat(p)).isSymbolicLink();
  } catch {
    return false;
  }
}

/** What a failed file-system call on `p` means: a loop, a dangling link, a missing file, or the system's message. */
async function fsReason(p: string, e: unknown): Promise<string> {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ELOOP':
      return 'symbolic link loop';
    case 'ENOENT':
      return (await isLink(p)) ? 'symbolic link to a missing target' : 'missing';
    default:
      return reason(e);
  }
}

/** As `fsReason`, said of a folder: `is a symbolic link loop`, `does not exist`, ... */
async function folderReason(dir: string, e: unknown): Promise<string> {
  const why = await fsReason(dir, e);
  if (why === 'missing') return 'does not exist';
  return why.startsWith('symbolic link') ? `is a ${why}` : `cannot be read (${why})`;
}

/**
 * Why `file` cannot be opened for reading, or undefined when it can. sharp says "Input file is
 * missing" for a link loop too, so the file system is asked.
 */
async function unopenable(file: string): Promise<string | undefined> {
  try {
    await fsp.access(file, fs.constants.R_OK);
    return undefined;
  } catch (e) {
    const why = await fsReason(file, e);
    return why === 'missing' ? 'file is missing' : why;
  }
}

/**
 * The first line of a decoder's message, or nothing when it has none to give. libvips keeps one
 * error buffer for all threads, so with decodes in parallel a message can be empty ("Unknown
 * error") or repeated.
 */
function decoderDetail(e: unknown): string | undefined {
  const line = reason(e).split('\n')[0]!.trim();
  return line === '' || line === 'Unknown error' ? undefined : line;
}

export interface DirEntry {
  readonly name: string;
  /** Why this entry, a link meant as a folder, cannot be listed: `is a symbolic link loop`, ... */
  readonly problem?: string;
}

/**
 * Sorted sub-folders of `dir`, following links (files and hidden entries are skipped). A link
 * that leads nowhere (a loop, a missing target) is listed with its problem rather than dropped,
 * so that a video does not vanish without a word.
 */
export async function listDirs(dir: string): Promise<DirEntry[]> {
  const out: DirEntry[] = [];
  for (const e of await readDir(dir)) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) out.push({ name: e.name });
    else if (e.isSymbolicLink()) {
      const full = path.join(dir, e.name);
      try {
        if ((await fsp.stat(full)).isDirectory()) out.push({ name: e.name });
      } catch (err) {
        out.push({ name: e.name, problem: await folderReason(full, err) });
      }
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Sorted image file names in `dir`. */
export async function listImages(dir: string): Promise<string[]> {
  const entries = await readDir(dir);
  return entries.filter((e) => (e.isFile() || e.isSymbolicLink()) && isImageName(e.name)).map((e) => e.name).sort();
}

async function readDir(dir: string) {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a folder' : `cannot be listed (${reason(e)})`;
    throw new DataError(`folder ${dir} ${what}`, dir);
  }
}

/** Whether `dir` exists and is a folder. */
export async function isDir(dir: string): Promise<boolean> {
  try {
    return (await fsp.stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** Why `dir` is not a usable folder (`does not exist`, `is a symbolic link loop`, ...), or undefined when it is one. */
export async function folderProblem(dir: string): Promise<string | undefined> {
  try {
    return (await fsp.stat(dir)).isDirectory() ? undefined : 'is not a folder';
  } catch (e) {
    return folderReason(dir, e);
  }
}

/** Width, height and bit depth, from the file header only. */
export async function readHeader(file: string): Promise<ImageHeader> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(file).metadata();
  } catch (e) {
    throw new DataError(`cannot read the image header of ${file}: ${(await unopenable(file)) ?? decoderDetail(e) ?? 'unreadable or unsupported image data'}`, file);
  }
  if (!meta.width || !meta.height) throw new DataError(`cannot read the image header of ${file}: no width/height`, file);
  const bits = meta.depth === 'ushort' || meta.depth === 'short' ? 16 : 8;
  if (meta.depth !== undefined && !['uchar', 'char', 'ushort', 'short'].includes(meta.depth)) {
    throw new DataError(`${file}: unsupported sample format ${meta.depth} (8- or 16-bit integer images only)`, file);
  }
  return { width: meta.width, height: meta.height, bits };
}

export interface DecodedImage {
  /** `[height, width, 3]` RGB in [0, 1]. */
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/**
 * Decodes `file` (or only `region` of it) to float32 RGB. `expect` is the header recorded in the
 * index: a file whose size changed since is an error rather than a silently wrong crop.
 */
export async function decodeImage(file: string, expect: ImageHeader, region?: Rect): Promise<DecodedImage> {
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    let img = sharp(file, { failOn: 'truncated' });
    const meta = await img.metadata();
    if (meta.width !== expect.width || meta.height !== expect.height) {
      throw new DataError(`${file} changed since it was indexed: it is ${meta.width}x${meta.height}, the index says ${expect.width}x${expect.height}`, file);
    }
    if (region) img = img.extract({ left: region.left, top: region.top, width: region.width, height: region.height });
    // 16-bit files keep their precision only in a 16-bit colourspace.
    raw = await (expect.bits === 16 ? img.toColourspace('rgb16').raw({ depth: 'ushort' }) : img.raw()).toBuffer({ resolveWithObject: true });
  } catch (e) {
    if (e instanceof DataError) throw e;
    const cantOpen = await unopenable(file);
    if (cantOpen !== undefined) throw new DataError(`cannot decode ${file}: ${cantOpen}`, file);
    const detail = decoderDetail(e);
    throw new DataError(`cannot decode ${file}: truncated or corrupt image data${detail ? ` (${detail})` : ''}`, file);
  }
  const { width, height, channels } = raw.info;
  const n = width * height;
  const wide = expect.bits === 16;
  const src =
    wide
      ? new Uint16Array(raw.data.buffer, raw.data.byteOffset, raw.data.length / 2)
      : new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length);
  if (src.length !== n * channels) throw new DataError(`cannot decode ${file}: got ${src.length} samples for ${width}x${height}x${channels}`, file);
  // Division (not a reciprocal product) so values equal float32(v) / 255 exactly.
  const max = wide ? 65535 : 255;
  const out = new Float32Array(n * 3);
  // Gray (+alpha) is replicated to RGB; RGBA drops alpha.
  const gray = channels < 3;
  for (let i = 0, o = 0, s = 0; i < n; i++, o += 3, s += channels) {
    if (gray) {
      out[o] = out[o + 1] = out[o + 2] = src[s]! / max;
    } else {
      out[o] = src[s]! / max;
      out[o + 1] = src[s + 1]! / max;
      out[o + 2] = src[s + 2]! / max;
    }
  }
  return { data: out, width, height };
}

/** The `region` of a decoded image, as `decodeImage(file, expect, region)` would give it. */
export function cropImage(img: DecodedImage, region: Rect): DecodedImage {
  const { top, left, height, width } = region;
  if (top < 0 || left < 0 || top + height > img.height || left + width > img.width) {
    throw new RangeError(`cropImage: region ${width}x${height} at (${left}, ${top}) is outside the ${img.width}x${img.height} image`);
  }
  const out = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * 3;
    out.set(img.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { data: out, width, height };
}

/**
 * Decoded frames kept in memory by file, for datasets small enough to hold (float32 RGB: 12
 * bytes a pixel). A failed decode is not kept, so it fails again (and is reported) next time.
 */
export class FrameCache {
  private readonly frames = new Map<string, Promise<DecodedImage>>();

  read(file: string, expect: ImageHeader, region?: Rect): Promise<DecodedImage> {
    let whole = this.frames.get(file);
    if (!whole) {
      whole = decodeImage(file, expect);
      this.frames.set(file, whole);
      whole.catch(() => this.frames.delete(file));
    }
    return region ? whole.then((img) => cropImage(img, region)) : whole;
  }
}
