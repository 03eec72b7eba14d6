// Append-only log files (JSON lines, TensorBoard event files). Each record goes out in one
// write() on a descriptor opened for appending, so a crash of the writing process never tears a
// record and records of several appenders never interleave. Only a machine crash or a failed
// write (a full disk) can leave a torn fragment, and only at the end of the file; the readers of
// both formats skip such a tail.
import fs from 'node:fs';
import path from 'node:path';

export interface AppendFileOptions {
  /**
   * The byte every record ends with, for a file shared with other appenders and reopened after
   * crashes. When the existing file ends with another byte (a torn record), the byte is written
   * first, so that the fragment stays apart from the next record.
   */
  readonly terminator?: number;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class AppendFile {
  private fd: number | undefined;
  /** Bytes appended so far, a record boundary; what a failed append of an exclusive file is cut back to. */
  private size = 0;

  private constructor(
    readonly path: string,
    /** Names the owner in error messages ('JsonlWriter'). */
    private readonly label: string,
    fd: number,
    private readonly exclusive: boolean,
  ) {
    this.fd = fd;
  }

  /** Opens `file` for appending (created with its directory if missing); other appenders may share it. */
  static open(file: string, label: string, options: AppendFileOptions = {}): AppendFile {
    let fd: number | undefined;
    try {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      // 'a+' so that the last byte can be read.
      fd = fs.openSync(file, 'a+');
      const size = fs.fstatSync(fd).size;
      if (options.terminator !== undefined && size > 0) {
        const last = Buffer.alloc(1);
        fs.readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== options.terminator) fs.writeSync(fd, Uint8Array.of(options.terminator));
      }
    } catch (err) {
      if (fd !== undefined) fs.closeSync(fd);
      throw new Error(`${label} ${file}: ${message(err)}`, { cause: err });
    }
    return new AppendFile(file, label, fd, false);
  }

  /**
   * Creates the first of `names` that does not exist yet (never appending to someone else's
   * file). This appender is then the file's only writer, so a failed append is cut off again
   * and the file always ends at a record boundary.
   */
  static createNew(names: Iterable<string>, label: string): AppendFile {
    let last: string | undefined;
    for (const file of names) {
      last = file;
      try {
        fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
        return new AppendFile(file, label, fs.openSync(file, 'ax'), true);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'EEXIST') throw new Error(`${label} ${file}: ${message(err)}`, { cause: err });
      }
    }
    throw new Error(`${label} ${last ?? '(no name)'}: every candidate file name exists`);
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  /** Appends `data` as one write. */
  append(data: Uint8Array): void {
    const fd = this.openFd();
    try {
      // Regular files take the whole buffer in one write; the loop only matters on errors
      // such as a full disk.
      let written = fs.writeSync(fd, data);
      while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written);
    } catch (err) {
      if (this.exclusive) {
        try {
          fs.ftruncateSync(fd, this.size);
        } catch {
          // the write error below is the one to report
        }
      }
      throw new Error(`${this.label} ${this.path}: ${message(err)}`, { cause: err });
    }
    this.size += data.length;
  }

  /** fsync: makes appended records survive a machine crash (a process crash needs none). */
  sync(): void {
    const fd = this.openFd();
    try {
      fs.fsyncSync(fd);
    } catch (err) {
      throw new Error(`${this.label} ${this.path}: ${message(err)}`, { cause: err });
    }
  }

  /** fsync and close; further appends throw, a second close does nothing. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  private openFd(): number {
    if (this.fd === undefined) throw new Error(`${this.label} ${this.path}: already closed`);
    return this.fd;
  }
}
