// `simdeblur report`: the curves of several runs read from their log.jsonl (a resumed run's
// repeated iterations counted once), the blurry-input baseline and the best checkpoint, and a
// self-contained page that carries the curves' data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './helpers/engine.ts';
import { readRunLog, readRunLogs } from '../src/leaderboard/run-log.ts';
import { reportHtml } from '../src/leaderboard/report.ts';

const root = tempDir('simdeblur-report-');

/** A work directory whose log.jsonl holds `records` (as the engine's jsonlLog hook writes them). */
function run(name: string, records: readonly object[]): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'log.jsonl'), records.map((r) => JSON.stringify({ epoch: 0, time: '2025-01-01T00:00:00Z', ...r })).join('\n') + '\n');
  return dir;
}

const step = (iteration: number, loss: number, lr = 1e-3) => ({ type: 'step', iteration, loss, lr, terms: { charbonnier: loss }, skipped: false });
const validation = (iteration: number, psnr: number, ssim: number, inputPsnr: number | null = 25.5) => ({ type: 'validation', iteration, psnr, ssim, inputPsnr, perVideo: {}, seconds: 1, images: [] });

// Run A: stopped at 20 after logging step 30 that its resume (from 20) logs again.
const a = run('a', [
  { type: 'start', iteration: 0, totalIterations: 40, model: 'DBN', name: 'a' },
  step(10, 0.5),
  validation(10, 26.1, 0.80),
  { type: 'checkpoint', iteration: 10, reason: 'best', path: 'x' },
  step(20, 0.4),
  validation(20, 26.9, 0.83),
  { type: 'checkpoint', iteration: 20, reason: 'best', path: 'x' },
  step(30, 0.9),
  { type: 'start', iteration: 20, totalIterations: 40, model: 'DBN', name: 'a', resumedFrom: 'x' },
  step(30, 0.35, 5e-4),
  validation(30, 26.7, 0.84),
  step(40, 0.3, 1e-4),
  validation(40, 26.8, 0.85),
  { type: 'end', iteration: 40, reason: 'completed', seconds: 12.5 },
]);
const b = run('b', [{ type: 'start', iteration: 0, totalIterations: 20, model: 'NAFNet', name: 'b' }, step(10, 0.7), validation(10, 25.9, 0.79, 25.5), step(20, 0.6), validation(20, 27.4, 0.86, 25.5)]);

test('a run log: a resume replaces what followed its checkpoint; the best checkpoint and the input PSNR are kept', () => {
  const r = readRunLog(a);
  assert.deepEqual(r.steps.map((s) => [s.iteration, s.loss]), [[10, 0.5], [20, 0.4], [30, 0.35], [40, 0.3]]);
  assert.deepEqual(r.validations.map((v) => v.iteration), [10, 20, 30, 40]);
  assert.equal(r.best?.iteration, 20);
  assert.equal(r.validations[0]!.inputPsnr, 25.5);
  assert.equal(r.status, 'completed');
  assert.equal(r.totalIterations, 40);
  // Without 'best' checkpoint records, the highest validation PSNR is the best.
  assert.equal(readRunLog(b).best?.iteration, 20);
  assert.equal(readRunLog(b).status, 'running or interrupted');
});

test('the report page carries every run\'s curves, the baseline and the best checkpoint, all inline', async () => {
  const html = await reportHtml(readRunLogs([a, b]));
  const m = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html);
  assert.ok(m, 'no embedded data');
  const data = JSON.parse(m[1]!) as { name: string; steps: { loss: number }[]; validations: { psnr: number; inputPsnr: number }[]; best: { iteration: number } }[];
  assert.deepEqual(data.map((d) => d.name), ['a', 'b']);
  assert.deepEqual(data[1]!.steps.map((s) => s.loss), [0.7, 0.6]);
  assert.deepEqual(data[0]!.validations.map((v) => v.psnr), [26.1, 26.9, 26.7, 26.8]);
  assert.equal(data[0]!.best.iteration, 20);
  assert.equal((html.match(/<svg/g) ?? []).length, 1);
  for (const title of ['training loss', 'learning rate', 'validation PSNR', 'validation SSIM', 'blurry input']) assert.ok(html.includes(title), title);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
});

test('simdeblur report writes the page; a folder without a log is a usage error', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'report', ...args], { encoding: 'utf8' });
  const out = path.join(root, 'out', 'curves.html');
  const ok = cli([a, b, '--out', out]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(fs.readFileSync(out, 'utf8').startsWith('<!doctype html>'));
  assert.deepEqual((JSON.parse(ok.stdout) as { runs: { name: string }[] }).runs.map((r) => r.name), ['a', 'b']);
  const single = cli([b]);
  assert.equal(single.status, 0, single.stderr);
  assert.ok(fs.existsSync(path.join(b, 'report.html')));
  const missing = cli([path.join(root, 'empty')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no log\.jsonl/);
});
