// Reading TensorBoard event files back (ours or TensorFlow's), to check what the writer in
// src/io/tensorboard.ts produced. Decodes the Event fields listed there; others are skipped.
import fs from 'node:fs';
import path from 'node:path';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { maskedCrc32c, type TbEvent, type TbImage, type TbValue } from '../../src/io/tensorboard.ts';

export interface RecordsResult {
  readonly records: Uint8Array[];
  /** True when the file ends in the middle of a record (a writer crashed mid-append). */
  readonly truncatedTail: boolean;
}

/** A plain Uint8Array view of the same memory, so that slices of a Buffer compare as Uint8Arrays. */
function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

/**
 * Calls `read` for every field of the message in `bytes` whose number is in `wires`, after
 * checking its wire type; other fields are skipped.
 */
function eachField(bytes: Uint8Array, what: string, wires: Readonly<Record<number, [WireType, string]>>, read: (field: number, r: BinaryReader) => void): void {
  const r = new BinaryReader(plain(bytes));
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    const known = wires[field];
    if (known === undefined) {
      r.skip(wire, field);
      continue;
    }
    if (known[0] !== wire) throw new Error(`${what}: field ${known[1]} has wire type ${wire}, expected ${known[0]}`);
    read(field, r);
  }
}

function decodeImage(bytes: Uint8Array, what: string): TbImage {
  const image: { -readonly [K in keyof TbImage]: TbImage[K] } = { height: 0, width: 0, colorspace: 0, encodedImageString: new Uint8Array(0) };
  const V = WireType.Varint;
  eachField(bytes, what, { 1: [V, 'Image.height'], 2: [V, 'Image.width'], 3: [V, 'Image.colorspace'], 4: [WireType.LengthDelimited, 'Image.encoded_image_string'] }, (f, r) => {
    if (f === 1) image.height = r.int32();
    else if (f === 2) image.width = r.int32();
    else if (f === 3) image.colorspace = r.int32();
    else image.encodedImageString = r.bytes();
  });
  return image;
}

function decodeValue(bytes: Uint8Array, what: string): TbValue {
  let tag = '';
  let simpleValue: number | undefined;
  let image: TbImage | undefined;
  const LD = WireType.LengthDelimited;
  eachField(bytes, what, { 1: [LD, 'Value.tag'], 2: [WireType.Bit32, 'Value.simple_value'], 4: [LD, 'Value.image'] }, (f, r) => {
    if (f === 1) tag = r.string();
    else if (f === 2) simpleValue = r.float();
    else image = decodeImage(r.bytes(), what);
  });
  return { tag, ...(simpleValue !== undefined ? { simpleValue } : {}), ...(image !== undefined ? { image } : {}) };
}

/** Decode the Event fields listed in src/io/tensorboard.ts; other fields are skipped. */
export function decodeEvent(data: Uint8Array, what = 'Event'): TbEvent {
  let wallTime = 0;
  let step = 0;
  let fileVersion: string | undefined;
  let summary: TbValue[] | undefined;
  const LD = WireType.LengthDelimited;
  try {
    eachField(data, what, { 1: [WireType.Bit64, 'Event.wall_time'], 2: [WireType.Varint, 'Event.step'], 3: [LD, 'Event.file_version'], 5: [LD, 'Event.summary'] }, (f, r) => {
      if (f === 1) wallTime = r.double();
      else if (f === 2) step = Number(r.int64());
      else if (f === 3) fileVersion = r.string();
      else {
        // Repeated message fields may in principle be split over several occurrences.
        const values = (summary ??= []);
        eachField(r.bytes(), what, { 1: [LD, 'Summary.value'] }, (_, s) => void values.push(decodeValue(s.bytes(), what)));
      }
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(msg.startsWith(what) ? msg : `${what}: ${msg}`, { cause: err });
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
