// Tiny on-disk datasets in the published layouts. Every pixel says where it came from:
// R = 4·frame + kind (0 sharp, 2 blur, 3 blur_gamma), G = 16·y + x, B = 100 + frame, so a test
// can tell from a decoded sample which file, frame and position each value was read from.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';

export const W = 16;
export const H = 12;

export type Kind = 'sharp' | 'blur' | 'gamma';
const KIND_CODE: Record<Kind, number> = { sharp: 0, blur: 2, gamma: 3 };

export function framePixels(frame: number, kind: Kind, w = W, h = H): Buffer {
  const buf = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      buf[o] = 4 * frame + KIND_CODE[kind];
      buf[o + 1] = 16 * y + x;
      buf[o + 2] = 100 + frame;
    }
  }
  return buf;
}

export async function writePng(file: string, frame: number, kind: Kind, w = W, h = H): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await sharp(framePixels(frame, kind, w, h), { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

export async function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `simdeblur-${prefix}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** `root/<seq>/{sharp,blur,blur_gamma}/<6 digits>.png`, numbered from `start`. */
export async function writeGopro(root: string, seqs: Record<string, number>, start = 47): Promise<void> {
  for (const [seq, count] of Object.entries(seqs)) {
    for (let i = 0; i < count; i++) {
      const name = `${pad(start + i, 6)}.png`;
      await writePng(path.join(root, seq, 'sharp', name), i, 'sharp');
      await writePng(path.join(root, seq, 'blur', name), i, 'blur');
      await writePng(path.join(root, seq, 'blur_gamma', name), i, 'gamma');
    }
  }
}

/** `root/<video>/{GT,input}/<5 digits>.jpg`: flat colours (JPEG is lossy), R = 2·frame, G = 200 blur / 50 sharp. */
export async function writeDvd(root: string, videos: Record<string, number>, w = 8, h = 8): Promise<void> {
  for (const [video, count] of Object.entries(videos)) {
    for (let i = 0; i < count; i++) {
      for (const [sub, g] of [['GT', 50], ['input', 200]] as const) {
        const file = path.join(root, video, sub, `${pad(i, 5)}.jpg`);
        await fsp.mkdir(path.dirname(file), { recursive: true });
        await sharp({ create: { width: w, height: h, channels: 3, background: { r: 2 * i, g, b: 128 } } })
          .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
          .toFile(file);
      }
    }
  }
}

/** `rootGt/<video>/<8 digits>.png` and `rootInput/<video>/<8 digits>.png`. */
export async function writeReds(rootGt: string, rootInput: string, videos: Record<string, number>): Promise<void> {
  for (const [video, count] of Object.entries(videos)) {
    for (let i = 0; i < count; i++) {
      const name = `${pad(i, 8)}.png`;
      await writePng(path.join(rootGt, video, name), i, 'sharp');
      await writePng(path.join(rootInput, video, name), i, 'blur');
    }
  }
}

/** `root/<video>/{Sharp,Blur}/RGB/<5 digits>.png`. */
export async function writeBsd(root: string, videos: Record<string, number>): Promise<void> {
  for (const [video, count] of Object.entries(videos)) {
    for (let i = 0; i < count; i++) {
      const name = `${pad(i, 5)}.png`;
      await writePng(path.join(root, video, 'Sharp', 'RGB', name), i, 'sharp');
      await writePng(path.join(root, video, 'Blur', 'RGB', name), i, 'blur');
    }
  }
}

/** `dir/<5 digits>.png`, blurry frames only. */
export async function writeFolder(dir: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await writePng(path.join(dir, `${pad(i, 5)}.png`), i, 'blur');
}

export interface PixelSource {
  readonly frame: number;
  readonly kind: Kind;
  readonly y: number;
  readonly x: number;
}

/** Where pixel (t, y, x) of a `[T, H, W, 3]` clip came from. */
export function sourceAt(data: Float32Array, shape: readonly number[], t: number, y: number, x: number): PixelSource {
  const [, h, w] = shape as [number, number, number, number];
  const o = ((t * h + y) * w + x) * 3;
  const r = Math.round(data[o]! * 255);
  const g = Math.round(data[o + 1]! * 255);
  const kind = (['sharp', undefined, 'blur', 'gamma'] as const)[r % 4];
  if (kind === undefined) throw new Error(`pixel (${t}, ${y}, ${x}) has R=${r}, not a test frame`);
  return { frame: Math.floor(r / 4), kind, y: Math.floor(g / 16), x: g % 16 };
}

/** Frame numbers of every frame of a clip (read at pixel (0, 0)). */
export function clipFrames(data: Float32Array, shape: readonly number[]): number[] {
  return Array.from({ length: shape[0]! }, (_, t) => sourceAt(data, shape, t, 0, 0).frame);
}

/** A 16-bit RGB PNG (sharp cannot write one from raw 16-bit data here), `values` row-major RGB. */
export async function writePng16(file: string, width: number, height: number, values: ArrayLike<number>): Promise<void> {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(zlib.crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 16; // bit depth
  ihdr[9] = 2; // RGB
  const rows = Buffer.alloc(height * (1 + width * 6));
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width * 3; i++) rows.writeUInt16BE(values[y * width * 3 + i]!, y * (1 + width * 6) + 1 + i * 2);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]));
}
