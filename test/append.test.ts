import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppendFile } from '../src/io/append.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'append-test-'));
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Runs `fn` while every write to a file writes only the first half of what it is given and
 * then fails as a full disk does; the simulated crash of an append.
 */
function withFailingWrites<A>(fn: () => A): A {
  const writeSync = fs.writeSync;
  const failing = (fd: number, buffer: Uint8Array, offset = 0, length = buffer.length - offset): number => {
    writeSync(fd, buffer, offset, Math.floor(length / 2));
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  (fs as { writeSync: unknown }).writeSync = failing;
  try {
    return fn();
  } finally {
    fs.writeSync = writeSync;
  }
}

test('a shared append file repairs a torn last record before appending, and keeps other appenders\' records whole', () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'sub', 'log.txt');
    const a = AppendFile.open(file, 'Log', { terminator: 0x0a });
    const b = AppendFile.open(file, 'Log', { terminator: 0x0a });
    a.append(bytes('a1\n'));
    b.append(bytes('b1\n'));
    a.append(bytes('a2\n'));
    a.sync();
    a.close();
    a.close(); // idempotent
    b.close();
    assert.throws(() => a.append(bytes('x\n')), /Log .*log\.txt: already closed/);
    assert.throws(() => a.sync(), /already closed/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'a1\nb1\na2\n');

    // A machine crash left half a record: the next appender starts on a fresh line.
    fs.appendFileSync(file, 'a3-torn');
    const c = AppendFile.open(file, 'Log', { terminator: 0x0a });
    c.append(bytes('c1\n'));
    c.close();
    assert.equal(fs.readFileSync(file, 'utf8'), 'a1\nb1\na2\na3-torn\nc1\n');

    // Without a terminator nothing is added; an empty file needs no repair either.
    const d = AppendFile.open(file, 'Log');
    d.close();
    const empty = path.join(dir, 'empty.txt');
    AppendFile.open(empty, 'Log', { terminator: 0x0a }).close();
    assert.equal(fs.readFileSync(file, 'utf8'), 'a1\nb1\na2\na3-torn\nc1\n');
    assert.equal(fs.readFileSync(empty, 'utf8'), '');

    // A failed append of a shared file leaves its fragment (others may have appended since).
    const e = AppendFile.open(file, 'Log', { terminator: 0x0a });
    assert.throws(() => withFailingWrites(() => e.append(bytes('e1-long\n'))), /Log .*log\.txt: ENOSPC/);
    e.close();
    assert.equal(fs.readFileSync(file, 'utf8'), 'a1\nb1\na2\na3-torn\nc1\ne1-l');
    assert.throws(() => AppendFile.open(path.join(empty, 'below-a-file'), 'Log'), /Log .*below-a-file: /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an exclusive append file takes the first free name and cuts a failed append off again', () => {
  const dir = tempDir();
  try {
    const first = path.join(dir, 'logs', 'events');
    const names = (): string[] => [first, `${first}.1`, `${first}.2`];
    const a = AppendFile.createNew(names(), 'Events');
    const b = AppendFile.createNew(names(), 'Events');
    assert.equal(a.path, first);
    assert.equal(b.path, `${first}.1`);
    b.close();

    a.append(bytes('record-1|'));
    // The crash of an append: half of the record reached the file before the write failed.
    assert.throws(() => withFailingWrites(() => a.append(bytes('record-2|'))), /Events .*events: ENOSPC/);
    assert.equal(fs.readFileSync(first, 'utf8'), 'record-1|');
    a.append(bytes('record-3|'));
    a.close();
    assert.equal(fs.readFileSync(first, 'utf8'), 'record-1|record-3|');

    AppendFile.createNew(names(), 'Events').close();
    assert.throws(() => AppendFile.createNew(names(), 'Events'), /Events .*events\.2: every candidate file name exists/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
