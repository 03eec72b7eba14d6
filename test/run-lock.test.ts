import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fit } from '../src/engine/fit.ts';
import { acquireRunLock, WorkDirLockedError } from '../src/engine/run-lock.ts';
import { experiment, models, losses, optim } from '../src/index.ts';
import { synthetic } from '../src/data/components.ts';
import { tempDir } from './helpers/engine.ts';

const tiny = () =>
  experiment({
    name: 'lock-test',
    seed: 3,
    data: { train: synthetic({ videos: 1, samplesPerVideo: 2, height: 32, width: 32, seed: 11 }), batchSize: 2 },
    model: models.dbn({ innerChannels: 8 }),
    loss: losses.charbonnier({ reduction: 'mean' }),
    optimizer: optim.adam({ lr: 2e-3 }),
    run: { iterations: 2 },
    validation: { every: 2 },
    checkpoint: { every: 2 },
  });
const quiet = { progress: false, tensorboard: false, jsonl: false } as const;

/** A pid no process has: that of a child which has exited and been reaped. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

test('a second fit() into a work directory in use is refused, naming the run that holds it', async () => {
  const workDir = tempDir();
  const lock = path.join(workDir, '.lock');
  const first = fit(tiny(), { workDir, ...quiet }); // takes the lock before its first await
  await assert.rejects(fit(tiny(), { workDir, ...quiet }), (err: Error) => {
    assert.ok(err instanceof WorkDirLockedError);
    assert.match(err.message, new RegExp(`in use by another run \\(pid ${process.pid} on ${os.hostname()}`));
    return true;
  });
  assert.equal((await first).reason, 'completed');
  assert.ok(!fs.existsSync(lock), 'released when the run ends');
  // ... and when it fails.
  await assert.rejects(fit(tiny(), { workDir: tempDir(), resume: true }), /resume: no checkpoint/);
  await assert.rejects(fit(tiny(), { workDir, resumeFrom: path.join(workDir, 'nope') }));
  assert.ok(!fs.existsSync(lock));
});

test("a lock whose process is gone is taken over; another host's is refused with a hint", async () => {
  const workDir = tempDir();
  const lock = path.join(workDir, '.lock');
  const stale = { pid: deadPid(), host: os.hostname(), started: '2020-01-01T00:00:00.000Z', command: 'node old-run' };
  fs.writeFileSync(lock, JSON.stringify(stale));
  assert.equal((await fit(tiny(), { workDir, ...quiet })).iteration, 2);
  assert.ok(!fs.existsSync(lock));

  fs.writeFileSync(lock, JSON.stringify({ ...stale, host: 'elsewhere.example', pid: process.pid }));
  assert.throws(() => acquireRunLock(workDir), new RegExp(`on another host \\(pid ${process.pid} on elsewhere\\.example.*delete ${lock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.ok(fs.existsSync(lock), 'left in place');
  fs.rmSync(lock);
  const held = acquireRunLock(workDir);
  assert.equal(JSON.parse(fs.readFileSync(lock, 'utf8')).pid, process.pid);
  held.release();
  held.release(); // once only
  assert.ok(!fs.existsSync(lock));
});

test('`simdeblur train` into a directory another train holds exits at once with the holder\'s pid', async () => {
  const wd = tempDir();
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'train', 'test/fixtures/recipes/tiny-dbn.ts', '--work-dir', wd, '--no-tensorboard'];
  const first = spawn(process.execPath, [...args, '--set', 'run.epochs=1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  first.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((resolve) => first.on('close', (code) => resolve(code)));
  // The first progress line: the run holds the directory and is training.
  const training = new Promise<boolean>((resolve) => {
    first.stdout.on('data', (d) => {
      stdout += String(d);
      if (/iter \d+\/4000 loss/.test(stdout)) resolve(true);
    });
    first.on('close', () => resolve(false));
  });
  try {
    assert.ok(await training, `the first run did not start:\n${stderr}`);
    assert.equal(JSON.parse(fs.readFileSync(path.join(wd, '.lock'), 'utf8')).pid, first.pid);
    const second = spawnSync(process.execPath, [...args, '--quiet'], { encoding: 'utf8' });
    assert.notEqual(second.status, 0);
    assert.match(second.stderr, new RegExp(`work directory .* is in use by another run \\(pid ${first.pid} on `));
    assert.match(second.stderr, /tiny-dbn\.ts/); // the holder's command
  } finally {
    first.kill('SIGINT');
  }
  // Interrupted: the shell's status for Ctrl-C.
  assert.equal(await exited, 130, stderr);
  assert.ok(!fs.existsSync(path.join(wd, '.lock')), 'released on Ctrl-C');
});
