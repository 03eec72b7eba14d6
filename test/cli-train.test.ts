import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readCheckpointState } from '../src/engine/checkpoint.ts';
import { tempDir } from './helpers/engine.ts';

const RECIPE = 'test/fixtures/recipes/tiny-dbn.ts';
const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8' });
const cli = (args: string[]) => run(['src/cli/main.ts', ...args]);
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!);

test('train writes the experiment, checkpoints, logs; resume continues; test reports PSNR/SSIM', () => {
  const wd = tempDir();
  const r = cli(['train', RECIPE, '--work-dir', wd, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const summary = lastJson(r.stdout);
  assert.equal(summary.reason, 'completed');
  assert.equal(summary.iteration, 16);
  const exp = JSON.parse(fs.readFileSync(path.join(wd, 'experiment.json'), 'utf8'));
  assert.equal(exp.model.innerChannels, 8);
  assert.equal(exp.optimizer.betas[1], 0.999); // defaults are filled in the saved value
  assert.ok(fs.existsSync(path.join(wd, 'log.jsonl')));
  assert.ok(fs.readdirSync(path.join(wd, 'tensorboard')).some((f) => f.startsWith('events.out.tfevents.')));
  assert.deepEqual(fs.readdirSync(path.join(wd, 'checkpoints')).sort(), ['best', 'iter_00000008', 'iter_00000016']);

  const resumed = cli(['train', RECIPE, '--work-dir', wd, '--resume', '--set', 'run.epochs=5']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /resumed at iteration 16 from .*iter_00000016/);
  assert.equal(lastJson(resumed.stdout).iteration, 20);
  assert.equal(readCheckpointState(path.join(wd, 'checkpoints', 'iter_00000020')).epoch, 5);

  const t = cli(['test', RECIPE, '--checkpoint', path.join(wd, 'checkpoints', 'best')]);
  assert.equal(t.status, 0, t.stderr);
  // PSNR, the input's PSNR and the gain, then SSIM.
  assert.match(t.stdout, /video_000\s+1\s+\d+\.\d+\s+\d+\.\d+\s+[+-]\d+\.\d+\s+0\.\d{4}/);
  assert.match(t.stdout, /overall\s+2\s+\d+\.\d+/);
  const report = lastJson(t.stdout);
  assert.ok(Number.isFinite(report.psnr) && report.ssim > 0);
  assert.deepEqual(Object.keys(report.perVideo), ['video_000', 'video_001']);

  // --save-images: every restored frame (one per video here), and input | output | gt beside it.
  const saved = path.join(wd, 'restored');
  const s = cli(['test', RECIPE, '--checkpoint', path.join(wd, 'checkpoints', 'best'), '--save-images', saved, '--side-by-side', '--json']);
  assert.equal(s.status, 0, s.stderr);
  const frames = (dir: string) => fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
  const restored = frames(saved).filter((f) => !f.startsWith('side-by-side'));
  assert.equal(restored.length, report.frames);
  assert.ok(restored.every((f) => /^video_00[01]\/[^/]+\.png$/.test(f)), restored.join(', '));
  assert.deepEqual(frames(path.join(saved, 'side-by-side')), restored);
});

test('running a recipe file directly trains it', () => {
  const wd = tempDir();
  const r = run([RECIPE, '--work-dir', wd, '--quiet', '--set', 'run.epochs=1']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(lastJson(r.stdout).iteration, 4);
});

test('config errors name the path and the expected type, and nothing is trained', () => {
  const wd = tempDir();
  const r = cli(['train', RECIPE, '--work-dir', wd, '--set', 'model.innerChanels=32', '--set', 'model.innerChannels="64"', '--set', 'optimizer.lr=-1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /invalid experiment in test\/fixtures\/recipes\/tiny-dbn\.ts/);
  assert.match(r.stderr, /model\.innerChanels: unknown key \(did you mean innerChannels\?\)/);
  assert.match(r.stderr, /model\.innerChannels: expected positive integer, got "64"/);
  assert.match(r.stderr, /optimizer\.lr: expected non-negative number, got -1/);
  assert.ok(!fs.existsSync(path.join(wd, 'checkpoints')));
  const bad = cli(['train', RECIPE, '--set', 'data.batchSize']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /data\.batchSize/);
});

test('a misspelt key inside a recipe file is reported when it loads', () => {
  const dir = tempDir();
  const file = path.join(dir, 'typo.ts');
  const src = fs.readFileSync(RECIPE, 'utf8').replace(/'\.\.\/\.\.\/\.\.\/src\//g, `'${path.resolve('src')}/`).replace('innerChannels: 8', 'innerChanels: 8');
  fs.writeFileSync(file, src);
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  const r = cli(['train', file]);
  assert.equal(r.status, 2, 'an invalid recipe is invalid configuration');
  // The combinator checks its arguments when the recipe is evaluated (and tsc flags it earlier).
  assert.match(r.stderr, /cannot load recipe .*typo\.ts: invalid model spec dbn:\n\s+dbn\.innerChanels: unknown key \(did you mean innerChannels\?\)/);
});

test('loading in worker threads gives the same run as loading in-process', () => {
  const losses = (workers: number) => {
    const r = cli(['train', RECIPE, '--work-dir', tempDir(), '--quiet', '--no-tensorboard', '--set', 'run.epochs=1', '--set', `data.workers=${workers}`]);
    assert.equal(r.status, 0, r.stderr);
    return lastJson(r.stdout).loss;
  };
  assert.equal(losses(2), losses(0));
});

test('Ctrl-C stops training after the current step with a checkpoint, and the summary says so', async () => {
  const wd = tempDir();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', RECIPE, '--work-dir', wd, '--no-tensorboard', '--set', 'run.epochs=1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const status = await new Promise<number | null>((resolve) => {
    child.stdout.on('data', (d) => {
      stdout += String(d);
      // The first progress line: training is under way.
      if (/iter \d+\/4000 loss/.test(stdout) && child.signalCode === null && !child.killed) child.kill('SIGINT');
    });
    child.on('close', (code) => resolve(code));
  });
  assert.equal(status, 130, `a run stopped by Ctrl-C exits with 130, as shells expect\n${stderr}`);
  assert.match(stderr, /stopping after the current step/);
  const summary = lastJson(stdout);
  assert.equal(summary.reason, 'stopped');
  assert.equal(path.basename(summary.checkpoint), `iter_${String(summary.iteration).padStart(8, '0')}`);
  assert.equal(readCheckpointState(summary.checkpoint).iteration, summary.iteration);
});

test('exit statuses: 2 for a bad invocation or configuration, 1 for a failure while running', () => {
  const wd = tempDir();
  const usage = [
    { args: [], re: /usage: simdeblur <command>/ },
    { args: ['nonsense'], re: /unknown command 'nonsense'/ },
    { args: ['train'], re: /usage: simdeblur train RECIPE\.ts/ },
    { args: ['train', RECIPE, '--bogus'], re: /simdeblur train: Unknown option '--bogus'/ },
    { args: ['train', path.join(wd, 'missing.ts')], re: /simdeblur train: cannot load recipe .*missing\.ts/ },
    { args: ['test', RECIPE], re: /usage: simdeblur test RECIPE\.ts --checkpoint DIR/ },
    { args: ['parity'], re: /usage: simdeblur parity DIR/ },
    { args: ['bench', '--runs', '0'], re: /--runs: expected a positive integer/ },
    { args: ['synth', '--layout', 'gopro'], re: /--out is required/ },
    // Both resume options: which checkpoint was meant is unclear, so nothing is trained.
    { args: ['train', RECIPE, '--work-dir', wd, '--resume', '--resume-from', wd], re: /simdeblur train: --resume and --resume-from cannot be used together/ },
  ];
  for (const { args, re } of usage) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  assert.ok(!fs.existsSync(path.join(wd, 'checkpoints')));
  const missing = cli(['test', RECIPE, '--checkpoint', path.join(wd, 'nowhere')]);
  assert.equal(missing.status, 1, missing.stderr);
  assert.match(missing.stderr, /simdeblur test: .*nowhere is not a checkpoint/);
});

test('a recipe run directly: a bad option exits 2 with a message, not a stack trace', () => {
  const r = run([RECIPE, '--resume', '--resume-from', tempDir()]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--resume and --resume-from cannot be used together/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
