// JSON-lines logs: one JSON object per line, appended. Every line goes out in a single write
// on a file opened in append mode, so lines from several writers never interleave and a
// process crash cannot tear a line; only a machine crash or a full disk can leave a partial
// last line, which `readJsonl` skips with a warning.
import fs from 'node:fs';
import path from 'node:path';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class JsonlWriter {
  readonly path: string;
  private fd: number | undefined;

  constructor(file: string) {
    this.path = file;
    try {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      // 'a+' so that the last byte can be checked below.
      this.fd = fs.openSync(file, 'a+');
      // A torn line left by an earlier crash must not swallow the first new line.
      const size = fs.fstatSync(this.fd).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        fs.readSync(this.fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) fs.writeSync(this.fd, '\n');
      }
    } catch (err) {
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = undefined;
      throw new Error(`JsonlWriter ${file}: ${message(err)}`, { cause: err });
    }
  }

  /** Append `record` as one line. Values JSON cannot represent follow JSON.stringify (NaN → null). */
  write(record: unknown): void {
    const fd = this.openFd();
    const json = JSON.stringify(record) as string | undefined;
    if (json === undefined) throw new Error(`JsonlWriter ${this.path}: value is not JSON-serialisable (${typeof record})`);
    const line = Buffer.from(`${json}\n`, 'utf8');
    try {
      // Regular files take the whole buffer in one write; the loop only matters on errors
      // such as a full disk, where a partial line is the best that can be done.
      let written = fs.writeSync(fd, line);
      while (written < line.length) written += fs.writeSync(fd, line, written, line.length - written);
    } catch (err) {
      throw new Error(`JsonlWriter ${this.path}: ${message(err)}`, { cause: err });
    }
  }

  /** Make written lines durable (fsync). Lines already survive a process crash without it. */
  flush(): void {
    const fd = this.openFd();
    try {
      fs.fsyncSync(fd);
    } catch (err) {
      throw new Error(`JsonlWriter ${this.path}: ${message(err)}`, { cause: err });
    }
  }

  /** fsync and close; further writes throw, a second close does nothing. */
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
    if (this.fd === undefined) throw new Error(`JsonlWriter ${this.path}: already closed`);
    return this.fd;
  }
}

export interface ReadJsonlOptions {
  /** Called for each skipped line (default: `process.emitWarning`). */
  readonly onWarning?: (message: string) => void;
}

/**
 * All records of a JSON-lines file. Blank lines are ignored; a line that does not parse is
 * skipped with a warning naming the file and line (a torn last line after a crash, or the
 * fragment such a crash left before later appends).
 */
export function readJsonl(file: string, options: ReadJsonlOptions = {}): unknown[] {
  const warn = options.onWarning ?? ((m: string) => process.emitWarning(m, 'JsonlWarning'));
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`readJsonl ${file}: ${message(err)}`, { cause: err });
  }
  const lines = text.split('\n');
  const records: unknown[] = [];
  lines.forEach((line, i) => {
    if (line.trim().length === 0) return;
    try {
      records.push(JSON.parse(line));
    } catch {
      const torn = i === lines.length - 1; // no newline after it: the write never finished
      warn(`${file}:${i + 1}: skipped ${torn ? 'torn last line' : 'unparsable line'} (${line.length} characters)`);
    }
  });
  return records;
}
