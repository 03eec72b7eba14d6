// A reader of the zip archives `torch.save` writes (PyTorch >= 1.6), held in memory. Only what
// PyTorch's writer produces is needed: storages are STORED (uncompressed), so a compressed
// storage is refused outright, and a compressed small entry (a re-zipped data.pkl) is inflated
// only after its declared sizes pass the checks, with the output capped at the declared size.
import zlib from 'node:zlib';

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const EOCD64_LOCATOR_SIG = 0x07064b50;
const EOCD64_SIG = 0x06064b50;
const CDH_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;
// A compressed entry larger than this once inflated is refused: only pickles are ever
// compressed, and a state dict's pickle is a few MB at most.
export const MAX_INFLATED = 64 * 2 ** 20;

function u64(view: DataView, at: number, where: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${where}: zip field out of range (${v})`);
  return Number(v);
}

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();

  constructor(readonly bytes: Uint8Array, readonly source: string) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = bytes.byteLength;
    // The end-of-central-directory record is within the last 22 + 65535 (comment) bytes.
    let eocd = -1;
    for (let i = n - 22; i >= Math.max(0, n - 22 - 65535); i--) {
      if (view.getUint32(i, true) === EOCD_SIG) { eocd = i; break; }
    }
    if (eocd < 0) throw new Error(`${source}: not a complete zip archive (no end-of-central-directory record: the file is cut off or not a zip)`);
    let count = view.getUint16(eocd + 10, true);
    let cdSize = view.getUint32(eocd + 12, true);
    let cdOffset = view.getUint32(eocd + 16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || view.getUint32(loc, true) !== EOCD64_LOCATOR_SIG) throw new Error(`${source}: zip64 archive without a zip64 locator`);
      const at = u64(view, loc + 8, source);
      if (at + 56 > n || view.getUint32(at, true) !== EOCD64_SIG) throw new Error(`${source}: bad zip64 end-of-central-directory record`);
      count = u64(view, at + 32, source);
      cdSize = u64(view, at + 40, source);
      cdOffset = u64(view, at + 48, source);
    }
    if (cdOffset + cdSize > n) throw new Error(`${source}: the zip central directory lies outside the file (is it cut off?)`);
    // Each header is at least 46 bytes, which bounds `count` by the file itself.
    if (count * 46 > cdSize) throw new Error(`${source}: the zip central directory claims ${count} entries in ${cdSize} bytes`);
    let p = cdOffset;
    const end = cdOffset + cdSize;
    for (let i = 0; i < count; i++) {
      if (p + 46 > end || view.getUint32(p, true) !== CDH_SIG) throw new Error(`${source}: corrupt zip central directory (entry ${i})`);
      const method = view.getUint16(p + 10, true);
      let compressedSize = view.getUint32(p + 20, true);
      let size = view.getUint32(p + 24, true);
      const nameLen = view.getUint16(p + 28, true);
      const extraLen = view.getUint16(p + 30, true);
      const commentLen = view.getUint16(p + 32, true);
      let localHeaderOffset = view.getUint32(p + 42, true);
      if (p + 46 + nameLen + extraLen + commentLen > end) throw new Error(`${source}: corrupt zip central directory (entry ${i})`);
      const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
      // Zip64: the 0xffffffff fields are given, in order, in the extra field with id 1.
      let x = p + 46 + nameLen;
      const xEnd = x + extraLen;
      while (x + 4 <= xEnd) {
        const id = view.getUint16(x, true);
        const len = view.getUint16(x + 2, true);
        if (x + 4 + len > xEnd) break;
        if (id === 1) {
          let q = x + 4;
          const take = () => { if (q + 8 > x + 4 + len) throw new Error(`${source}: bad zip64 field for ${name}`); const v = u64(view, q, source); q += 8; return v; };
          if (size === 0xffffffff) size = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
        }
        x += 4 + len;
      }
      // Sizes are checked here, before any entry is read: an entry cannot hold more than the
      // file, and a compressed one may not claim more than MAX_INFLATED once inflated.
      if (localHeaderOffset + compressedSize > n) throw new Error(`${source}: zip entry ${name} claims ${compressedSize} bytes at ${localHeaderOffset}, beyond the file's ${n} (is it cut off?)`);
      if (method === STORED && compressedSize !== size) throw new Error(`${source}: stored zip entry ${name} declares ${size} bytes but holds ${compressedSize}`);
      if (method !== STORED && size > MAX_INFLATED) throw new Error(`${source}: refusing compressed zip entry ${name}: ${compressedSize} bytes that inflate to ${size} (limit ${MAX_INFLATED}; torch.save writes storages uncompressed)`);
      this.entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Where an entry's data starts, from its local header, checked to lie in the file. */
  private dataStart(e: ZipEntry): number {
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const at = e.localHeaderOffset;
    if (at + 30 > this.bytes.byteLength || view.getUint32(at, true) !== LOCAL_SIG) throw new Error(`${this.source}: zip entry ${e.name} has no local header where the directory says`);
    return at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  }

  /**
   * An entry's bytes. A stored entry is a view of the file (no copy). `opts.storage` refuses
   * compression, since PyTorch never compresses storages and inflating one is how a small file
   * claims a huge allocation.
   */
  read(name: string, opts: { storage?: boolean } = {}): Uint8Array {
    const e = this.entries.get(name);
    if (e === undefined) throw new Error(`${this.source}: the archive has no entry ${name}`);
    const start = this.dataStart(e);
    if (start + e.compressedSize > this.bytes.byteLength) {
      throw new Error(`${this.source}: zip entry ${name} runs past the end of the file (${e.compressedSize} bytes at ${start}, file has ${this.bytes.byteLength}; is it cut off?)`);
    }
    if (e.method === STORED) {
      if (e.compressedSize !== e.size) throw new Error(`${this.source}: stored zip entry ${name} declares ${e.size} bytes but holds ${e.compressedSize}`);
      return this.bytes.subarray(start, start + e.size);
    }
    if (e.method !== DEFLATED) throw new Error(`${this.source}: zip entry ${name} uses compression method ${e.method} (only stored and deflate are read)`);
    if (opts.storage) {
      throw new Error(`${this.source}: refusing compressed storage entry ${name} (${e.compressedSize} bytes inflating to ${e.size}); torch.save writes storages uncompressed`);
    }
    if (e.size > MAX_INFLATED) throw new Error(`${this.source}: refusing compressed zip entry ${name}: it declares ${e.size} bytes once inflated (limit ${MAX_INFLATED})`);
    try {
      const out = zlib.inflateRawSync(this.bytes.subarray(start, start + e.compressedSize), { maxOutputLength: Math.max(1, e.size) });
      if (out.byteLength !== e.size) throw new Error(`inflated to ${out.byteLength} bytes, the directory says ${e.size}`);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      throw new Error(`${this.source}: cannot inflate zip entry ${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
