// A pickle reader (protocols 2-5) for state dicts. It builds plain data and never runs code:
// a GLOBAL/STACK_GLOBAL is looked up in an allow-list supplied by the caller, and any other name
// is refused at the point it is referenced, before anything could call it. The allowed
// "callables" are data builders written here. Sizes and counts are checked against the bytes
// that remain, so a hostile pickle cannot claim more memory than the file holds.

/** A Python tuple (JS arrays stand for lists). */
export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** A Python dict, in insertion order; `attrs` holds state set by BUILD (an OrderedDict's `_metadata`). */
export class PyDict {
  readonly map = new Map<unknown, unknown>();
  attrs: unknown = undefined;
}

/** A Python set or frozenset (as a list of its items). */
export class PySet {
  constructor(readonly items: unknown[]) {}
}

/** A global the caller allowed: `call` builds the value from the arguments. */
export interface PyCallable {
  readonly qualname: string;
  call(args: unknown[]): unknown;
  /** What BUILD does with the state, when the callable's results accept it. */
  build?(obj: unknown, state: unknown): unknown;
}

export interface PickleOptions {
  /** Resolves `module.name`; undefined means refused. */
  readonly resolveGlobal: (module: string, name: string) => PyCallable | undefined;
  /** BINPERSID's loader. */
  readonly persistentLoad?: (pid: unknown) => unknown;
  /** Names the file in errors. */
  readonly source: string;
}

/** A checkpoint that references a global outside the allow-list. */
export class RefusedGlobalError extends Error {}

// Real pickles stay far below these: the pickler batches APPENDS/SETITEMS by 1000 items, and
// state dicts nest a few levels.
export const MAX_STACK = 20_000;
export const MAX_MARKS = 1_000;
export const MAX_MEMO = 10_000_000;

const MARK = Symbol('mark');

/**
 * Runs one pickle from `bytes[offset]` to its STOP; returns the value and where the pickle
 * ended (the legacy format has several pickles back to back).
 */
export function unpickle(bytes: Uint8Array, offset: number, opts: PickleOptions): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  const src = opts.source;
  let p = offset;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');

  const fail = (msg: string): never => { throw new Error(`${src}: bad pickle at byte ${p}: ${msg}`); };
  const need = (k: number, what: string) => { if (k < 0 || p + k > n) fail(`${what} needs ${k} bytes, ${n - p} remain (is the file cut off?)`); };
  const push = (v: unknown) => { if (stack.length >= MAX_STACK) fail(`stack deeper than ${MAX_STACK} entries`); stack.push(v); };
  const pop = (): unknown => { if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) fail('stack underflow'); return stack.pop(); };
  const top = (): unknown => { if (stack.length === 0) fail('stack underflow'); return stack[stack.length - 1]; };
  const popMark = (): unknown[] => { const m = marks.pop(); if (m === undefined) fail('no MARK'); return stack.splice(m!); };
  const u8 = () => { need(1, 'argument'); return bytes[p++]!; };
  const u16 = () => { need(2, 'argument'); const v = view.getUint16(p, true); p += 2; return v; };
  const u32 = () => { need(4, 'argument'); const v = view.getUint32(p, true); p += 4; return v; };
  const i32 = () => { need(4, 'argument'); const v = view.getInt32(p, true); p += 4; return v; };
  const u64 = () => { need(8, 'argument'); const v = view.getBigUint64(p, true); p += 8; if (v > BigInt(n)) fail(`length ${v} exceeds the file`); return Number(v); };
  const take = (len: number, what: string) => { need(len, what); const s = bytes.subarray(p, p + len); p += len; return s; };
  const str = (len: number) => { const b = take(len, 'string'); try { return utf8.decode(b); } catch { return fail('string is not UTF-8'); } };
  const line = (): string => { const e = bytes.indexOf(0x0a, p); if (e < 0) fail('unterminated line'); const s = latin1.decode(bytes.subarray(p, e)); p = e + 1; return s; };
  const memoPut = (i: number, v: unknown) => { if (!memo.has(i) && memo.size >= MAX_MEMO) fail(`memo larger than ${MAX_MEMO}`); memo.set(i, v); };
  const memoGet = (i: number) => { if (!memo.has(i)) fail(`memo ${i} was never stored`); return memo.get(i); };
  const global = (module: string, name: string): PyCallable => {
    const c = opts.resolveGlobal(module, name);
    if (c === undefined) throw new RefusedGlobalError(`refusing to load ${src}: the checkpoint calls ${module}.${name}, which is not part of a state dict (only tensors, storages and plain containers are read)`);
    return c;
  };
  const callable = (f: unknown, op: string): PyCallable => {
    if (typeof f !== 'object' || f === null || typeof (f as PyCallable).call !== 'function') fail(`${op} of something that is not an allowed global`);
    return f as PyCallable;
  };
  const setItems = (d: unknown, items: unknown[]) => {
    if (!(d instanceof PyDict)) fail('SETITEM(S) on something that is not a dict');
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) (d as PyDict).map.set(items[i], items[i + 1]);
  };
  const append = (l: unknown, items: unknown[]) => {
    if (!Array.isArray(l)) fail('APPEND(S) on something that is not a list');
    for (const x of items) (l as unknown[]).push(x);
  };

  for (;;) {
    need(1, 'opcode');
    const op = bytes[p++]!;
    switch (op) {
      case 0x80: { const v = u8(); if (v < 2 || v > 5) fail(`pickle protocol ${v} (2-5 are read)`); break; } // PROTO
      case 0x95: u64(); break; // FRAME: frames are only a buffering hint
      case 0x2e: { // STOP
        const v = pop();
        return { value: v, end: p };
      }
      case 0x28: if (marks.length >= MAX_MARKS) fail(`MARKs nested deeper than ${MAX_MARKS}`); marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4a: push(i32()); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: { // LONG1: little-endian two's complement
        const len = u8();
        const b = take(len, 'LONG1');
        let v = 0n;
        for (let i = len - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (len > 0 && b[len - 1]! & 0x80) v -= 1n << BigInt(8 * len);
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: { need(8, 'BINFLOAT'); push(view.getFloat64(p, false)); p += 8; break; } // BINFLOAT (big-endian)
      case 0x58: push(str(u32())); break; // BINUNICODE
      case 0x8c: push(str(u8())); break; // SHORT_BINUNICODE
      case 0x8d: push(str(u64())); break; // BINUNICODE8
      case 0x42: push(take(u32(), 'BINBYTES').slice()); break; // BINBYTES
      case 0x43: push(take(u8(), 'SHORT_BINBYTES').slice()); break; // SHORT_BINBYTES
      case 0x8e: push(take(u64(), 'BINBYTES8').slice()); break; // BINBYTES8
      case 0x54: push(latin1.decode(take(i32(), 'BINSTRING'))); break; // BINSTRING (protocol-2 str)
      case 0x55: push(latin1.decode(take(u8(), 'SHORT_BINSTRING'))); break; // SHORT_BINSTRING
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x7d: push(new PyDict()); break; // EMPTY_DICT
      case 0x29: push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x8f: push(new PySet([])); break; // EMPTY_SET
      case 0x85: push(new PyTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); push(new PyTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); push(new PyTuple([a, b, c])); break; } // TUPLE3
      case 0x74: push(new PyTuple(popMark())); break; // TUPLE
      case 0x6c: push(popMark()); break; // LIST
      case 0x64: { const items = popMark(); const d = new PyDict(); setItems(d, items); push(d); break; } // DICT
      case 0x61: { const x = pop(); append(top(), [x]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x90: { const items = popMark(); const s = top(); if (!(s instanceof PySet)) fail('ADDITEMS on something that is not a set'); (s as PySet).items.push(...items); break; } // ADDITEMS
      case 0x91: push(new PySet(popMark())); break; // FROZENSET
      case 0x71: memoPut(u8(), top()); break; // BINPUT
      case 0x72: memoPut(u32(), top()); break; // LONG_BINPUT
      case 0x94: memoPut(memo.size, top()); break; // MEMOIZE
      case 0x68: push(memoGet(u8())); break; // BINGET
      case 0x6a: push(memoGet(u32())); break; // LONG_BINGET
      case 0x63: { const module = line(); const name = line(); push(global(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(); const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(global(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop(); const f = callable(pop(), 'REDUCE');
        if (!(args instanceof PyTuple)) fail('REDUCE arguments are not a tuple');
        push(f.call((args as PyTuple).items));
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args), the same builder here
        const args = pop(); const f = callable(pop(), 'NEWOBJ');
        if (!(args instanceof PyTuple)) fail('NEWOBJ arguments are not a tuple');
        push(f.call((args as PyTuple).items));
        break;
      }
      case 0x62: { // BUILD
        const state = pop(); const obj = top();
        if (obj instanceof PyDict) obj.attrs = state;
        else if (typeof obj === 'object' && obj !== null && typeof (obj as { build?: unknown }).build === 'function') {
          stack[stack.length - 1] = (obj as { build(s: unknown): unknown }).build(state);
        } else fail('BUILD on an object that takes no state');
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('persistent id in a pickle that may not have one');
        push(opts.persistentLoad!(pid));
        break;
      }
      default:
        fail(`opcode 0x${op.toString(16).padStart(2, '0')} is not read (not used by state dicts)`);
    }
  }
}
