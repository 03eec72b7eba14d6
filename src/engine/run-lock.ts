// One run per work directory. Two runs writing the same checkpoints, logs and experiment.json
// would corrupt each other, so a run holds `<workDir>/.lock` (its pid, host, start time and
// command) for as long as it lasts. A lock left by a process that is gone is taken over; one
// written on another host (a shared file system) cannot be checked from here, so it is refused
// with a hint to delete it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What a run's lock file records about it. */
export interface RunLockOwner {
  readonly pid: number;
  readonly host: string;
  /** ISO time the run took the lock. */
  readonly started: string;
  readonly command: string;
}

/** Thrown when the work directory is held by another run. */
export class WorkDirLockedError extends Error {
  /** The run holding the directory, when its lock file could be read. */
  readonly owner: RunLockOwner | undefined;
  /** The lock file. */
  readonly file: string;
  constructor(message: string, file: string, owner: RunLockOwner | undefined) {
    super(message);
    this.name = 'WorkDirLockedError';
    this.file = file;
    this.owner = owner;
  }
}

/** A held lock; releasing (or disposing) it removes the file, once. */
export interface RunLock extends Disposable {
  readonly file: string;
  release(): void;
}

const LOCK_FILE = '.lock';

function readOwner(file: string): RunLockOwner | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RunLockOwner>;
    if (typeof v.pid !== 'number' || typeof v.host !== 'string') return undefined;
    return { pid: v.pid, host: v.host, started: String(v.started ?? '?'), command: String(v.command ?? '?') };
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists here (EPERM: it does, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function describe(o: RunLockOwner): string {
  return `pid ${o.pid} on ${o.host}, started ${o.started}: ${o.command}`;
}

/**
 * Moves a stale lock out of the way. Renaming is atomic, so of two processes taking over the
 * same stale lock only one moves it; if what was moved is not the stale lock that was read (a
 * new run took it meanwhile), it is put back.
 */
function removeStale(file: string, stale: string): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // gone already: someone else moved it
  }
  const moved = fs.readFileSync(aside, 'utf8');
  if (moved !== stale) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // another run holds a newer lock; the next attempt reports it
    }
  }
  fs.rmSync(aside, { force: true });
}

/**
 * Takes `<workDir>/.lock` for this process, creating the directory if needed. Throws
 * WorkDirLockedError naming the holder when a live run (in this process or another) has it.
 */
export function acquireRunLock(workDir: string): RunLock {
  fs.mkdirSync(workDir, { recursive: true });
  const file = path.join(workDir, LOCK_FILE);
  const me: RunLockOwner = {
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    command: [path.basename(process.argv[0] ?? 'node'), ...process.argv.slice(1)].join(' '),
  };
  const content = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx'); // fails if the file exists: creation is the atomic test
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
      if (text === undefined) continue; // released meanwhile
      const owner = readOwner(file);
      if (owner === undefined) {
        throw new WorkDirLockedError(`work directory ${workDir} is locked by ${file}, which cannot be read; if no run is using the directory, delete it`, file, undefined);
      }
      if (owner.host !== me.host) {
        throw new WorkDirLockedError(
          `work directory ${workDir} is in use by a run on another host (${describe(owner)}); if that run is over, delete ${file}`,
          file,
          owner,
        );
      }
      if (alive(owner.pid)) {
        throw new WorkDirLockedError(`work directory ${workDir} is in use by another run (${describe(owner)})`, file, owner);
      }
      removeStale(file, text);
      continue;
    }
    try {
      fs.writeSync(fd, content);
    } finally {
      fs.closeSync(fd);
    }
    return held(file, content);
  }
  throw new WorkDirLockedError(`work directory ${workDir}: could not take ${file} (other runs keep taking it)`, file, readOwner(file));
}

function held(file: string, content: string): RunLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    // Only our own lock: after a take-over the file may belong to another run.
    try {
      if (fs.readFileSync(file, 'utf8') === content) fs.rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
  // process.exit() (a second Ctrl-C) skips finally blocks but not 'exit' listeners.
  process.on('exit', release);
  return { file, release, [Symbol.dispose]: release };
}
