// The safetensors format: 8-byte little-endian header length, a JSON header mapping each tensor
// name to {dtype, shape, data_offsets} (plus an optional string-to-string `__metadata__`), then
// the raw little-endian data. The core of this module works on plain typed arrays so that it
// can be used without TensorFlow; `toTensor`/`fromTensor` bridge to tf at the edge.
//
// Also here: conversion between PyTorch's parameter layouts and ours (NHWC convolutions), so
// that a PyTorch state_dict exported to safetensors loads by name.
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';

/** Element types of the format that this module understands. */
export type SafeDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8' | 'BOOL';

/**
 * A tensor as plain data, row-major. Floating-point types are read as float32, integer and
 * boolean types as int32. `dtype` is the type in the file (when read) or the type to write
 * (default: F32 for a Float32Array, I32 for an Int32Array).
 */
export interface RawTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
  readonly dtype?: SafeDType;
}

/**
 * The contents of a safetensors file: its tensors by name and the string metadata of its header
 * (`__metadata__`).
 */
export interface SafetensorsContents {
  readonly tensors: Record<string, RawTensor>;
  readonly metadata: Record<string, string>;
}

const BYTES: Record<SafeDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 };
const WRITABLE: ReadonlySet<SafeDType> = new Set<SafeDType>(['F32', 'F64', 'I64', 'I32', 'U8', 'BOOL']);
// The reference implementation refuses headers above 100 MB; so do we (guards against garbage).
const MAX_HEADER = 100_000_000;
// Probed rather than asked of node:os, so that the parser also runs in a browser (the web page).
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isDType(s: unknown): s is SafeDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(BYTES, s);
}

export function numElements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ------------------------------------------------------------------------------------------
// Reading

/** The value of an IEEE 754 half-precision (float16) bit pattern. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decode(view: DataView, dtype: SafeDType, n: number, where: string): Float32Array | Int32Array {
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(n);
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(new Uint8Array(view.buffer, view.byteOffset, n * 4));
      else for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) throw new Error(`${where}: I64 value ${v} at index ${i} does not fit in int32`);
        out[i] = Number(v);
      }
      return out;
    }
    case 'I32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case 'U8':
    case 'BOOL': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint8(i);
      return out;
    }
  }
}

/**
 * A table keyed by tensor name, without a prototype: every name (`constructor`, `__proto__`) is an
 * own key like any other, never an inherited property, and assigning one never sets the prototype.
 */
export function tensorTable<T>(entries: Iterable<readonly [string, T]> = []): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  for (const [k, v] of entries) out[k] = v;
  return out;
}

// Assigning this name to an ordinary object replaces its prototype instead of adding a key, so
// a tensor of this name would vanish (or worse) in code that keys plain objects by name.
const UNUSABLE_NAME = '__proto__';

interface HeaderEntry {
  readonly name: string;
  readonly dtype: SafeDType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

interface Header {
  readonly entries: readonly HeaderEntry[];
  readonly metadata: Record<string, string>;
}

/** The header length from the first 8 bytes, checked against the file's size. */
function headerLength(first8: Uint8Array, total: number, source: string): number {
  const len = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (len > BigInt(Math.min(MAX_HEADER, total - 8))) {
    throw new Error(`${source}: bad header length ${len} (file has ${total - 8} bytes after the length field)`);
  }
  return Number(len);
}

/**
 * Parses and checks the JSON header: each tensor's dtype, shape and data_offsets, and that the
 * tensors tile the data section of `dataLen` bytes exactly, as the reference implementation
 * requires (no overlap, no unreferenced bytes between or after them).
 */
function parseHeader(headerBytes: Uint8Array, dataLen: number, source: string): Header {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new Error(`${source}: header is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new Error(`${source}: header must be a JSON object`);
  }
  const entries: HeaderEntry[] = [];
  const metadata: Array<[string, string]> = [];
  // JSON.parse makes '__proto__' an own key, so Object.entries lists it.
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${source}: __metadata__ must be an object`);
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new Error(`${source}: __metadata__.${k} must be a string, got ${typeof v}`);
        metadata.push([k, v]);
      }
      continue;
    }
    const where = `${source}: tensor '${name}'`;
    if (name === UNUSABLE_NAME) throw new Error(`${where}: not a usable tensor name`);
    if (entry === null || typeof entry !== 'object') throw new Error(`${where}: header entry must be an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isDType(dtype)) throw new Error(`${where}: unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(`${where}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new Error(`${where}: data_offsets must be two non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLen) {
      throw new Error(`${where}: data_offsets [${begin}, ${end}] out of range (data section has ${dataLen} bytes)`);
    }
    const n = numElements(shape as number[]);
    if (end - begin !== n * BYTES[dtype]) {
      throw new Error(`${where}: data_offsets span ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${n * BYTES[dtype]}`);
    }
    entries.push({ name, dtype, shape: [...(shape as number[])], begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let last: HeaderEntry | undefined; // the tensor that ends at `cursor`
  const unreferenced = (to: number, where: string) =>
    new Error(`${source}: ${to - cursor} bytes of the data section belong to no tensor: [${cursor}, ${to}), ${where}`);
  for (const e of sorted) {
    if (e.begin < cursor) {
      throw new Error(`${source}: tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] overlap tensor '${last!.name}' [${last!.begin}, ${last!.end}]`);
    }
    if (e.begin > cursor) throw unreferenced(e.begin, last ? `between tensor '${last.name}' and tensor '${e.name}'` : `before tensor '${e.name}'`);
    if (e.end > e.begin || last === undefined) last = e;
    cursor = e.end;
  }
  if (cursor < dataLen) throw unreferenced(dataLen, last ? `after tensor '${last.name}'` : 'and the header lists no tensors');
  return { entries, metadata: Object.fromEntries(metadata) };
}

/** Parses a whole safetensors file held in memory. `source` names it in error messages. */
export function parseSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsContents {
  if (bytes.byteLength < 8) throw new Error(`${source}: not a safetensors file (${bytes.byteLength} bytes, need at least 8)`);
  const headerLen = headerLength(bytes.subarray(0, 8), bytes.byteLength, source);
  const dataStart = 8 + headerLen;
  const { entries, metadata } = parseHeader(bytes.subarray(8, dataStart), bytes.byteLength - dataStart, source);
  const tensors = tensorTable<RawTensor>();
  for (const e of entries) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart + e.begin, e.end - e.begin);
    tensors[e.name] = { shape: e.shape, data: decode(view, e.dtype, numElements(e.shape), `${source}: tensor '${e.name}'`), dtype: e.dtype };
  }
  return { tensors, metadata };
}

// One read call moves at most about 2 GiB; larger tensors are read in pieces.
const READ_CHUNK = 2 ** 30;

/** Fills `into` from `fd` at `position`; a short file is an error naming it. */
function readExactly(fd: number, into: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < into.byteLength) {
    let got: number;
    try {
      got = fs.readSync(fd, into, done, Math.min(READ_CHUNK, into.byteLength - done), position + done);
    } catch (err) {
      throw new Error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (got === 0) throw new Error(`cannot read ${file}: it ended at byte ${position + done}, ${into.byteLength - done} bytes short (was it cut off, or changed while being read?)`);
    done += got;
  }
}

/** Options of `readSafetensors`. */
export interface SafetensorsReadOptions {
  /** Which tensors to read (default: all); the others' bytes are not read. */
  readonly select?: (name: string) => boolean;
}

/**
 * Reads a safetensors file: the length and the header first, checked against the file's size,
 * then each (selected) tensor into its own buffer. A bad header fails before any tensor data
 * is read, and memory use is the tensors read, not the whole file.
 */
export function readSafetensors(file: string, options: SafetensorsReadOptions = {}): SafetensorsContents {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const total = fs.fstatSync(fd).size;
    if (total < 8) throw new Error(`${file}: not a safetensors file (${total} bytes, need at least 8)`);
    const first8 = new Uint8Array(8);
    readExactly(fd, first8, 0, file);
    const headerLen = headerLength(first8, total, file);
    const headerBytes = new Uint8Array(headerLen);
    readExactly(fd, headerBytes, 8, file);
    const dataStart = 8 + headerLen;
    const { entries, metadata } = parseHeader(headerBytes, total - dataStart, file);
    const tensors = tensorTable<RawTensor>();
    for (const e of entries) {
      if (options.select && !options.select(e.name)) continue;
      const n = numElements(e.shape);
      const where = `${file}: tensor '${e.name}'`;
      if (e.dtype === 'F32' && LITTLE_ENDIAN) {
        // Straight into the result's memory: no second copy of the largest tensors.
        const data = new Float32Array(n);
        readExactly(fd, new Uint8Array(data.buffer), dataStart + e.begin, file);
        tensors[e.name] = { shape: e.shape, data, dtype: e.dtype };
      } else {
        const raw = new Uint8Array(e.end - e.begin);
        readExactly(fd, raw, dataStart + e.begin, file);
        tensors[e.name] = { shape: e.shape, data: decode(new DataView(raw.buffer), e.dtype, n, where), dtype: e.dtype };
      }
    }
    return { tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}

// ------------------------------------------------------------------------------------------
// Writing

function writeDType(name: string, t: RawTensor): SafeDType {
  const dtype = t.dtype ?? (t.data instanceof Float32Array ? 'F32' : 'I32');
  if (!WRITABLE.has(dtype)) throw new Error(`tensor '${name}': writing ${dtype} is not supported (use one of ${[...WRITABLE].join(', ')})`);
  return dtype;
}

function encode(view: DataView, dtype: SafeDType, data: Float32Array | Int32Array): void {
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i]!;
    switch (dtype) {
      case 'F32': view.setFloat32(i * 4, v, true); break;
      case 'F64': view.setFloat64(i * 8, v, true); break;
      case 'I64': view.setBigInt64(i * 8, BigInt(Math.trunc(v)), true); break;
      case 'I32': view.setInt32(i * 4, v, true); break;
      case 'U8': view.setUint8(i, v); break;
      case 'BOOL': view.setUint8(i, v !== 0 ? 1 : 0); break;
      default: throw new Error(`unreachable dtype ${dtype}`);
    }
  }
}

/** Serialises tensors (written in sorted name order) and string metadata into file bytes. */
export function serializeSafetensors(tensors: Readonly<Record<string, RawTensor>>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header = tensorTable<unknown>();
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`metadata '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const plan: Array<{ name: string; dtype: SafeDType; begin: number; t: RawTensor }> = [];
  for (const name of names) {
    if (name === '__metadata__') throw new Error(`'__metadata__' is reserved and cannot name a tensor`);
    if (name === UNUSABLE_NAME) throw new Error(`tensor '${name}': not a usable tensor name`);
    const t = tensors[name]!;
    const n = numElements(t.shape);
    if (t.data.length !== n) throw new Error(`tensor '${name}': shape ${JSON.stringify(t.shape)} needs ${n} values, data has ${t.data.length}`);
    const dtype = writeDType(name, t);
    const size = n * BYTES[dtype];
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + size] };
    plan.push({ name, dtype, begin: offset, t });
    offset += size;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so that the data section starts 8-byte aligned.
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  const dataStart = 8 + headerBytes.byteLength;
  for (const { dtype, begin, t } of plan) {
    const len = t.data.length * BYTES[dtype];
    if (LITTLE_ENDIAN && dtype === 'F32' && t.data instanceof Float32Array) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, len), dataStart + begin);
    } else {
      encode(new DataView(out.buffer, dataStart + begin, len), dtype, t.data);
    }
  }
  return out;
}

/** Writes a safetensors file atomically: to `<file>.tmp-<pid>`, then renamed over `file`. */
export function writeSafetensors(file: string, tensors: Readonly<Record<string, RawTensor>>, metadata: Readonly<Record<string, string>> = {}): void {
  const bytes = serializeSafetensors(tensors, metadata);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`cannot write ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

// ------------------------------------------------------------------------------------------
// tf bridge

/** A new tf tensor (float32 or int32, following the data) holding a copy of `raw`. */
export function toTensor(raw: RawTensor): Tensor {
  return raw.data instanceof Int32Array ? tf.tensor(raw.data, [...raw.shape], 'int32') : tf.tensor(raw.data, [...raw.shape], 'float32');
}

/** Reads a tf tensor back into plain data (synchronously). */
export function fromTensor(t: Tensor): RawTensor {
  if (t.dtype === 'float32') return { shape: [...t.shape], data: t.dataSync() as Float32Array };
  if (t.dtype === 'int32' || t.dtype === 'bool') return { shape: [...t.shape], data: Int32Array.from(t.dataSync() as Int32Array | Uint8Array) };
  throw new Error(`fromTensor: unsupported dtype ${t.dtype}`);
}

// ------------------------------------------------------------------------------------------
// PyTorch layout <-> ours

/**
 * How a parameter is laid out, which decides its conversion:
 * - `conv`: PyTorch `[out, in/groups, kh, kw]` <-> ours HWIO `[kh, kw, in/groups, out]`;
 * - `convT`: PyTorch `[in, out/groups, kh, kw]` <-> ours `[kh, kw, out/groups, in]` (tf.conv2dTranspose's filter);
 * - `linear`: PyTorch `[out, in]` <-> ours `[in, out]`;
 * - `plain`: same in both.
 */
export type ParamKind = 'conv' | 'convT' | 'linear' | 'plain';

/** Permutes the axes of row-major data: output axis i is input axis perm[i]. */
export function permute(raw: RawTensor, perm: readonly number[]): RawTensor {
  const { shape, data } = raw;
  const rank = shape.length;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`permute: ${JSON.stringify(perm)} is not a permutation of ${rank} axes`);
  }
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i]!;
  }
  const strides = perm.map((p) => inStrides[p]!);
  const out = data instanceof Int32Array ? new Int32Array(data.length) : new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src]!;
    // Odometer increment over the output index, tracking the source offset.
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]!++;
      src += strides[a]!;
      if (idx[a]! < outShape[a]!) break;
      src -= strides[a]! * outShape[a]!;
      idx[a] = 0;
    }
  }
  return raw.dtype === undefined ? { shape: outShape, data: out } : { shape: outShape, data: out, dtype: raw.dtype };
}

const TO_OURS: Record<ParamKind, { rank: number; perm: readonly number[] } | null> = {
  conv: { rank: 4, perm: [2, 3, 1, 0] },
  convT: { rank: 4, perm: [2, 3, 1, 0] },
  linear: { rank: 2, perm: [1, 0] },
  plain: null,
};

function inverse(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

function convert(name: string, raw: RawTensor, kind: ParamKind, dir: 'toOurs' | 'toPytorch'): RawTensor {
  const spec = TO_OURS[kind];
  if (spec === null) return raw;
  if (raw.shape.length !== spec.rank) {
    throw new Error(`'${name}': a ${kind} parameter must have rank ${spec.rank}, got shape ${JSON.stringify(raw.shape)}`);
  }
  return permute(raw, dir === 'toOurs' ? spec.perm : inverse(spec.perm));
}

/** One PyTorch-layout parameter to our layout. */
export function fromPytorchLayout(name: string, raw: RawTensor, kind: ParamKind): RawTensor {
  return convert(name, raw, kind, 'toOurs');
}

/** One parameter in our layout to PyTorch's. */
export function toPytorchLayout(name: string, raw: RawTensor, kind: ParamKind): RawTensor {
  return convert(name, raw, kind, 'toPytorch');
}

/** The kind recorded for `key`; an inherited property (`constructor`) is not one. */
function kindOf(kinds: Readonly<Record<string, ParamKind>>, key: string): ParamKind {
  return Object.prototype.hasOwnProperty.call(kinds, key) ? kinds[key]! : 'plain';
}

/** A whole PyTorch state_dict to our layout; keys without a kind are left as they are. */
export function stateDictFromPytorch(sd: Readonly<Record<string, RawTensor>>, kinds: Readonly<Record<string, ParamKind>>): Record<string, RawTensor> {
  return tensorTable(Object.entries(sd).map(([k, v]) => [k, fromPytorchLayout(k, v, kindOf(kinds, k))] as const));
}

/** The reverse of `stateDictFromPytorch`, for export. */
export function stateDictToPytorch(sd: Readonly<Record<string, RawTensor>>, kinds: Readonly<Record<string, ParamKind>>): Record<string, RawTensor> {
  return tensorTable(Object.entries(sd).map(([k, v]) => [k, toPytorchLayout(k, v, kindOf(kinds, k))] as const));
}
