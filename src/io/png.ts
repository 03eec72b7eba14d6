// Small PNG encoder/decoder for 8-bit gray, gray+alpha, RGB and RGBA images (no palette, no
// interlacing, no 16-bit). Enough for TensorBoard image summaries, side-by-side result images
// and test fixtures; the data loader uses a full image library.
import fs from 'node:fs';
import zlib from 'node:zlib';
import type { Tensor } from '../runtime/index.ts';
import { writeFileAtomic } from './atomic.ts';

export type Channels = 1 | 2 | 3 | 4;

/** Interleaved 8-bit pixels, row-major, `data.length === height * width * channels`. */
export interface RawImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: Channels;
}

export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly channels: Channels;
}

/** PNG row filters: 0 none, 1 sub, 2 up, 3 average, 4 Paeth. */
export type PngFilter = 0 | 1 | 2 | 3 | 4;

export interface EncodeOptions {
  /** Row filter; 'adaptive' picks per row the filter with the smallest sum of |residuals|. */
  readonly filter?: PngFilter | 'adaptive';
  /** zlib level 0-9 (default 6). */
  readonly level?: number;
}

// ---------------------------------------------------------------------------------------
// CRC-32 (ISO 3309, reflected polynomial 0xEDB88320), as used by PNG chunks and gzip.

const CRC32_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of `data`; pass a previous result as `crc` to continue over several pieces. */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC32_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const COLOR_TYPE_BY_CHANNELS: Record<Channels, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };
const CHANNELS_BY_COLOR_TYPE: Partial<Record<number, Channels>> = { 0: 1, 4: 2, 2: 3, 6: 4 };
// The PNG spec caps dimensions at 2^31-1; we stay far lower so buffers fit in memory.
const MAX_PIXELS = 1 << 28;

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/** Residual of byte `i` of `row` under `filter`; `prev` is the previous raw row (zeros for row 0). */
function predict(filter: PngFilter, row: Uint8Array, prev: Uint8Array, i: number, bpp: number): number {
  const a = i >= bpp ? row[i - bpp]! : 0;
  const b = prev[i]!;
  switch (filter) {
    case 0:
      return 0;
    case 1:
      return a;
    case 2:
      return b;
    case 3:
      return (a + b) >>> 1;
    case 4:
      return paeth(a, b, i >= bpp ? prev[i - bpp]! : 0);
  }
}

function filterRow(filter: PngFilter, row: Uint8Array, prev: Uint8Array, bpp: number, out: Uint8Array, outOffset: number): void {
  out[outOffset] = filter;
  for (let i = 0; i < row.length; i++) out[outOffset + 1 + i] = (row[i]! - predict(filter, row, prev, i, bpp)) & 0xff;
}

function checkImage(image: RawImage): void {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width * height > MAX_PIXELS) {
    throw new Error(`encodePng: bad size ${width}x${height}`);
  }
  if (!(channels in COLOR_TYPE_BY_CHANNELS)) throw new Error(`encodePng: channels must be 1, 2, 3 or 4, got ${channels}`);
  if (data.length !== width * height * channels) {
    throw new Error(`encodePng: ${width}x${height}x${channels} needs ${width * height * channels} bytes, got ${data.length}`);
  }
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

export function encodePng(image: RawImage, options: EncodeOptions = {}): Uint8Array {
  checkImage(image);
  const { width, height, channels, data } = image;
  const filter = options.filter ?? 'adaptive';
  const stride = width * channels;
  const filtered = new Uint8Array(height * (stride + 1));
  const candidate = new Uint8Array(stride + 1);
  let prev: Uint8Array = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = data.subarray(y * stride, (y + 1) * stride);
    const offset = y * (stride + 1);
    if (filter !== 'adaptive') {
      filterRow(filter, row, prev, channels, filtered, offset);
    } else {
      let best = Infinity;
      for (const f of [0, 1, 2, 3, 4] as const) {
        filterRow(f, row, prev, channels, candidate, 0);
        // Residuals read as signed bytes: small magnitudes compress best.
        let cost = 0;
        for (let i = 1; i < candidate.length; i++) cost += candidate[i]! < 128 ? candidate[i]! : 256 - candidate[i]!;
        if (cost < best) {
          best = cost;
          filtered.set(candidate, offset);
        }
      }
    }
    prev = row;
  }

  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = COLOR_TYPE_BY_CHANNELS[channels];
  // bytes 10-12: compression 0 (deflate), filter method 0, interlace 0 (none)
  const idat = zlib.deflateSync(filtered, { level: options.level ?? 6 });
  const parts = [SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------

interface Chunk {
  readonly type: string;
  readonly body: Uint8Array;
}

function* chunks(bytes: Uint8Array, fail: (msg: string) => never): Generator<Chunk> {
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((b, i) => bytes[i] !== b)) fail('not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = SIGNATURE.length;
  for (;;) {
    if (pos + 12 > bytes.length) fail('truncated (missing IEND chunk)');
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) fail(`corrupt chunk header at byte ${pos}`);
    if (pos + 12 + length > bytes.length) fail(`truncated ${type} chunk at byte ${pos}`);
    const expected = view.getUint32(pos + 8 + length);
    if (crc32(bytes.subarray(pos + 4, pos + 8 + length)) !== expected) fail(`CRC mismatch in ${type} chunk at byte ${pos}`);
    yield { type, body: bytes.subarray(pos + 8, pos + 8 + length) };
    if (type === 'IEND') return;
    pos += 12 + length;
  }
}

function parseHeader(body: Uint8Array, fail: (msg: string) => never): PngHeader {
  if (body.length !== 13) fail('IHDR chunk has the wrong length');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const width = view.getUint32(0);
  const height = view.getUint32(4);
  const [depth, colorType, compression, filterMethod, interlace] = body.subarray(8);
  if (width < 1 || height < 1) fail(`bad size ${width}x${height}`);
  if (width * height > MAX_PIXELS) fail(`image too large (${width}x${height})`);
  if (colorType === 3) fail('palette images are not supported');
  const channels = CHANNELS_BY_COLOR_TYPE[colorType!];
  if (channels === undefined) fail(`invalid color type ${colorType}`);
  if (depth !== 8) fail(`bit depth ${depth} is not supported (only 8)`);
  if (compression !== 0 || filterMethod !== 0) fail('unknown compression or filter method');
  if (interlace !== 0) fail('interlaced images are not supported');
  return { width, height, channels };
}

type Fail = (msg: string) => never;

function failer(source: string | undefined): Fail {
  return (msg) => {
    throw new Error(`PNG ${source ?? '(buffer)'}: ${msg}`);
  };
}

/** Size and channel count from the IHDR chunk, without decompressing. */
export function readPngHeader(bytes: Uint8Array, source?: string): PngHeader {
  const fail: Fail = failer(source);
  const first = chunks(bytes, fail).next();
  if (first.done === true || first.value.type !== 'IHDR') fail('first chunk is not IHDR');
  return parseHeader(first.value.body, fail);
}

/** Decode an 8-bit non-interlaced gray/gray+alpha/RGB/RGBA PNG. `source` names it in errors. */
export function decodePng(bytes: Uint8Array, source?: string): RawImage {
  const fail: Fail = failer(source);
  let header: PngHeader | undefined;
  const idat: Uint8Array[] = [];
  let sawEnd = false;
  for (const { type, body } of chunks(bytes, fail)) {
    if (header === undefined) {
      if (type !== 'IHDR') fail('first chunk is not IHDR');
      header = parseHeader(body, fail);
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      sawEnd = true;
    } else if (type !== 'PLTE' && (type.charCodeAt(0) & 0x20) === 0) {
      // Uppercase first letter = critical chunk we would have to understand. A PLTE in a
      // truecolor image is only a suggested palette and can be ignored.
      fail(`unsupported critical chunk ${type}`);
    }
  }
  if (header === undefined || !sawEnd) fail('truncated');
  if (idat.length === 0) fail('no image data (IDAT)');
  const { width, height, channels } = header;
  const stride = width * channels;
  const expected = height * (stride + 1);
  let raw: Uint8Array;
  try {
    raw = zlib.inflateSync(Buffer.concat(idat), { maxOutputLength: expected + 1 });
  } catch (err) {
    fail(`corrupt image data: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (raw.length !== expected) fail(`image data has ${raw.length} bytes, expected ${expected}`);

  const data = new Uint8Array(height * stride);
  let prev: Uint8Array = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    if (filter > 4) fail(`invalid filter type ${filter} in row ${y}`);
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = data.subarray(y * stride, (y + 1) * stride);
    // Reconstruct left to right: predict() reads already reconstructed bytes of `row`.
    for (let i = 0; i < stride; i++) row[i] = (src[i]! + predict(filter as PngFilter, row, prev, i, channels)) & 0xff;
    prev = row;
  }
  return { data, width, height, channels };
}

export function readPng(file: string): RawImage {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`PNG ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return decodePng(bytes, file);
}

/** Encode and write atomically (a crash never leaves a half-written image). */
export async function writePng(file: string, image: RawImage, options?: EncodeOptions): Promise<void> {
  await writeFileAtomic(file, encodePng(image, options));
}

// ---------------------------------------------------------------------------------------

/**
 * Quantise a float image in [0, 1] (`[H, W, C]` or `[1, H, W, C]`, C in 1..4) to 8 bits:
 * clip, scale by 255, round (half to even, as TensorFlow does); NaN becomes 0. The tensor is
 * not disposed. TensorFlow is loaded on first use so that PNG and TensorBoard code stays
 * usable without it.
 */
export async function tensorToImage(image: Tensor): Promise<RawImage> {
  const shape = image.shape;
  const hwc = shape.length === 4 && shape[0] === 1 ? shape.slice(1) : shape;
  const [height, width, channels] = hwc;
  if (hwc.length !== 3 || height === undefined || width === undefined || !(channels === 1 || channels === 2 || channels === 3 || channels === 4)) {
    throw new Error(`tensorToImage: expected [H, W, C] or [1, H, W, C] with C in 1..4, got [${shape.join(', ')}]`);
  }
  const { tf } = await import('../runtime/index.ts');
  const quantised = tf.tidy(() => {
    const x = image.toFloat();
    const clean = tf.where(tf.isNaN(x), tf.zerosLike(x), x);
    return tf.round(tf.mul(tf.clipByValue(clean, 0, 1), 255)).toInt();
  });
  let values: Int32Array;
  try {
    values = (await quantised.data()) as Int32Array;
  } finally {
    quantised.dispose();
  }
  return { data: Uint8Array.from(values), width, height, channels };
}

/** PNG bytes of a float image in [0, 1]; see `tensorToImage`. */
export async function imageToPng(image: Tensor, options?: EncodeOptions): Promise<Uint8Array> {
  return encodePng(await tensorToImage(image), options);
}
