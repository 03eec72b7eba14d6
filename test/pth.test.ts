// The PyTorch checkpoint reader: released-checkpoint wrappers in both torch.save formats
// reproduce the parity fixtures, hostile files are refused without running anything and in
// bounded memory, and strided views and the legacy format are read exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { readTorchStateDict, parseCheckpoint, materialise, Storage, TensorRef } from '../src/io/pth/index.ts';
import { readSafetensors } from '../src/io/safetensors.ts';
import { runParity } from '../src/models/parity.ts';
import { tempDir } from './helpers/engine.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const local = path.join(repoRoot, 'test', 'fixtures', 'pth');
// The DBN checkpoints (~3 MB each) and the zip bomb (~1 MB) are read where they are shared.
const shared = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'pth');
const NAFNET = path.join(repoRoot, 'test', 'fixtures', 'parity', 'nafnet');
const DBN = path.join(repoRoot, 'test', 'fixtures', 'parity', 'dbn');
const MARKER = '/tmp/simdeblur-pth-fixture-was-executed';

const fixtureWeights = (dir: string) => readSafetensors(path.join(dir, 'weights.safetensors')).tensors;

function assertSameWeights(got: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>, want: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>, map: (x: number) => number = (x) => x) {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  for (const k of Object.keys(want)) {
    assert.deepEqual([...got[k]!.shape], [...want[k]!.shape], k);
    const a = got[k]!.data, b = want[k]!.data;
    for (let i = 0; i < b.length; i++) if (a[i] !== map(b[i]!)) assert.fail(`${k}[${i}]: ${a[i]} != ${map(b[i]!)}`);
  }
}

for (const [file, wrapper] of [['nafnet-basicsr.pth', 'params'], ['nafnet-raw.pth', 'bare']] as const) {
  test(`${file} (${wrapper}) holds the NAFNet fixture's weights exactly and passes its parity`, () => {
    const f = path.join(local, file);
    const sd = readTorchStateDict(f);
    assert.equal(sd.format, 'zip');
    assert.equal(sd.wrapper, wrapper);
    assertSameWeights(sd.tensors, fixtureWeights(NAFNET));
    const r = runParity(NAFNET, f);
    assert.ok(r.ok && r.maxAbsErr <= 1e-4, JSON.stringify(r));
  });
}

/** float32 -> nearest float16 (ties to even), as torch's .half() rounds. */
function roundToHalf(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);
  const q = 2 ** (e - 10);
  const r = x / q;
  let f = Math.floor(r);
  const d = r - f;
  if (d > 0.5 || (d === 0.5 && f % 2 !== 0)) f += 1;
  return f * q;
}

test('nafnet-ema-fp16.pth: params_ema is the fixture rounded to fp16, and reproduces its output within fp16 rounding', () => {
  const f = path.join(local, 'nafnet-ema-fp16.pth');
  const plain = readTorchStateDict(f);
  assert.equal(plain.wrapper, 'params'); // without the option, params is preferred
  const ema = readTorchStateDict(f, { ema: true });
  assert.equal(ema.wrapper, 'params_ema');
  assert.equal(ema.tensors['intro.weight']!.dtype, 'F16');
  assert.deepEqual(Object.keys(readTorchStateDict(f, { key: 'params_ema' }).tensors), Object.keys(ema.tensors));
  // Exact: every value is the fixture's float32 weight rounded to the nearest half.
  assertSameWeights(ema.tensors, fixtureWeights(NAFNET), roundToHalf);
  // Each weight is then off by at most 2^-11 of itself (half a unit in the last of 11 bits).
  // Images are in [0, 1] and NAFNet's output is its input plus a residual, so the error that
  // rounding every weight by that relative amount leaves is of that order: 2^-11 ≈ 4.9e-4
  // (measured: 2.2e-4; the float32 weights give ≤ 1e-4).
  const r = runParity(NAFNET, ema.tensors);
  assert.equal(r.params, r.expectedParams);
  assert.ok(r.maxAbsErr <= 2 ** -11, `fp16 weights: max abs error ${r.maxAbsErr}`);
  assert.ok(r.maxAbsErr > 0, 'fp16 rounding should show in the output');
});

for (const [file, format] of [['dbn-simdeblur.pth', 'zip'], ['dbn-legacy.pth', 'legacy']] as const) {
  const f = path.join(shared, file);
  test(`${file} (SimDeblur trainer, ${format}) passes the DBN fixture's parity`, { skip: fs.existsSync(f) ? false : `no ${f}` }, () => {
    const sd = readTorchStateDict(f);
    assert.equal(sd.format, format);
    assert.equal(sd.wrapper, 'model');
    // DataParallel's `module.` prefix is gone; num_batches_tracked stays an integer tensor.
    assert.ok(Object.keys(sd.tensors).every((k) => !k.startsWith('module.')));
    const nbt = Object.keys(sd.tensors).find((k) => k.endsWith('num_batches_tracked'))!;
    assert.ok(sd.tensors[nbt]!.data instanceof Int32Array);
    assert.equal(sd.tensors[nbt]!.dtype, 'I64');
    assertSameWeights(sd.tensors, fixtureWeights(DBN));
    const r = runParity(DBN, f);
    assert.ok(r.ok && r.maxAbsErr <= 1e-4, JSON.stringify(r));
  });
}

// ------------------------------------------------------------------------------------------
// Hostile files

const hostile: Array<[string, RegExp]> = [
  ['os-system.pth', /refusing to load .*os-system\.pth: the checkpoint calls posix\.system/],
  ['builtins-eval.pth', /refusing to load .*builtins-eval\.pth: the checkpoint calls __builtin__\.eval/],
  ['os-system-legacy.pth', /refusing to load .*os-system-legacy\.pth: the checkpoint calls posix\.system/],
  ['short-storage.pth', /reaches element 1048575 of storage 0, which has 4 elements/],
  ['missing-storage.pth', /storage 0 is missing from the archive/],
  ['truncated.pth', /not a complete zip archive .*cut off/],
  ['deep-nesting.pth', /stack deeper than 20000 entries/],
  ['zip-bomb.pth', /refusing compressed zip entry archive\/data\/0: \d+ bytes that inflate to 1073741824/],
];

for (const [name, message] of hostile) {
  const f = fs.existsSync(path.join(local, 'hostile', name)) ? path.join(local, 'hostile', name) : path.join(shared, 'hostile', name);
  test(`hostile ${name} is refused quickly, in bounded memory, without running anything`, { skip: fs.existsSync(f) ? false : `no ${f}` }, () => {
    fs.rmSync(MARKER, { force: true });
    const rss = process.memoryUsage().rss;
    const t0 = performance.now();
    assert.throws(() => readTorchStateDict(f), message);
    const ms = performance.now() - t0;
    const grown = process.memoryUsage().rss - rss;
    assert.ok(grown < 200 * 2 ** 20, `RSS grew by ${(grown / 2 ** 20).toFixed(0)} MB`);
    assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
    assert.equal(fs.existsSync(MARKER), false, 'the checkpoint ran code');
  });
}

// A minimal zip writer for hand-made archives (stored or deflated entries, declared sizes
// overridable to lie).
function zip(entries: Array<{ name: string; data: Uint8Array; deflate?: boolean; declaredSize?: number }>): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.deflate ? zlib.deflateRawSync(e.data) : Buffer.from(e.data);
    const name = Buffer.from(e.name);
    const size = e.declaredSize ?? e.data.byteLength;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(body.byteLength, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.byteLength, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(e.deflate ? 8 : 0, 10);
    cd.writeUInt32LE(body.byteLength, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.byteLength, 28);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(cd, name);
    offset += 30 + name.byteLength + body.byteLength;
  }
  const cdBytes = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdBytes.byteLength, 12);
  eocd.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...parts, cdBytes, eocd]));
}

// Pickle pieces, protocol 2.
const P = {
  proto: [0x80, 2],
  str: (s: string) => { const b = Buffer.from(s); return [0x58, ...u32(b.byteLength), ...b]; },
  int: (n: number) => [0x4a, ...i32(n)],
  global: (m: string, n: string) => [0x63, ...Buffer.from(`${m}\n${n}\n`)],
};
function u32(n: number) { const b = Buffer.alloc(4); b.writeUInt32LE(n); return [...b]; }
function i32(n: number) { const b = Buffer.alloc(4); b.writeInt32LE(n); return [...b]; }
const tuple = (...items: number[][]) => [0x28, ...items.flat(), 0x74];
/** `_rebuild_tensor_v2(storage(type, key, numel), offset, size, stride, False, OrderedDict())`. */
const tensorOps = (type: string, key: string, numel: number, offset: number, size: number[], stride: number[]) => [
  ...P.global('torch._utils', '_rebuild_tensor_v2'),
  ...tuple(
    [...tuple(P.str('storage'), P.global('torch', type), P.str(key), P.str('cpu'), P.int(numel)), 0x51],
    P.int(offset), tuple(...size.map(P.int)), tuple(...stride.map(P.int)), [0x89], [...P.global('collections', 'OrderedDict'), 0x29, 0x52],
  ),
  0x52,
];
const dictOf = (...kv: Array<[string, number[]]>) => [0x7d, 0x28, ...kv.flatMap(([k, v]) => [...P.str(k), ...v]), 0x75];

test('strided views with a storage offset are materialised row-major (zip format)', () => {
  // A transposed 3x2 view at offset 1 of a 12-element storage: t[i][j] = s[1 + i + 3j].
  const storage = new Float32Array(12).map((_, i) => i);
  const pkl = [...P.proto, ...dictOf(['t', tensorOps('FloatStorage', '0', 12, 1, [3, 2], [1, 3])]), 0x2e];
  const bytes = zip([{ name: 'a/data.pkl', data: new Uint8Array(pkl), deflate: true }, { name: 'a/data/0', data: new Uint8Array(storage.buffer) }, { name: 'a/version', data: Buffer.from('3\n') }]);
  const file = path.join(tempDir(), 'view.pth');
  fs.writeFileSync(file, bytes);
  const sd = readTorchStateDict(file);
  assert.equal(sd.wrapper, 'bare');
  assert.deepEqual([...sd.tensors.t!.shape], [3, 2]);
  assert.deepEqual([...sd.tensors.t!.data], [1, 4, 2, 5, 3, 6]);
  // Broadcast (stride 0) and a view of one storage element.
  const s = new Storage('x', 'float32', 3);
  s.bytes = new Uint8Array(new Float32Array([7, 8, 9]).buffer);
  assert.deepEqual([...materialise(new TensorRef(s, 1, [2, 2], [0, 1]), 'mem', 'b').data], [8, 9, 8, 9]);
  assert.deepEqual([...materialise(new TensorRef(s, 2, [], []), 'mem', 'c').data], [9]);
  // A storage entry shorter than its declared size is refused.
  const short = zip([{ name: 'a/data.pkl', data: new Uint8Array(pkl) }, { name: 'a/data/0', data: new Uint8Array(storage.buffer).subarray(0, 40) }]);
  assert.throws(() => parseCheckpoint(short, 'short'), /storage 0 declares 12 float32 elements \(48 bytes\) but its entry holds 40 bytes/);
  // A deflated entry that inflates beyond what its directory declares stops at the declared size.
  const liar = zip([{ name: 'a/data.pkl', data: new Uint8Array(100_000), deflate: true, declaredSize: 10 }]);
  assert.throws(() => parseCheckpoint(liar, 'liar'), /cannot inflate zip entry a\/data\.pkl/);
});

/** The legacy format: magic, protocol, sys_info, main pickle, key list, then the storages. */
function legacy(main: number[], keys: string[], storages: Array<{ count: number; bytes: Uint8Array }>): Uint8Array {
  const magic = [0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
  const version = [0x80, 2, 0x4d, 0xe9, 0x03, 0x2e];
  const sysInfo = [0x80, 2, ...dictOf(['little_endian', [0x88]]), 0x2e];
  const keyList = [0x80, 2, 0x5d, 0x28, ...keys.flatMap(P.str), 0x65, 0x2e];
  const tail = storages.flatMap(({ count, bytes }) => { const n = Buffer.alloc(8); n.writeBigUInt64LE(BigInt(count)); return [...n, ...bytes]; });
  return new Uint8Array([...magic, ...version, ...sysInfo, ...P.proto, ...main, 0x2e, ...keyList, ...tail]);
}

test('the legacy format: storages after the pickles, in key order; int64 stays an integer tensor', () => {
  const main = dictOf(
    ['state_dict', dictOf(
      ['w', tensorOps('FloatStorage', 'k0', 6, 0, [2, 3], [3, 1])],
      ['wt', tensorOps('FloatStorage', 'k0', 6, 0, [3, 2], [1, 3])],
      ['n', tensorOps('LongStorage', 'k1', 1, 0, [], [])],
    )],
  );
  const longBytes = new Uint8Array(8);
  new DataView(longBytes.buffer).setBigInt64(0, 7n, true);
  const f32 = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  const good = legacy(main, ['k0', 'k1'], [{ count: 6, bytes: f32 }, { count: 1, bytes: longBytes }]);
  const { root, format } = parseCheckpoint(good, 'legacy');
  assert.equal(format, 'legacy');
  const file = path.join(tempDir(), 'legacy.pth');
  fs.writeFileSync(file, good);
  const sd = readTorchStateDict(file);
  assert.equal(sd.wrapper, 'state_dict');
  assert.deepEqual([...sd.tensors.w!.data], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...sd.tensors.wt!.data], [1, 4, 2, 5, 3, 6]);
  assert.ok(sd.tensors.n!.data instanceof Int32Array);
  assert.deepEqual([...sd.tensors.n!.data], [7]);
  assert.equal(sd.tensors.n!.dtype, 'I64');
  assert.ok(root);
  // A storage whose count runs past the end of the file is refused before anything is allocated.
  const lying = legacy(main, ['k0', 'k1'], [{ count: 2 ** 40, bytes: f32 }]);
  assert.throws(() => parseCheckpoint(lying, 'lying'), /storage k0 claims 1099511627776 float32 elements but only \d+ bytes remain/);
  // An int64 beyond int32 is an error, not a wrapped value.
  new DataView(longBytes.buffer).setBigInt64(0, 2n ** 40n, true);
  fs.writeFileSync(file, legacy(main, ['k0', 'k1'], [{ count: 6, bytes: f32 }, { count: 1, bytes: longBytes }]));
  assert.throws(() => readTorchStateDict(file), /int64 value 1099511627776 does not fit in int32/);
});

test('a missing wrapper key names the keys there are; a non-tensor entry is not a state dict', () => {
  assert.throws(() => readTorchStateDict(path.join(local, 'nafnet-basicsr.pth'), { key: 'params_ema' }), /has no 'params_ema' \(top-level keys: params\)/);
  const file = path.join(tempDir(), 'mixed.pth');
  fs.writeFileSync(file, zip([{ name: 'a/data.pkl', data: new Uint8Array([...P.proto, ...dictOf(['epoch', P.int(3)]), 0x2e]) }]));
  assert.throws(() => readTorchStateDict(file), /its entry 'epoch' is 3, not a tensor/);
});

// ------------------------------------------------------------------------------------------
// Command line

const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', cwd: repoRoot });

test('simdeblur convert writes the state dict as safetensors, and parity --weights reads a .pth', () => {
  const out = path.join(tempDir(), 'nafnet.safetensors');
  const c = cli(['convert', path.join(local, 'nafnet-ema-fp16.pth'), '--out', out, '--key', 'params']);
  assert.equal(c.status, 0, c.stderr);
  assert.deepEqual(JSON.parse(c.stdout.trim().split('\n').pop()!), { out, tensors: 100, format: 'zip', wrapper: 'params' });
  assertSameWeights(readSafetensors(out).tensors, fixtureWeights(NAFNET));
  const p = cli(['parity', NAFNET, '--weights', path.join(local, 'nafnet-basicsr.pth')]);
  assert.equal(p.status, 0, p.stderr);
  const row = JSON.parse(p.stdout.trim().split('\n').pop()!);
  assert.ok(row.ok && row.maxAbsErr <= 1e-4, JSON.stringify(row));
});
