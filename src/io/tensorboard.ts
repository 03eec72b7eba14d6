// TensorBoard event files written without TensorFlow, so logging works on every backend.
// Layout: a sequence of TFRecords, each
//   uint64 LE length | uint32 LE masked CRC32C(length bytes) | data | uint32 LE masked CRC32C(data)
// whose data is a serialized `tensorflow.Event` protobuf. Only the fields we use are encoded:
//   Event         { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5 }
//   Summary       { repeated Value value = 1 }
//   Summary.Value { string tag = 1; float simple_value = 2; Image image = 4 }
//   Summary.Image { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4 }
// The first record of a file carries file_version "brain.Event:2".
import os from 'node:os';
import path from 'node:path';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { AppendFile } from './append.ts';

// ---------------------------------------------------------------------------------------
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78); zlib.crc32 is the IEEE polynomial.

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(data: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant (so CRCs of CRCs stay useful). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** Frame one record: length, masked CRC of the length, data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + data.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

// ---------------------------------------------------------------------------------------

export const FILE_VERSION = 'brain.Event:2';

export interface TbImage {
  readonly height: number;
  readonly width: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (the channel count). */
  readonly colorspace: number;
  readonly encodedImageString: Uint8Array;
}

export interface TbValue {
  readonly tag: string;
  readonly simpleValue?: number;
  readonly image?: TbImage;
}

export interface TbEvent {
  /** Seconds since the Unix epoch. */
  readonly wallTime: number;
  readonly step: number;
  readonly fileVersion?: string;
  readonly summary?: readonly TbValue[];
}

export function encodeEvent(event: TbEvent): Uint8Array {
  const w = new BinaryWriter();
  // proto3 leaves zero-valued scalars out.
  if (event.wallTime !== 0) w.tag(1, WireType.Bit64).double(event.wallTime);
  if (event.step !== 0) w.tag(2, WireType.Varint).int64(event.step);
  if (event.fileVersion !== undefined) w.tag(3, WireType.LengthDelimited).string(event.fileVersion);
  if (event.summary !== undefined) {
    w.tag(5, WireType.LengthDelimited).fork();
    for (const value of event.summary) {
      w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(value.tag);
      // simple_value and image are members of a oneof, so they are written even when zero.
      // fround: a value beyond float32's range is stored as ±Infinity rather than rejected.
      if (value.simpleValue !== undefined) w.tag(2, WireType.Bit32).float(Math.fround(value.simpleValue));
      const image = value.image;
      if (image !== undefined) {
        w.tag(4, WireType.LengthDelimited).fork();
        if (image.height !== 0) w.tag(1, WireType.Varint).int32(image.height);
        if (image.width !== 0) w.tag(2, WireType.Varint).int32(image.width);
        if (image.colorspace !== 0) w.tag(3, WireType.Varint).int32(image.colorspace);
        if (image.encodedImageString.length > 0) w.tag(4, WireType.LengthDelimited).bytes(image.encodedImageString);
        w.join();
      }
      w.join();
    }
    w.join();
  }
  return w.finish();
}

// ---------------------------------------------------------------------------------------
// Image summaries carry PNG bytes; TensorBoard wants their size and channel count alongside.

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// The channel count each PNG colour type decodes to (palette → RGB).
const CHANNELS: Partial<Record<number, number>> = { 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 };

/** Size and channel count of PNG bytes, from the IHDR chunk that every PNG starts with. */
function pngHeader(png: Uint8Array): { width: number; height: number; channels: number } | string {
  if (!(png instanceof Uint8Array)) return 'not PNG bytes';
  const b = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (b.length < 33 || !b.subarray(0, 8).equals(PNG_SIGNATURE) || b.toString('latin1', 12, 16) !== 'IHDR') return 'not PNG bytes';
  const channels = CHANNELS[b[25]!];
  if (channels === undefined) return `invalid PNG color type ${b[25]}`;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), channels };
}

// ---------------------------------------------------------------------------------------

export interface SummaryWriterOptions {
  /** Flush after this many buffered records (default 10). */
  readonly flushEvery?: number;
  /** Flush once this many bytes are buffered (default 1 MiB; images are large). */
  readonly flushBytes?: number;
  /** Flush when a record is added this long after the last flush (default 10 s). */
  readonly flushSecs?: number;
  /** Clock in milliseconds since the epoch (default Date.now); used for wall_time and the file name. */
  readonly now?: () => number;
}

/**
 * Appends scalar and image summaries to a new event file in `logDir`. Records are buffered and
 * written with `flush()`, `close()`, and automatically by the thresholds in the options. Each
 * flush appends whole records in one write (`AppendFile`), so a crash loses at most the
 * unflushed tail; a failed write is cut off so later records never follow a torn one.
 */
export class SummaryWriter {
  readonly file: string;
  private readonly out: AppendFile;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private lastFlush: number;
  private readonly flushEvery: number;
  private readonly flushBytes: number;
  private readonly flushMs: number;
  private readonly now: () => number;

  constructor(
    readonly logDir: string,
    options: SummaryWriterOptions = {},
  ) {
    this.flushEvery = options.flushEvery ?? 10;
    this.flushBytes = options.flushBytes ?? 1 << 20;
    this.flushMs = (options.flushSecs ?? 10) * 1000;
    this.now = options.now ?? Date.now;
    const start = this.now();
    const base = path.join(logDir, `events.out.tfevents.${String(Math.floor(start / 1000)).padStart(10, '0')}.${os.hostname()}`);
    // Two writers in one second on one host would collide: the second takes a suffixed name.
    function* names(): Generator<string> {
      yield base;
      for (let k = 0; k <= 1000; k++) yield `${base}.${process.pid}.${k}`;
    }
    this.out = AppendFile.createNew(names(), 'SummaryWriter');
    this.file = this.out.path;
    this.lastFlush = start;
    this.enqueue({ wallTime: start / 1000, step: 0, fileVersion: FILE_VERSION });
    this.flush();
  }

  scalar(tag: string, value: number, step: number): void {
    if (typeof value !== 'number') throw new Error(`SummaryWriter ${this.file}: scalar ${tag} must be a number, got ${typeof value}`);
    this.add(tag, step, { tag, simpleValue: value });
  }

  /** An image summary from PNG bytes (encode raw pixels first, e.g. with sharp). */
  image(tag: string, png: Uint8Array, step: number): void {
    const header = pngHeader(png);
    if (typeof header === 'string') throw new Error(`SummaryWriter ${this.file}: image ${tag}: ${header}`);
    this.add(tag, step, {
      tag,
      image: { height: header.height, width: header.width, colorspace: header.channels, encodedImageString: png },
    });
  }

  /** Write buffered records to the file (no fsync: surviving a process crash needs none). */
  flush(): void {
    this.checkOpen();
    this.lastFlush = this.now();
    if (this.pending.length === 0) return;
    this.out.append(Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Flush, fsync and close. Further calls other than `close` throw. */
  close(): void {
    if (this.out.closed) return;
    this.flush();
    this.out.close();
  }

  private checkOpen(): void {
    if (this.out.closed) throw new Error(`SummaryWriter ${this.file}: already closed`);
  }

  private add(tag: string, step: number, value: TbValue): void {
    this.checkOpen();
    if (typeof tag !== 'string' || tag.length === 0) throw new Error(`SummaryWriter ${this.file}: tag must be a non-empty string`);
    if (!Number.isSafeInteger(step)) throw new Error(`SummaryWriter ${this.file}: step for ${tag} must be an integer, got ${step}`);
    this.enqueue({ wallTime: this.now() / 1000, step, summary: [value] });
    if (this.pending.length >= this.flushEvery || this.pendingBytes >= this.flushBytes || this.now() - this.lastFlush >= this.flushMs) {
      this.flush();
    }
  }

  private enqueue(event: TbEvent): void {
    const record = frameRecord(encodeEvent(event));
    this.pending.push(record);
    this.pendingBytes += record.length;
  }
}
