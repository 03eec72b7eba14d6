// JSON-lines logs: one JSON object per line, appended with `AppendFile` (append.ts), so lines
// from several writers never interleave and a process crash cannot tear a line; only a machine
// crash or a full disk can leave a partial last line, which `readJsonl` skips with a warning.
import fs from 'node:fs';
import { AppendFile } from './append.ts';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class JsonlWriter {
  private readonly file: AppendFile;

  constructor(file: string) {
    // A torn line left by an earlier crash must not swallow the first new line.
    this.file = AppendFile.open(file, 'JsonlWriter', { terminator: 0x0a });
  }

  get path(): string {
    return this.file.path;
  }

  /** Append `record` as one line. Values JSON cannot represent follow JSON.stringify (NaN → null). */
  write(record: unknown): void {
    if (this.file.closed) throw new Error(`JsonlWriter ${this.path}: already closed`);
    const json = JSON.stringify(record) as string | undefined;
    if (json === undefined) throw new Error(`JsonlWriter ${this.path}: value is not JSON-serialisable (${typeof record})`);
    this.file.append(Buffer.from(`${json}\n`, 'utf8'));
  }

  /** Make written lines durable (fsync). Lines already survive a process crash without it. */
  flush(): void {
    this.file.sync();
  }

  /** fsync and close; further writes throw, a second close does nothing. */
  close(): void {
    this.file.close();
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
