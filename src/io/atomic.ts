// Crash-safe writes of files and whole directories.
//
// Files: write `<path>.tmp-<pid>-<n>`, fsync it, rename over `<path>`, fsync the parent
// directory. A reader sees either the previous file or the new one.
//
// Directories (checkpoints): build `<dir>.tmp-<pid>-<n>` beside the target, fsync every file
// and directory in it, then publish:
//   1. rename the existing `<dir>` to `<dir>.old-<pid>-<n>`   (only if it exists)
//   2. rename `<dir>.tmp-<pid>-<n>` to `<dir>`
//   3. remove `<dir>.old-<pid>-<n>`
// with the parent fsynced after each rename. A crash between 1 and 2 leaves no `<dir>` but a
// complete new copy under `.tmp-` (step 1 only happens once the copy is complete) plus the old
// one under `.old-`; `cleanStaleTemps` rolls such a pair forward. Any other leftover `.tmp-`
// is an unfinished copy and is removed, and a leftover `.old-` beside an existing `<dir>` is
// removed too. So after a crash and a clean-up, `<dir>` is either the old or the new complete
// directory, never a torn one.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

let counter = 0;

/** `<target>.tmp-<pid>-<n>` / `<target>.old-<pid>-<n>`; parsed back by `parseTempName`. */
function siblingName(target: string, kind: 'tmp' | 'old', n: number): string {
  return `${target}.${kind}-${process.pid}-${n}`;
}

const TEMP_NAME = /^(.+)\.(tmp|old)-(\d+)-(\d+)$/;

interface TempName {
  readonly base: string;
  readonly kind: 'tmp' | 'old';
  readonly pid: number;
  readonly n: number;
}

function parseTempName(name: string): TempName | undefined {
  const m = TEMP_NAME.exec(name);
  if (m === null) return undefined;
  return { base: m[1]!, kind: m[2] as 'tmp' | 'old', pid: Number(m[3]), n: Number(m[4]) };
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function wrap(op: string, target: string, err: unknown): Error {
  return new Error(`${op} ${target}: ${describe(err)}`, { cause: err });
}

/** Directory fsync makes renames/creations durable; Windows cannot open directories for it. */
function ignorableDirSyncError(err: unknown): boolean {
  const code = errorCode(err);
  return process.platform === 'win32' && (code === 'EPERM' || code === 'EISDIR' || code === 'EACCES');
}

export async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch (err) {
    if (!ignorableDirSyncError(err)) throw err;
  } finally {
    await fh?.close();
  }
}

export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    if (!ignorableDirSyncError(err)) throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** fsync every regular file and directory below `dir` (children before parents). */
async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await fsyncTree(p);
    } else if (entry.isFile()) {
      const fh = await fsp.open(p, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  await fsyncDir(dir);
}

/** Atomically replace (or create) the file at `file` with `data`. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const target = path.resolve(file);
  let tmp: string | undefined;
  let fh: fsp.FileHandle | undefined;
  try {
    // 'wx' so that a name collision (another module copy, a stale file) is never overwritten.
    for (;;) {
      const candidate = siblingName(target, 'tmp', counter++);
      try {
        fh = await fsp.open(candidate, 'wx');
        tmp = candidate;
        break;
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw err;
      }
    }
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, target);
    tmp = undefined;
    await fsyncDir(path.dirname(target));
  } catch (err) {
    await fh?.close().catch(() => undefined);
    if (tmp !== undefined) await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw wrap('writeFileAtomic', file, err);
  }
}

/** Synchronous `writeFileAtomic`, for code that cannot await (exit handlers, small tools). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const target = path.resolve(file);
  let tmp: string | undefined;
  let fd: number | undefined;
  try {
    for (;;) {
      const candidate = siblingName(target, 'tmp', counter++);
      try {
        fd = fs.openSync(candidate, 'wx');
        tmp = candidate;
        break;
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw err;
      }
    }
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
    tmp = undefined;
    fsyncDirSync(path.dirname(target));
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    if (tmp !== undefined) fs.rmSync(tmp, { force: true });
    throw wrap('writeFileAtomic', file, err);
  }
}

/**
 * Build a directory with `fill(tmpDir)` and move it to `finalDir` in one step, replacing an
 * existing `finalDir` safely (see the header comment). `fill` writes into `tmpDir` with plain
 * writes; everything in it is fsynced before publishing. If `fill` throws, the temporary
 * directory is removed and `finalDir` is untouched.
 */
export async function writeDirAtomic(finalDir: string, fill: (tmpDir: string) => Promise<void> | void): Promise<void> {
  const target = path.resolve(finalDir);
  const parent = path.dirname(target);
  let tmp: string | undefined;
  let n = 0;
  try {
    await fsp.mkdir(parent, { recursive: true });
    for (;;) {
      n = counter++;
      const candidate = siblingName(target, 'tmp', n);
      try {
        await fsp.mkdir(candidate);
        tmp = candidate;
        break;
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw err;
      }
    }
    await fill(tmp);
    await fsyncTree(tmp);
  } catch (err) {
    if (tmp !== undefined) await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw wrap('writeDirAtomic', finalDir, err);
  }

  const old = siblingName(target, 'old', n);
  let movedOld = false;
  try {
    try {
      await fsp.rename(target, old);
      movedOld = true;
      await fsyncDir(parent);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
    }
    await fsp.rename(tmp, target);
    await fsyncDir(parent);
  } catch (err) {
    // Put the previous copy back unless something else now occupies the target.
    if (movedOld) {
      if (fs.existsSync(target)) await fsp.rm(old, { recursive: true, force: true }).catch(() => undefined);
      else await fsp.rename(old, target).catch(() => undefined);
    }
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw wrap('writeDirAtomic', finalDir, err);
  }

  if (movedOld) {
    try {
      await fsp.rm(old, { recursive: true, force: true });
    } catch (err) {
      throw new Error(`writeDirAtomic ${finalDir}: new copy is in place but the previous one at ${old} could not be removed: ${describe(err)}`, {
        cause: err,
      });
    }
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return errorCode(err) === 'EPERM';
  }
}

export interface CleanReport {
  /** Leftover temporary or previous copies that were deleted. */
  readonly removed: readonly string[];
  /** Targets that were missing and were restored from a complete leftover copy. */
  readonly restored: readonly string[];
}

/**
 * Recover from crashed `writeFileAtomic`/`writeDirAtomic` calls whose temporaries live in
 * `parentDir`. Only temporaries of processes that no longer run are touched, so it is safe
 * to call while other writers are active (a recycled pid merely postpones the clean-up).
 */
export async function cleanStaleTemps(parentDir: string): Promise<CleanReport> {
  const removed: string[] = [];
  const restored: string[] = [];
  let names: string[];
  try {
    names = await fsp.readdir(parentDir);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { removed, restored };
    throw wrap('cleanStaleTemps', parentDir, err);
  }

  // One group per interrupted call: its `.tmp-` and `.old-` siblings share pid and counter.
  const groups = new Map<string, { base: string; tmp?: string; old?: string }>();
  for (const name of names) {
    const parsed = parseTempName(name);
    if (parsed === undefined || processAlive(parsed.pid)) continue;
    const key = `${parsed.base}\0${parsed.pid}\0${parsed.n}`;
    const group = groups.get(key) ?? { base: parsed.base };
    group[parsed.kind] = path.join(parentDir, name);
    groups.set(key, group);
  }

  try {
    for (const group of groups.values()) {
      const target = path.join(parentDir, group.base);
      const targetExists = fs.existsSync(target);
      if (group.old !== undefined && !targetExists) {
        // Crashed between the two renames: the `.tmp-` copy (if present) is complete and newer.
        const source = group.tmp ?? group.old;
        await fsp.rename(source, target);
        restored.push(target);
        if (source === group.tmp) group.tmp = undefined;
        else group.old = undefined;
      }
      for (const leftover of [group.tmp, group.old]) {
        if (leftover === undefined) continue;
        await fsp.rm(leftover, { recursive: true, force: true });
        removed.push(leftover);
      }
    }
    if (removed.length > 0 || restored.length > 0) await fsyncDir(parentDir);
  } catch (err) {
    throw wrap('cleanStaleTemps', parentDir, err);
  }
  return { removed, restored };
}
