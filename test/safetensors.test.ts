import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../src/runtime/index.ts';
import {
  fromTensor, parseSafetensors, permute, readSafetensors, serializeSafetensors, stateDictFromPytorch, stateDictToPytorch,
  toTensor, writeSafetensors, fromPytorchLayout, toPytorchLayout,
} from '../src/io/safetensors.ts';
import type { RawTensor } from '../src/io/safetensors.ts';
import { FIXTURES } from './helpers/fixtures.ts';

/** Builds a file by hand: header object + raw data bytes. */
function rawFile(header: unknown, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('round trip: F32, I32, I64, F64, U8, BOOL and metadata', () => {
  const tensors: Record<string, RawTensor> = {
    'a.weight': { shape: [2, 3], data: Float32Array.from([1.5, -2, 3.25, 0, 1e-8, -7]) },
    count: { shape: [], data: Int32Array.from([41]), dtype: 'I64' },
    ids: { shape: [3], data: Int32Array.from([-1, 0, 2147483647]) },
    wide: { shape: [2], data: Float32Array.from([0.1, 2]), dtype: 'F64' },
    bytes: { shape: [2, 1], data: Int32Array.from([255, 7]), dtype: 'U8' },
    mask: { shape: [2], data: Int32Array.from([1, 0]), dtype: 'BOOL' },
    empty: { shape: [0, 4], data: new Float32Array(0) },
  };
  const bytes = serializeSafetensors(tensors, { format: 'pt', note: 'x' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0, 'data section must be 8-byte aligned');
  const back = parseSafetensors(bytes);
  assert.deepEqual(back.metadata, { format: 'pt', note: 'x' });
  for (const [k, t] of Object.entries(tensors)) {
    const r = back.tensors[k]!;
    assert.deepEqual(r.shape, t.shape, k);
    assert.equal(r.data.constructor, t.data.constructor, k);
    assert.deepEqual(Array.from(r.data), Array.from(t.data), k);
    assert.equal(r.dtype, t.dtype ?? (t.data instanceof Float32Array ? 'F32' : 'I32'));
  }
});

test('reads F16 and BF16 (incl. subnormal, inf) as float32', () => {
  const d = new DataView(new ArrayBuffer(14));
  [0x3c00, 0xc000, 0x0001, 0x7c00].forEach((h, i) => d.setUint16(i * 2, h, true));
  [0x3f80, 0x4049, 0xbf00].forEach((h, i) => d.setUint16(8 + i * 2, h, true));
  const file = rawFile(
    { h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] }, b: { dtype: 'BF16', shape: [3], data_offsets: [8, 14] } },
    new Uint8Array(d.buffer),
  );
  const { tensors } = parseSafetensors(file, 'half.safetensors');
  assert.deepEqual(Array.from(tensors.h!.data), [1, -2, 2 ** -24, Infinity]);
  assert.deepEqual(Array.from(tensors.b!.data), [1, 3.140625, -0.5]);
});

test('malformed files: errors name the file and the tensor', () => {
  const ok = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const data = new Uint8Array(8);
  assert.throws(() => parseSafetensors(new Uint8Array(4), 'tiny.st'), /tiny\.st: not a safetensors file/);
  assert.throws(() => parseSafetensors(rawFile(ok, data, 10_000n), 'f.st'), /f\.st: bad header length 10000/);
  const garbage = rawFile(ok, data);
  garbage[9] = 0x7b; // corrupt the JSON
  garbage[10] = 0x7b;
  assert.throws(() => parseSafetensors(garbage, 'g.st'), /g\.st: header is not valid JSON/);
  assert.throws(() => parseSafetensors(rawFile({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 16] } }, data), 'o.st'), /o\.st: tensor 't': data_offsets \[0, 16\] out of range/);
  assert.throws(() => parseSafetensors(rawFile({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data), 'n.st'), /tensor 't': data_offsets span 8 bytes but F32 \[3\] needs 12/);
  assert.throws(() => parseSafetensors(rawFile({ t: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, data), 'd.st'), /d\.st: tensor 't': unknown dtype "C64"/);
  assert.throws(() => parseSafetensors(rawFile({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 8] } }, data), 's.st'), /tensor 't': shape must be/);
  assert.throws(() => parseSafetensors(rawFile({ __metadata__: { n: 3 } }, new Uint8Array(0)), 'm.st'), /__metadata__\.n must be a string/);
  const big = new DataView(new ArrayBuffer(8));
  big.setBigInt64(0, 1n << 40n, true);
  assert.throws(() => parseSafetensors(rawFile({ t: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(big.buffer)), 'i.st'), /tensor 't': I64 value .* does not fit in int32/);
  assert.throws(() => serializeSafetensors({ t: { shape: [3], data: new Float32Array(2) } }), /tensor 't': shape \[3\] needs 3 values/);
  assert.throws(() => serializeSafetensors({ t: { shape: [1], data: new Float32Array(1), dtype: 'F16' } }), /writing F16 is not supported/);
});

test('writeSafetensors is atomic (temp file + rename) and readSafetensors reads it back', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-'));
  try {
    const file = path.join(dir, 'sub', 'w.safetensors');
    writeSafetensors(file, { x: { shape: [2], data: Float32Array.from([1, 2]) } }, { k: 'v' });
    writeSafetensors(file, { x: { shape: [2], data: Float32Array.from([3, 4]) } }, { k: 'w' });
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['w.safetensors']);
    const back = readSafetensors(file);
    assert.deepEqual(Array.from(back.tensors.x!.data), [3, 4]);
    assert.deepEqual(back.metadata, { k: 'w' });
    assert.throws(() => readSafetensors(path.join(dir, 'nope.safetensors')), /cannot read .*nope\.safetensors/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('reads a PyTorch-exported fixture: I64 num_batches_tracked becomes int32', () => {
  const { tensors, metadata } = readSafetensors(path.join(FIXTURES, 'dbn', 'weights.safetensors'));
  assert.equal(metadata.model, 'DBN');
  const nbt = tensors['F0.1.num_batches_tracked']!;
  assert.ok(nbt.data instanceof Int32Array);
  assert.equal(nbt.dtype, 'I64');
  assert.deepEqual(tensors['F0.0.weight']!.shape, [8, 15, 5, 5]);
  assert.ok(tensors['F0.0.weight']!.data instanceof Float32Array);
});

test('permute moves axes of row-major data', () => {
  const t: RawTensor = { shape: [2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) };
  assert.deepEqual(Array.from(permute(t, [1, 0]).data), [0, 3, 1, 4, 2, 5]);
  const u: RawTensor = { shape: [2, 3, 4], data: Float32Array.from({ length: 24 }, (_, i) => i) };
  const p = permute(u, [2, 0, 1]);
  assert.deepEqual(p.shape, [4, 2, 3]);
  // p[k][i][j] = u[i][j][k]
  for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) assert.equal(p.data[(k * 2 + i) * 3 + j], u.data[(i * 3 + j) * 4 + k]);
  assert.throws(() => permute(u, [0, 0, 1]), /not a permutation/);
});

test('layout conversion: conv OIHW<->HWIO, convT [in,out,kh,kw]<->[kh,kw,out,in], linear', () => {
  const oihw: RawTensor = { shape: [4, 3, 2, 5], data: Float32Array.from({ length: 120 }, (_, i) => i) };
  const hwio = fromPytorchLayout('c.weight', oihw, 'conv');
  assert.deepEqual(hwio.shape, [2, 5, 3, 4]);
  for (let o = 0; o < 4; o++)
    for (let i = 0; i < 3; i++)
      for (let h = 0; h < 2; h++)
        for (let w = 0; w < 5; w++) assert.equal(hwio.data[((h * 5 + w) * 3 + i) * 4 + o], oihw.data[((o * 3 + i) * 2 + h) * 5 + w]);
  const convT: RawTensor = { shape: [6, 2, 3, 3], data: Float32Array.from({ length: 108 }, (_, i) => i) };
  const ours = fromPytorchLayout('u.weight', convT, 'convT');
  assert.deepEqual(ours.shape, [3, 3, 2, 6]);
  // PyTorch [in=1, out=0, kh=2, kw=1] -> ours [2, 1, 0, 1]
  assert.equal(ours.data[((2 * 3 + 1) * 2 + 0) * 6 + 1], convT.data[((1 * 2 + 0) * 3 + 2) * 3 + 1]);
  assert.deepEqual(fromPytorchLayout('l', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }, 'linear').data, Float32Array.from([1, 4, 2, 5, 3, 6]));
  assert.deepEqual(toPytorchLayout('c.weight', hwio, 'conv'), oihw);
  assert.throws(() => fromPytorchLayout('bad', { shape: [3], data: new Float32Array(3) }, 'conv'), /'bad': a conv parameter must have rank 4/);
  const sd = { 'c.weight': oihw, 'u.weight': convT, 'c.bias': { shape: [4], data: new Float32Array(4) } };
  const kinds = { 'c.weight': 'conv', 'u.weight': 'convT', 'c.bias': 'plain' } as const;
  // The result has no prototype (see below): compare its entries.
  assert.deepEqual({ ...stateDictToPytorch(stateDictFromPytorch(sd, kinds), kinds) }, sd);
});

test('toTensor / fromTensor keep shape, values and integer type', () => {
  const before = tf.memory().numTensors;
  const f = toTensor({ shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) });
  const i = toTensor({ shape: [], data: Int32Array.from([7]) });
  assert.equal(f.dtype, 'float32');
  assert.equal(i.dtype, 'int32');
  const rf = fromTensor(f);
  const ri = fromTensor(i);
  assert.deepEqual(rf.shape, [2, 2]);
  assert.deepEqual(Array.from(rf.data), [1, 2, 3, 4]);
  assert.ok(ri.data instanceof Int32Array);
  assert.deepEqual(ri.shape, []);
  tf.dispose([f, i]);
  assert.equal(tf.memory().numTensors, before);
});

/** Writes `header` and then `dataBytes` of data (zeros, not written: the file is sparse). */
function sparseFile(file: string, header: unknown, dataBytes: number): void {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  fs.writeFileSync(file, Buffer.concat([len, h]));
  fs.truncateSync(file, 8 + h.length + dataBytes);
}

test('a large file is checked from its header before any data is read, and only the tensors asked for are read', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-big-'));
  try {
    const GB = 2 ** 30;
    const file = path.join(dir, 'big.safetensors');
    // A 2-byte header ({}) in front of 1.5 GB that no tensor accounts for.
    sparseFile(file, {}, 1.5 * GB);
    let rss = process.memoryUsage().rss;
    assert.throws(() => readSafetensors(file), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
      assert.match(e.message, /1610612736 bytes of the data section belong to no tensor: \[0, 1610612736\), and the header lists no tensors/);
      return true;
    });
    assert.ok(process.memoryUsage().rss - rss < 100 * 2 ** 20, `rss grew by ${process.memoryUsage().rss - rss} bytes`);

    // A header that claims more data than the file holds (a cut-off download).
    sparseFile(file, { t: { dtype: 'F32', shape: [2 ** 28], data_offsets: [0, GB] } }, 100);
    assert.throws(() => readSafetensors(file), /big\.safetensors: tensor 't': data_offsets \[0, 1073741824\] out of range \(data section has 100 bytes\)/);
    sparseFile(file, { t: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(1n << 40n);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, len, 0, 8, 0);
    fs.closeSync(fd);
    assert.throws(() => readSafetensors(file), /big\.safetensors: bad header length 1099511627776/);

    // A valid 1 GB file: asking for its small tensor reads 8 bytes of data.
    sparseFile(file, { big: { dtype: 'F32', shape: [2 ** 28], data_offsets: [0, GB] }, small: { dtype: 'F32', shape: [2], data_offsets: [GB, GB + 8] } }, GB + 8);
    rss = process.memoryUsage().rss;
    const { tensors } = readSafetensors(file, { select: (name) => name === 'small' });
    assert.deepEqual(Object.keys(tensors), ['small']);
    assert.deepEqual(Array.from(tensors.small!.data), [0, 0]);
    assert.ok(process.memoryUsage().rss - rss < 100 * 2 ** 20, `rss grew by ${process.memoryUsage().rss - rss} bytes`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('malformed layouts: overlapping tensors, unreferenced bytes, a __proto__ tensor; errors name the file and the tensor', () => {
  const f32 = (begin: number, end: number) => ({ dtype: 'F32', shape: [(end - begin) / 4], data_offsets: [begin, end] });
  const cases: Array<[string, Record<string, unknown>, number, RegExp]> = [
    ['overlap', { a: f32(0, 8), b: f32(4, 12) }, 12, /overlap\.st: tensor 'b': data_offsets \[4, 12\] overlap tensor 'a' \[0, 8\]/],
    ['gap', { a: f32(0, 8), b: f32(12, 20) }, 20, /gap\.st: 4 bytes of the data section belong to no tensor: \[8, 12\), between tensor 'a' and tensor 'b'/],
    ['leading', { b: f32(4, 12) }, 12, /leading\.st: 4 bytes of the data section belong to no tensor: \[0, 4\), before tensor 'b'/],
    ['trailing', { a: f32(0, 8) }, 12, /trailing\.st: 4 bytes of the data section belong to no tensor: \[8, 12\), after tensor 'a'/],
    ['proto', { ['__proto__']: f32(0, 8) }, 8, /proto\.st: tensor '__proto__': not a usable tensor name/],
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-bad-'));
  try {
    for (const [name, header, dataBytes, re] of cases) {
      // JSON.stringify keeps an own '__proto__' key; an object literal's would set the prototype.
      const h = name === 'proto' ? JSON.parse(`{"__proto__": ${JSON.stringify(f32(0, 8))}}`) : header;
      assert.throws(() => parseSafetensors(rawFile(h, new Uint8Array(dataBytes)), `${name}.st`), re, name);
      const file = path.join(dir, `${name}.st`);
      fs.writeFileSync(file, rawFile(h, new Uint8Array(dataBytes)));
      assert.throws(() => readSafetensors(file), re, name);
    }
    // A name given twice in the header: JSON keeps the last, so the first one's bytes are unaccounted for.
    const text = `{"a": ${JSON.stringify(f32(0, 8))}, "a": ${JSON.stringify(f32(8, 16))}}`;
    const dup = Buffer.concat([Buffer.alloc(8), Buffer.from(text), Buffer.alloc(16)]);
    dup.writeBigUInt64LE(BigInt(text.length));
    assert.throws(() => parseSafetensors(dup, 'dup.st'), /dup\.st: 8 bytes of the data section belong to no tensor: \[0, 8\), before tensor 'a'/);
    // Zero-size tensors take no bytes and may sit anywhere, even between two others.
    const ok = parseSafetensors(rawFile({ a: f32(0, 8), e: f32(8, 8), b: f32(8, 12) }, new Uint8Array(12)), 'ok.st');
    assert.deepEqual(Object.keys(ok.tensors).sort(), ['a', 'b', 'e']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => serializeSafetensors(JSON.parse(`{"__proto__": {"shape": [1], "data": {}}}`)), /tensor '__proto__': not a usable tensor name/);
});

test('tensor tables have no prototype: names like constructor and __proto__ are ordinary keys', () => {
  const t: RawTensor = { shape: [1], data: Float32Array.from([1]) };
  const parsed = parseSafetensors(serializeSafetensors({ constructor: t, toString: t }), 'names.st');
  assert.equal(Object.getPrototypeOf(parsed.tensors), null);
  assert.deepEqual(Object.keys(parsed.tensors).sort(), ['constructor', 'toString']);
  assert.equal(parsed.tensors.hasOwnProperty, undefined);
  // Layout conversion keeps every key (an ordinary object would take '__proto__' as its prototype).
  const sd = Object.fromEntries([['__proto__', t], ['constructor', t]]) as Record<string, RawTensor>;
  for (const out of [stateDictFromPytorch(sd, {}), stateDictToPytorch(sd, {})]) {
    assert.equal(Object.getPrototypeOf(out), null);
    assert.deepEqual(Object.keys(out).sort(), ['__proto__', 'constructor']);
  }
});
