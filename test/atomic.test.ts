import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cleanStaleTemps, writeDirAtomic, writeFileAtomic, writeFileAtomicSync } from '../src/io/atomic.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-test-'));
}

/** The pid of a process that has already exited, as a crashed writer's would be. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.ok(r.pid !== undefined);
  return r.pid;
}

function writeTree(dir: string, files: Record<string, string>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
}

function readTree(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).sort().map((name) => [name, fs.readFileSync(path.join(dir, name), 'utf8')]));
}

test('writeFileAtomic creates and replaces files and leaves no temporaries', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'state.json');
    await writeFileAtomic(file, '{"a":1}');
    assert.equal(fs.readFileSync(file, 'utf8'), '{"a":1}');
    await writeFileAtomic(file, Uint8Array.of(1, 2, 3));
    assert.deepEqual([...fs.readFileSync(file)], [1, 2, 3]);
    writeFileAtomicSync(file, 'sync');
    assert.equal(fs.readFileSync(file, 'utf8'), 'sync');
    assert.deepEqual(fs.readdirSync(dir), ['state.json']);

    const missing = path.join(dir, 'no', 'such', 'dir', 'f.txt');
    await assert.rejects(writeFileAtomic(missing, 'x'), (err: Error) => err.message.startsWith(`writeFileAtomic ${missing}:`));
    assert.throws(() => writeFileAtomicSync(missing, 'x'), (err: Error) => err.message.startsWith(`writeFileAtomic ${missing}:`));
    // Cannot replace a directory with a file: error names the target, temp file is gone.
    fs.mkdirSync(path.join(dir, 'sub'));
    await assert.rejects(writeFileAtomic(path.join(dir, 'sub'), 'x'), /writeFileAtomic .*sub:/);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['state.json', 'sub']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writeDirAtomic creates, replaces, and leaves the target untouched when fill fails', async () => {
  const dir = tempDir();
  try {
    const ckpt = path.join(dir, 'ckpt', 'epoch-1');
    await writeDirAtomic(ckpt, (tmp) => {
      assert.notEqual(path.resolve(tmp), path.resolve(ckpt));
      assert.equal(path.dirname(tmp), path.dirname(ckpt)); // beside the target: rename stays on one file system
      writeTree(tmp, { 'weights.bin': 'old-w', 'state.json': 'old-s', 'extra.txt': 'only in old' });
    });
    assert.deepEqual(readTree(ckpt), { 'extra.txt': 'only in old', 'state.json': 'old-s', 'weights.bin': 'old-w' });

    await writeDirAtomic(ckpt, async (tmp) => {
      await fs.promises.writeFile(path.join(tmp, 'weights.bin'), 'new-w');
      writeTree(path.join(tmp, 'nested'), { 'x.txt': 'deep' });
    });
    assert.deepEqual(fs.readdirSync(ckpt).sort(), ['nested', 'weights.bin']);
    assert.equal(fs.readFileSync(path.join(ckpt, 'nested', 'x.txt'), 'utf8'), 'deep');

    await assert.rejects(
      writeDirAtomic(ckpt, (tmp) => {
        writeTree(tmp, { 'weights.bin': 'half' });
        throw new Error('disk on fire');
      }),
      (err: Error) => err.message === `writeDirAtomic ${ckpt}: disk on fire`,
    );
    assert.equal(fs.readFileSync(path.join(ckpt, 'weights.bin'), 'utf8'), 'new-w');
    assert.deepEqual(fs.readdirSync(path.dirname(ckpt)), ['epoch-1']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('cleanStaleTemps recovers every crash point of a directory replacement', async () => {
  const dir = tempDir();
  try {
    const pid = deadPid();
    // Crash during fill: unfinished copy, target untouched.
    writeTree(path.join(dir, 'a'), { f: 'old' });
    writeTree(path.join(dir, `a.tmp-${pid}-1`), { f: 'partial' });
    // Crash between "old moved away" and "new moved in": the new copy is complete, roll forward.
    writeTree(path.join(dir, `b.old-${pid}-2`), { f: 'old' });
    writeTree(path.join(dir, `b.tmp-${pid}-2`), { f: 'new' });
    // Crash after the new copy is in place, before the old one was removed.
    writeTree(path.join(dir, 'c'), { f: 'new' });
    writeTree(path.join(dir, `c.old-${pid}-3`), { f: 'old' });
    // Only an old copy and no target (e.g. the new one was removed by hand): restore it.
    writeTree(path.join(dir, `d.old-${pid}-4`), { f: 'old' });
    // A crashed writeFileAtomic.
    fs.writeFileSync(path.join(dir, `e.json.tmp-${pid}-5`), '{"tor');
    // Temporaries of a live process (this one) are in use and must be left alone.
    writeTree(path.join(dir, `f.tmp-${process.pid}-6`), { f: 'in progress' });

    const report = await cleanStaleTemps(dir);
    assert.deepEqual([...report.restored].map((p) => path.basename(p)).sort(), ['b', 'd']);
    assert.deepEqual(
      [...report.removed].map((p) => path.basename(p)).sort(),
      [`a.tmp-${pid}-1`, `b.old-${pid}-2`, `c.old-${pid}-3`, `e.json.tmp-${pid}-5`],
    );
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a', 'b', 'c', 'd', `f.tmp-${process.pid}-6`]);
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((n) => fs.readFileSync(path.join(dir, n, 'f'), 'utf8')),
      ['old', 'new', 'new', 'old'],
    );
    assert.deepEqual(await cleanStaleTemps(dir), { removed: [], restored: [] });
    assert.deepEqual(await cleanStaleTemps(path.join(dir, 'missing')), { removed: [], restored: [] });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a writer killed at a random moment leaves a complete directory after clean-up', async () => {
  const dir = tempDir();
  try {
    const child = path.join(dir, 'child.mts');
    const atomicUrl = pathToFileURL(path.resolve('src/io/atomic.ts')).href;
    fs.writeFileSync(
      child,
      [
        `import fs from 'node:fs';`,
        `import path from 'node:path';`,
        `import { writeDirAtomic } from ${JSON.stringify(atomicUrl)};`,
        `const target = process.argv[2];`,
        `for (let v = 1; ; v++) {`,
        `  await writeDirAtomic(target, (tmp) => {`,
        `    for (const f of ['a', 'b', 'c']) fs.writeFileSync(path.join(tmp, f), String(v).repeat(2000));`,
        `  });`,
        `  process.stdout.write(v + '\\n');`,
        `}`,
      ].join('\n'),
    );
    const work = path.join(dir, 'work');
    fs.mkdirSync(work);
    const target = path.join(work, 'ckpt');
    // The child reports each version it completes; the kill lands wherever the child is by the
    // time the report for version `after` has been read, somewhere in a later version's write.
    for (const after of [1, 20]) {
      const proc = spawn(process.execPath, ['--import', 'tsx', child, target], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise((r) => proc.on('exit', r));
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const onData = (chunk: Buffer) => {
          out += chunk.toString();
          // Complete lines only: the last piece may be a line still being read.
          if (out.split('\n').slice(0, -1).includes(String(after))) {
            proc.stdout.off('data', onData);
            // Keep draining, so that the child never blocks on a full pipe before the kill.
            proc.stdout.resume();
            resolve();
          }
        };
        proc.stdout.on('data', onData);
        proc.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
      });
      proc.kill('SIGKILL');
      await exited;

      await cleanStaleTemps(work);
      assert.deepEqual(fs.readdirSync(work), ['ckpt']);
      const files = readTree(target);
      assert.deepEqual(Object.keys(files), ['a', 'b', 'c']);
      const v = files.a!.slice(0, files.a!.length / 2000);
      assert.ok(Number(v) >= after, `version ${v} after version ${after} was reported`);
      assert.deepEqual(Object.values(files), [v, v, v].map((s) => s.repeat(2000)));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
