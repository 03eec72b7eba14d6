// TensorBoard event files written and read without TensorFlow, so logging works on every
// backend. Layout: a sequence of TFRecords, each
//   uint64 LE length | uint32 LE masked CRC32C(length bytes) | data | uint32 LE masked CRC32C(data)
// whose data is a serialized `tensorflow.Event` protobuf. Only the fields we use are encoded:
//   Event         { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5 }
//   Summary       { repeated Value value = 1 }
//   Summary.Value { string tag = 1; float simple_value = 2; Image image = 4 }
//   Summary.Image { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4 }
// The first record of a file carries file_version "brain.Event:2".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodePng, readPngHeader, type RawImage } from './png.ts';

// ---------------------------------------------------------------------------------------
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).

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

export interface RecordsResult {
  readonly records: Uint8Array[];
  /** True when the file ends in the middle of a record (a writer crashed mid-append). */
  readonly truncatedTail: boolean;
}

/** Split a TFRecord file into record payloads, verifying both CRCs of every record. */
export function readRecords(input: Uint8Array, source = '(buffer)'): RecordsResult {
  const bytes = plain(input);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) return { records, truncatedTail: true };
    if (view.getUint32(pos + 8, true) !== maskedCrc32c(bytes.subarray(pos, pos + 8))) {
      throw new Error(`TFRecord ${source}: length CRC mismatch in record ${records.length} at byte ${pos}`);
    }
    const length = view.getBigUint64(pos, true);
    if (length > BigInt(bytes.length - pos - 16)) return { records, truncatedTail: true };
    const n = Number(length);
    const data = bytes.subarray(pos + 12, pos + 12 + n);
    if (view.getUint32(pos + 12 + n, true) !== maskedCrc32c(data)) {
      throw new Error(`TFRecord ${source}: data CRC mismatch in record ${records.length} at byte ${pos}`);
    }
    records.push(data);
    pos += 16 + n;
  }
  return { records, truncatedTail: false };
}

/** A plain Uint8Array view of the same memory, so that slices of a Buffer compare as Uint8Arrays. */
function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------------------
// Protobuf wire format, just the pieces the messages above need.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

class ProtoWriter {
  private readonly parts: Uint8Array[] = [];

  private varint(value: bigint): void {
    // int64 negatives are sent as their 64-bit two's complement (10 bytes).
    let v = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v !== 0n);
    this.parts.push(Uint8Array.from(bytes));
  }

  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  int(field: number, value: number | bigint): this {
    this.key(field, WIRE_VARINT);
    this.varint(BigInt(value));
    return this;
  }

  double(field: number, value: number): this {
    this.key(field, WIRE_FIXED64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.parts.push(b);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.parts.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, WIRE_BYTES);
    this.varint(BigInt(value.length));
    this.parts.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  finish(): Uint8Array {
    return plain(Buffer.concat(this.parts));
  }
}

class ProtoReader {
  private pos = 0;
  private readonly view: DataView;

  private readonly buf: Uint8Array;

  constructor(
    input: Uint8Array,
    private readonly what: string,
  ) {
    this.buf = plain(input);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error(`${this.what}: truncated protobuf`);
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      this.need(1);
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new Error(`${this.what}: malformed varint`);
  }

  key(): { field: number; wire: number } {
    const k = Number(this.varint());
    return { field: k >>> 3, wire: k & 7 };
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  float(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  bytes(): Uint8Array {
    const n = Number(this.varint());
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  string(): string {
    return new TextDecoder('utf-8', { fatal: false }).decode(this.bytes());
  }

  /** Skip a field we do not decode (files from other writers carry more of them). */
  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_FIXED64) this.advance(8);
    else if (wire === WIRE_BYTES) this.bytes();
    else if (wire === WIRE_FIXED32) this.advance(4);
    else throw new Error(`${this.what}: unsupported wire type ${wire}`);
  }

  private advance(n: number): void {
    this.need(n);
    this.pos += n;
  }

  expect(wire: number, actual: number, field: string): void {
    if (wire !== actual) throw new Error(`${this.what}: field ${field} has wire type ${actual}, expected ${wire}`);
  }
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

function encodeImage(image: TbImage): Uint8Array {
  const w = new ProtoWriter();
  // proto3 leaves zero-valued scalars out.
  if (image.height !== 0) w.int(1, image.height);
  if (image.width !== 0) w.int(2, image.width);
  if (image.colorspace !== 0) w.int(3, image.colorspace);
  if (image.encodedImageString.length > 0) w.bytes(4, image.encodedImageString);
  return w.finish();
}

function encodeValue(value: TbValue): Uint8Array {
  const w = new ProtoWriter().string(1, value.tag);
  // simple_value and image are members of a oneof, so they are written even when zero.
  if (value.simpleValue !== undefined) w.float(2, value.simpleValue);
  if (value.image !== undefined) w.bytes(4, encodeImage(value.image));
  return w.finish();
}

export function encodeEvent(event: TbEvent): Uint8Array {
  const w = new ProtoWriter();
  if (event.wallTime !== 0) w.double(1, event.wallTime);
  if (event.step !== 0) w.int(2, BigInt(event.step));
  if (event.fileVersion !== undefined) w.string(3, event.fileVersion);
  if (event.summary !== undefined) {
    const s = new ProtoWriter();
    for (const v of event.summary) s.bytes(1, encodeValue(v));
    w.bytes(5, s.finish());
  }
  return w.finish();
}

function decodeImage(r: ProtoReader): TbImage {
  let height = 0;
  let width = 0;
  let colorspace = 0;
  let encodedImageString: Uint8Array = new Uint8Array(0);
  while (!r.done) {
    const { field, wire } = r.key();
    if (field === 1 && wire === WIRE_VARINT) height = Number(BigInt.asIntN(32, r.varint()));
    else if (field === 2 && wire === WIRE_VARINT) width = Number(BigInt.asIntN(32, r.varint()));
    else if (field === 3 && wire === WIRE_VARINT) colorspace = Number(BigInt.asIntN(32, r.varint()));
    else if (field === 4 && wire === WIRE_BYTES) encodedImageString = r.bytes();
    else r.skip(wire);
  }
  return { height, width, colorspace, encodedImageString };
}

function decodeValue(r: ProtoReader, what: string): TbValue {
  let tag = '';
  let simpleValue: number | undefined;
  let image: TbImage | undefined;
  while (!r.done) {
    const { field, wire } = r.key();
    if (field === 1) {
      r.expect(WIRE_BYTES, wire, 'Value.tag');
      tag = r.string();
    } else if (field === 2) {
      r.expect(WIRE_FIXED32, wire, 'Value.simple_value');
      simpleValue = r.float();
    } else if (field === 4) {
      r.expect(WIRE_BYTES, wire, 'Value.image');
      image = decodeImage(new ProtoReader(r.bytes(), what));
    } else {
      r.skip(wire);
    }
  }
  return { tag, ...(simpleValue !== undefined ? { simpleValue } : {}), ...(image !== undefined ? { image } : {}) };
}

/** Decode the Event fields listed in the header; other fields are skipped. */
export function decodeEvent(data: Uint8Array, what = 'Event'): TbEvent {
  const r = new ProtoReader(data, what);
  let wallTime = 0;
  let step = 0;
  let fileVersion: string | undefined;
  let summary: TbValue[] | undefined;
  while (!r.done) {
    const { field, wire } = r.key();
    if (field === 1) {
      r.expect(WIRE_FIXED64, wire, 'Event.wall_time');
      wallTime = r.double();
    } else if (field === 2) {
      r.expect(WIRE_VARINT, wire, 'Event.step');
      step = Number(BigInt.asIntN(64, r.varint()));
    } else if (field === 3) {
      r.expect(WIRE_BYTES, wire, 'Event.file_version');
      fileVersion = r.string();
    } else if (field === 5) {
      r.expect(WIRE_BYTES, wire, 'Event.summary');
      // Repeated message fields may in principle be split over several occurrences.
      summary ??= [];
      const s = new ProtoReader(r.bytes(), what);
      while (!s.done) {
        const k = s.key();
        if (k.field === 1 && k.wire === WIRE_BYTES) summary.push(decodeValue(new ProtoReader(s.bytes(), what), what));
        else s.skip(k.wire);
      }
    } else {
      r.skip(wire);
    }
  }
  return {
    wallTime,
    step,
    ...(fileVersion !== undefined ? { fileVersion } : {}),
    ...(summary !== undefined ? { summary } : {}),
  };
}

export interface ReadEventsOptions {
  /** Throw when the file ends inside a record instead of ignoring the torn tail (default false). */
  readonly strict?: boolean;
}

/** Parse an event file (ours or TensorFlow's), verifying both CRCs of every record. */
export function readEvents(file: string, options: ReadEventsOptions = {}): TbEvent[] {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`readEvents ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const { records, truncatedTail } = readRecords(bytes, file);
  if (truncatedTail && options.strict === true) throw new Error(`readEvents ${file}: file ends inside record ${records.length}`);
  return records.map((data, i) => decodeEvent(data, `readEvents ${file} record ${i}`));
}

/** Event files in `logDir` (not recursive), oldest name first. */
export function listEventFiles(logDir: string): string[] {
  return fs
    .readdirSync(logDir)
    .filter((name) => name.includes('tfevents'))
    .sort()
    .map((name) => path.join(logDir, name));
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

export type ImageInput = Uint8Array | RawImage | { readonly rgb: Uint8Array; readonly height: number; readonly width: number };

/**
 * Appends scalar and image summaries to a new event file in `logDir`. Records are buffered and
 * written with `flush()`, `close()`, and automatically by the thresholds in the options. Each
 * flush only appends whole records after the previous ones, so a crash loses at most the
 * unflushed tail; a failed write is truncated away so later records never follow a torn one.
 */
export class SummaryWriter {
  readonly file: string;
  private fd: number | undefined;
  private size = 0;
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
    const base = `events.out.tfevents.${String(Math.floor(start / 1000)).padStart(10, '0')}.${os.hostname()}`;
    try {
      fs.mkdirSync(logDir, { recursive: true });
    } catch (err) {
      throw new Error(`SummaryWriter ${logDir}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    // Two writers in one second on one host would collide; never append to someone else's file.
    let file = path.join(logDir, base);
    for (let k = 0; ; k++) {
      try {
        this.fd = fs.openSync(file, 'wx');
        break;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code !== 'EEXIST' || k > 1000) throw new Error(`SummaryWriter ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        file = path.join(logDir, `${base}.${process.pid}.${k}`);
      }
    }
    this.file = file;
    this.lastFlush = start;
    this.enqueue({ wallTime: start / 1000, step: 0, fileVersion: FILE_VERSION });
    this.flush();
  }

  scalar(tag: string, value: number, step: number): void {
    if (typeof value !== 'number') throw new Error(`SummaryWriter ${this.file}: scalar ${tag} must be a number, got ${typeof value}`);
    this.add(tag, step, { tag, simpleValue: value });
  }

  /**
   * An image summary from PNG bytes, a `RawImage`, or raw interleaved RGB bytes
   * `{ rgb, height, width }`.
   */
  image(tag: string, image: ImageInput, step: number): void {
    let png: Uint8Array;
    let header: { width: number; height: number; channels: number };
    if (image instanceof Uint8Array) {
      png = image;
      header = readPngHeader(image, `image summary ${tag}`);
    } else {
      const raw: RawImage = 'rgb' in image ? { data: image.rgb, height: image.height, width: image.width, channels: 3 } : image;
      png = encodePng(raw);
      header = raw;
    }
    this.add(tag, step, {
      tag,
      image: { height: header.height, width: header.width, colorspace: header.channels, encodedImageString: png },
    });
  }

  /** Write buffered records to the file (no fsync: surviving a process crash needs none). */
  flush(): void {
    const fd = this.openFd();
    this.lastFlush = this.now();
    if (this.pending.length === 0) return;
    const buf = Buffer.concat(this.pending);
    let written = 0;
    try {
      while (written < buf.length) written += fs.writeSync(fd, buf, written, buf.length - written, this.size + written);
    } catch (err) {
      // Drop a partial append so that the next flush starts at a record boundary.
      try {
        fs.ftruncateSync(fd, this.size);
      } catch {
        // the write error below is the one to report
      }
      throw new Error(`SummaryWriter ${this.file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.size += buf.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Flush, fsync and close. Further calls other than `close` throw. */
  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    const fd = this.fd;
    this.fd = undefined;
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  private openFd(): number {
    if (this.fd === undefined) throw new Error(`SummaryWriter ${this.file}: already closed`);
    return this.fd;
  }

  private add(tag: string, step: number, value: TbValue): void {
    this.openFd();
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
