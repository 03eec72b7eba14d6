// What `torch.save` writes around the pickle: storages (typed, in the zip archive's data/ folder
// or after the pickles in the legacy format) and the tensors that are strided views of them.
// Tensors are recorded lazily while unpickling and materialised afterwards, only for the state
// dict that is asked for, as contiguous row-major float32 (floating types) or int32 data.
import fs from 'node:fs';
import { halfToFloat, tensorTable } from '../safetensors.ts';
import type { RawTensor, SafeDType } from '../safetensors.ts';
import { PyDict, PyTuple, unpickle } from './pickle.ts';
import type { PyCallable } from './pickle.ts';
import { ZipArchive } from './zip.ts';

type TorchDType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool' | 'int8' | 'int16';

const ITEM: Record<TorchDType, number> = { float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1, int8: 1, int16: 2 };
const SAFE: Partial<Record<TorchDType, SafeDType>> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16', float64: 'F64', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'BOOL' };

const STORAGE_TYPES: Record<string, TorchDType> = {
  FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', DoubleStorage: 'float64',
  LongStorage: 'int64', IntStorage: 'int32', ByteStorage: 'uint8', BoolStorage: 'bool',
  // The untyped storage of recent versions is bytes; tensors over it are read as uint8.
  UntypedStorage: 'uint8',
};

/** A storage's type, as a global names it (`torch.FloatStorage`). */
class StorageType {
  constructor(readonly dtype: TorchDType, readonly qualname: string) {}
}

/** A storage named by a persistent id; its bytes are attached when read. */
export class Storage {
  bytes: Uint8Array | undefined;
  constructor(readonly key: string, readonly dtype: TorchDType, readonly numel: number) {}
}

/** A tensor as the pickle describes it: a strided view of a storage. */
export class TensorRef {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

function intList(v: unknown, what: string, source: string): number[] {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : undefined;
  if (items === undefined || !items.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    throw new Error(`${source}: tensor ${what} must be a tuple of non-negative integers, got ${describe(v)}`);
  }
  return items as number[];
}

function describe(v: unknown): string {
  if (v instanceof PyTuple) return `(${v.items.map(describe).join(', ')})`;
  if (typeof v === 'bigint') return `${v}`;
  if (v instanceof Storage || v instanceof TensorRef || v instanceof PyDict) return v.constructor.name;
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
}

function rebuildTensor(args: unknown[], source: string): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof Storage)) throw new Error(`${source}: a tensor's storage is not a storage (${describe(storage)})`);
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new Error(`${source}: bad storage offset ${describe(offset)}`);
  const shape = intList(size, 'size', source);
  const strides = intList(stride, 'stride', source);
  if (strides.length !== shape.length) throw new Error(`${source}: tensor size ${describe(size)} and stride ${describe(stride)} differ in rank`);
  // The view must lie inside the storage as the persistent id declares it (its bytes are
  // checked against this when read).
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel > 0) {
    const last = offset + shape.reduce((acc, d, i) => acc + (d - 1) * strides[i]!, 0);
    if (last >= storage.numel) {
      throw new Error(`${source}: a tensor of size ${describe(size)} (stride ${describe(stride)}, offset ${offset}) reaches element ${last} of storage ${storage.key}, which has ${storage.numel} elements`);
    }
  }
  return new TensorRef(storage, offset, shape, strides);
}

/** The allow-list: the globals a state dict's pickle uses, as pure data builders. */
function resolver(source: string): (module: string, name: string) => PyCallable | undefined {
  const dict = (qualname: string): PyCallable => ({
    qualname,
    call(args) {
      const d = new PyDict();
      // OrderedDict(), or Counter({...}) as lr schedulers store their milestones.
      if (args.length === 1 && args[0] instanceof PyDict) for (const [k, v] of args[0].map) d.map.set(k, v);
      else if (args.length > 0) throw new Error(`${source}: ${qualname} called with ${describe(new PyTuple(args))}`);
      return d;
    },
  });
  return (module, name) => {
    const q = `${module}.${name}`;
    if (q === 'collections.OrderedDict' || q === 'collections.Counter') return dict(q);
    if (q === 'torch._utils._rebuild_tensor_v2' || q === 'torch._utils._rebuild_tensor') {
      return { qualname: q, call: (args) => rebuildTensor(args, source) };
    }
    if (q === 'torch._utils._rebuild_parameter') {
      return {
        qualname: q,
        call(args) {
          if (!(args[0] instanceof TensorRef)) throw new Error(`${source}: _rebuild_parameter of ${describe(args[0])}`);
          return args[0];
        },
      };
    }
    if (q === 'torch.Size') return { qualname: q, call: (args) => new PyTuple(intList(args[0] ?? new PyTuple([]), 'Size', source)) };
    if (module === 'torch' && Object.prototype.hasOwnProperty.call(STORAGE_TYPES, name)) {
      const t = new StorageType(STORAGE_TYPES[name]!, q);
      return { qualname: q, call: () => { throw new Error(`${source}: ${q} may only name a storage's type`); }, ...{ storageType: t } } as PyCallable;
    }
    return undefined;
  };
}

function storageTypeOf(v: unknown, source: string): TorchDType {
  const t = (v as { storageType?: unknown } | null)?.storageType;
  if (!(t instanceof StorageType)) throw new Error(`${source}: a persistent id names ${describe(v)} as a storage type`);
  return t.dtype;
}

/** Materialises a view as contiguous row-major data, converted as safetensors reads it. */
export function materialise(t: TensorRef, source: string, name: string): RawTensor {
  const s = t.storage;
  const where = `${source}: tensor '${name}'`;
  if (s.bytes === undefined) throw new Error(`${where}: storage ${s.key} was never read`);
  const item = ITEM[s.dtype];
  const available = Math.floor(s.bytes.byteLength / item);
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n > 0) {
    const last = t.offset + t.shape.reduce((acc, d, i) => acc + (d - 1) * t.stride[i]!, 0);
    if (last >= available) throw new Error(`${where}: its view reaches element ${last} but storage ${s.key} holds only ${available} elements (${s.bytes.byteLength} bytes)`);
  }
  const view = new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength);
  const float = s.dtype.startsWith('float') || s.dtype === 'bfloat16';
  const out = float ? new Float32Array(n) : new Int32Array(n);
  const get = reader(s.dtype, view, where);
  const rank = t.shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = t.offset;
  for (let o = 0; o < n; o++) {
    out[o] = get(src);
    // Odometer over the index, tracking the element offset in the storage.
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]!++;
      src += t.stride[a]!;
      if (idx[a]! < t.shape[a]!) break;
      src -= t.stride[a]! * t.shape[a]!;
      idx[a] = 0;
    }
  }
  const dtype = SAFE[s.dtype];
  return dtype === undefined ? { shape: [...t.shape], data: out } : { shape: [...t.shape], data: out, dtype };
}

function reader(dtype: TorchDType, v: DataView, where: string): (i: number) => number {
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  switch (dtype) {
    case 'float32': return (i) => v.getFloat32(i * 4, true);
    case 'float64': return (i) => v.getFloat64(i * 8, true);
    case 'float16': return (i) => halfToFloat(v.getUint16(i * 2, true));
    case 'bfloat16': return (i) => { bits[0] = v.getUint16(i * 2, true) << 16; return f32[0]!; };
    case 'int64': return (i) => {
      const x = v.getBigInt64(i * 8, true);
      if (x > 2147483647n || x < -2147483648n) throw new Error(`${where}: int64 value ${x} does not fit in int32`);
      return Number(x);
    };
    case 'int32': return (i) => v.getInt32(i * 4, true);
    case 'int16': return (i) => v.getInt16(i * 2, true);
    case 'int8': return (i) => v.getInt8(i);
    case 'uint8': case 'bool': return (i) => v.getUint8(i);
  }
}

/** The unpickled top-level object of a checkpoint, with its storages attached. */
export interface LoadedCheckpoint {
  readonly root: unknown;
  readonly format: 'zip' | 'legacy';
}

function storagePid(pid: unknown, source: string): { type: TorchDType; key: string; numel: number; view: unknown } {
  if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage') throw new Error(`${source}: unknown persistent id ${describe(pid)}`);
  const [, type, key, , numel, view] = pid.items;
  if (typeof key !== 'string') throw new Error(`${source}: storage key ${describe(key)} is not a string`);
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new Error(`${source}: storage ${key} has bad size ${describe(numel)}`);
  return { type: storageTypeOf(type, source), key, numel, view };
}

function loadZip(bytes: Uint8Array, source: string): LoadedCheckpoint {
  const zip = new ZipArchive(bytes, source);
  const pkl = zip.names().find((n) => n.endsWith('/data.pkl') && n.split('/').length === 2) ?? (zip.entries.has('data.pkl') ? 'data.pkl' : undefined);
  if (pkl === undefined) throw new Error(`${source}: a zip archive without data.pkl is not a torch.save checkpoint`);
  const prefix = pkl.slice(0, -'data.pkl'.length);
  // PyTorch writes storages uncompressed; a compressed one is refused before anything is read.
  for (const e of zip.entries.values()) {
    if (e.name.startsWith(`${prefix}data/`) && e.method !== 0) {
      throw new Error(`${source}: refusing compressed storage entry ${e.name} (${e.compressedSize} bytes inflating to ${e.size}); torch.save writes storages uncompressed`);
    }
  }
  const byteorder = zip.entries.has(`${prefix}byteorder`) ? new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim() : 'little';
  if (byteorder !== 'little') throw new Error(`${source}: big-endian checkpoints (byteorder '${byteorder}') are not read`);
  const storages = new Map<string, Storage>();
  const { value } = unpickle(zip.read(pkl), 0, {
    source,
    resolveGlobal: resolver(source),
    persistentLoad(pid) {
      const { type, key, numel } = storagePid(pid, source);
      let s = storages.get(key);
      if (s === undefined) {
        const entry = `${prefix}data/${key}`;
        if (!zip.entries.has(entry)) throw new Error(`${source}: storage ${key} is missing from the archive (no entry ${entry})`);
        s = new Storage(key, type, numel);
        s.bytes = zip.read(entry, { storage: true });
        if (s.bytes.byteLength < numel * ITEM[type]) {
          throw new Error(`${source}: storage ${key} declares ${numel} ${type} elements (${numel * ITEM[type]} bytes) but its entry holds ${s.bytes.byteLength} bytes`);
        }
        storages.set(key, s);
      }
      return s;
    },
  });
  return { root: value, format: 'zip' };
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function loadLegacy(bytes: Uint8Array, source: string): LoadedCheckpoint {
  const plain = { source, resolveGlobal: () => undefined };
  const magic = unpickle(bytes, 0, plain);
  if (magic.value !== LEGACY_MAGIC) throw new Error(`${source}: not a PyTorch checkpoint (neither a zip archive nor the legacy format's magic number)`);
  const version = unpickle(bytes, magic.end, plain);
  if (version.value !== 1001) throw new Error(`${source}: legacy checkpoint protocol ${describe(version.value)} (1001 is read)`);
  const sysInfo = unpickle(bytes, version.end, plain);
  if (sysInfo.value instanceof PyDict && sysInfo.value.map.get('little_endian') === false) throw new Error(`${source}: big-endian checkpoints are not read`);
  const storages = new Map<string, Storage>();
  const main = unpickle(bytes, sysInfo.end, {
    source,
    resolveGlobal: resolver(source),
    persistentLoad(pid) {
      const { type, key, numel, view } = storagePid(pid, source);
      if (view !== null && view !== undefined) throw new Error(`${source}: storage views (torch < 0.4) are not read`);
      let s = storages.get(key);
      if (s === undefined) storages.set(key, (s = new Storage(key, type, numel)));
      return s;
    },
  });
  const keys = unpickle(bytes, main.end, plain);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) throw new Error(`${source}: the legacy storage key list is not a list of strings`);
  // Each storage: an 8-byte little-endian element count, then its raw bytes, in key order.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = keys.end;
  for (const key of keys.value as string[]) {
    const s = storages.get(key);
    if (s === undefined) throw new Error(`${source}: storage ${key} is listed but no tensor uses it`);
    if (p + 8 > bytes.byteLength) throw new Error(`${source}: the file ends before storage ${key} (is it cut off?)`);
    const count = view.getBigUint64(p, true);
    p += 8;
    const len = count * BigInt(ITEM[s.dtype]);
    if (len > BigInt(bytes.byteLength - p)) throw new Error(`${source}: storage ${key} claims ${count} ${s.dtype} elements but only ${bytes.byteLength - p} bytes remain (is the file cut off?)`);
    s.bytes = bytes.subarray(p, p + Number(len));
    p += Number(len);
  }
  for (const s of storages.values()) if (s.bytes === undefined) throw new Error(`${source}: storage ${s.key} is missing from the file`);
  return { root: main.value, format: 'legacy' };
}

/** Parses a checkpoint without materialising any tensor. */
export function loadCheckpoint(file: string): LoadedCheckpoint {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseCheckpoint(bytes, file);
}

export function parseCheckpoint(bytes: Uint8Array, source: string): LoadedCheckpoint {
  if (bytes.byteLength >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b) return loadZip(bytes, source);
  if (bytes.byteLength >= 2 && bytes[0] === 0x80) return loadLegacy(bytes, source);
  throw new Error(`${source}: not a PyTorch checkpoint (neither a zip archive nor a pickle)`);
}

/** Options of `readTorchStateDict`. */
export interface TorchReadOptions {
  /** The top-level key holding the state dict (`params`, `params_ema`, `state_dict`, `model`, ...). */
  readonly key?: string;
  /** Prefer `params_ema` (the EMA weights BasicSR-style trainers save beside `params`). */
  readonly ema?: boolean;
}

/** A state dict read from a PyTorch checkpoint: tensors by name (PyTorch layout), the file format, and where in the file it was. */
export interface TorchStateDict {
  readonly tensors: Record<string, RawTensor>;
  readonly format: 'zip' | 'legacy';
  /** Where the state dict was: `bare`, or the top-level key. */
  readonly wrapper: string;
}

const isTensorDict = (d: PyDict): boolean => d.map.size > 0 && [...d.map.values()].every((v) => v instanceof TensorRef);

/** Picks the state dict inside a checkpoint's top-level object. */
function unwrap(root: unknown, opts: TorchReadOptions, source: string): { dict: PyDict; wrapper: string } {
  if (!(root instanceof PyDict)) throw new Error(`${source}: the checkpoint holds ${describe(root)}, not a dict`);
  const keys = [...root.map.keys()].filter((k): k is string => typeof k === 'string');
  const want = opts.key ?? (opts.ema ? 'params_ema' : undefined);
  if (want !== undefined) {
    if (!root.map.has(want)) throw new Error(`${source}: the checkpoint has no '${want}' (top-level keys: ${keys.join(', ')})`);
    return { dict: asStateDict(root.map.get(want), want, source), wrapper: want };
  }
  if (isTensorDict(root)) return { dict: root, wrapper: 'bare' };
  for (const k of ['params', 'params_ema', 'state_dict', 'model', 'net', 'network']) {
    if (root.map.has(k)) return { dict: asStateDict(root.map.get(k), k, source), wrapper: k };
  }
  return { dict: asStateDict(root, 'bare', source), wrapper: 'bare' };
}

function asStateDict(v: unknown, where: string, source: string): PyDict {
  if (!(v instanceof PyDict)) throw new Error(`${source}: '${where}' is ${describe(v)}, not a state dict`);
  for (const [k, t] of v.map) {
    if (typeof k !== 'string') throw new Error(`${source}: '${where}' has a non-string key ${describe(k)}`);
    if (!(t instanceof TensorRef)) throw new Error(`${source}: '${where}' is not a state dict: its entry '${k}' is ${describe(t)}, not a tensor`);
  }
  return v;
}

/**
 * Reads the state dict of a PyTorch checkpoint (zip or legacy `torch.save` format) without
 * running anything: names as in the file (a DataParallel `module.` prefix removed), data in
 * PyTorch layout, floating types as float32 and integer types as int32 (`dtype` records the
 * file's type).
 */
export function readTorchStateDict(file: string, opts: TorchReadOptions = {}): TorchStateDict {
  const bytes = (() => {
    try { return fs.readFileSync(file); } catch (err) { throw new Error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`); }
  })();
  const { root, format } = parseCheckpoint(bytes, file);
  const { dict, wrapper } = unwrap(root, opts, file);
  const names = [...dict.map.keys()] as string[];
  if (names.length === 0) throw new Error(`${file}: the state dict${wrapper === 'bare' ? '' : ` in '${wrapper}'`} holds no tensors`);
  const strip = names.length > 0 && names.every((k) => k.startsWith('module.'));
  // Materialised data is at most 4 bytes per element; views of one storage may repeat it, but
  // never beyond a few times the file (a bound that stops a pickle from multiplying a storage).
  const budget = 4 * bytes.byteLength + 2 ** 20;
  let total = 0;
  const tensors = tensorTable<RawTensor>();
  for (const k of names) {
    const t = dict.map.get(k) as TensorRef;
    const name = strip ? k.slice('module.'.length) : k;
    if (name === '__proto__') throw new Error(`${file}: '${name}' is not a usable tensor name`);
    total += 4 * t.shape.reduce((a, b) => a * b, 1);
    if (total > budget) throw new Error(`${file}: the tensors would take more than ${budget} bytes, beyond what a file of ${bytes.byteLength} bytes can hold`);
    tensors[name] = materialise(t, file, k);
  }
  return { tensors, format, wrapper };
}
