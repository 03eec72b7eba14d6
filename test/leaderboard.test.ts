// `simdeblur leaderboard --protocol smoke --models dbn,nafnet`, end to end through the command
// line (each model in its own worker process): the three output files, every row field, a
// rerun that finds every row done, and a second run into another folder that gives the same
// numbers and hashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './helpers/engine.ts';
import type { Row } from '../src/leaderboard/rows.ts';

const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'leaderboard', ...args], { encoding: 'utf8' });

const root = tempDir('simdeblur-leaderboard-');
const [a, b] = [path.join(root, 'a'), path.join(root, 'b')];
const smoke = (out: string, ...more: string[]) => cli(['--protocol', 'smoke', '--models', 'dbn,nafnet', '--out', out, ...more]);

interface Board {
  readonly protocol: { readonly name: string; readonly seed: number };
  readonly machine: { readonly cpu: string; readonly cores: number };
  readonly rows: readonly Row[];
}
const board = (dir: string): Board => JSON.parse(fs.readFileSync(path.join(dir, 'leaderboard.json'), 'utf8')) as Board;

// What a run reproduces exactly on the same machine (times, memory and dates vary).
const REPRODUCED = ['model', 'note', 'recipe', 'psnr', 'ssim', 'inputPsnr', 'inputSsim', 'frames', 'params', 'macsPerFrame', 'costSize', 'iterations', 'samplesSeen', 'batch', 'seed', 'hash', 'protocolHash', 'protocol', 'versions', 'runDir'] as const;
const reproduced = (r: Row) => Object.fromEntries(REPRODUCED.map((k) => [k, r[k]]));

test('smoke writes the three files with every row field, a rerun skips done rows, and a second run reproduces the numbers', () => {
  const first = smoke(a);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /model 1\/2 dbn: iter \d+\/4, .*ETA/);
  assert.match(first.stderr, /model 2\/2 nafnet: iter \d+\/4/);

  const lb = board(a);
  assert.equal(lb.protocol.name, 'smoke');
  assert.ok(lb.machine.cores > 0 && lb.machine.cpu.length > 0);
  assert.deepEqual(lb.rows.map((r) => r.model).sort(), ['dbn', 'nafnet']);
  const fields = ['model', 'note', 'recipe', 'psnr', 'ssim', 'inputPsnr', 'inputSsim', 'frames', 'params', 'macsPerFrame', 'costSize', 'trainSecondsPerIter', 'trainCpuSecondsPerIter', 'inferenceMsPerFrame', 'peakRssMb', 'iterations', 'samplesSeen', 'batch', 'seed', 'hash', 'protocolHash', 'protocol', 'versions', 'wallSeconds', 'cpuSeconds', 'finishedAt', 'runDir', 'warnings'];
  for (const r of lb.rows) {
    assert.deepEqual(Object.keys(r).sort(), [...fields].sort());
    assert.deepEqual(Object.keys(r.versions).sort(), ['backend', 'node', 'simdeblur', 'tensorflow', 'tfjs']);
    const finite = (k: keyof Row) => assert.ok(typeof r[k] === 'number' && Number.isFinite(r[k] as number), `${r.model}.${k} = ${String(r[k])}`);
    for (const k of ['psnr', 'ssim', 'inputPsnr', 'inputSsim', 'params', 'macsPerFrame', 'trainSecondsPerIter', 'trainCpuSecondsPerIter', 'inferenceMsPerFrame', 'peakRssMb', 'wallSeconds', 'cpuSeconds'] as const) finite(k);
    assert.ok(r.params > 0 && r.macsPerFrame > r.params, `${r.model}: params ${r.params}, MACs ${r.macsPerFrame}`);
    assert.deepEqual(r.costSize, [256, 256]);
    assert.equal(r.iterations, 4);
    assert.equal(r.samplesSeen, 8);
    assert.equal(r.seed, 0);
    assert.equal(r.frames, 2);
    assert.match(r.hash, /^[0-9a-f]{64}$/);
    assert.ok(r.versions.simdeblur && r.versions.tensorflow && r.versions.tfjs && r.versions.node === process.versions.node);
    assert.ok(fs.existsSync(path.join(a, 'rows', `${r.hash}.json`)) && fs.existsSync(path.join(a, 'rows', `${r.hash}.png`)));
    assert.ok(fs.existsSync(path.join(a, r.runDir, 'log.jsonl')), `${r.model}: no run log`);
  }
  // Every model is scored on the same frames: the blurry input scores the same.
  assert.equal(lb.rows[0]!.inputPsnr, lb.rows[1]!.inputPsnr);

  const md = fs.readFileSync(path.join(a, 'leaderboard.md'), 'utf8');
  assert.match(md, /Protocol `smoke` \(sha256 [0-9a-f]{12}\), seed 0, \d{4}-\d\d-\d\d/);
  assert.match(md, /Machine: .*cores/);
  assert.match(md, /\| # \| model \| configuration \| PSNR \| SSIM \| input PSNR/);
  for (const r of lb.rows) assert.ok(md.includes(`| ${r.model} |`) && md.includes(r.hash.slice(0, 12)), `${r.model} missing from the table`);

  const html = fs.readFileSync(path.join(a, 'leaderboard.html'), 'utf8');
  assert.match(html, /<table class="sortable">/);
  assert.match(html, /addEventListener\('click'/);
  assert.equal((html.match(/<svg/g) ?? []).length, 1);
  assert.match(html, /training time/);
  assert.match(html, /GMACs per frame/);
  // blurry, one restored crop per model, sharp; nothing fetched from elsewhere.
  assert.equal((html.match(/src="data:image\/png;base64,/g) ?? []).length, 4);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
  assert.ok(fs.statSync(path.join(a, 'leaderboard.png')).size > 1000 && fs.readFileSync(path.join(a, 'leaderboard.svg'), 'utf8').startsWith('<svg'));

  const again = smoke(a, '--resume');
  assert.equal(again.status, 0, again.stderr);
  const summary = JSON.parse(again.stdout.trim().split('\n').pop()!) as { ran: string[]; skipped: string[] };
  assert.deepEqual(summary, { ...summary, ran: [], skipped: ['dbn', 'nafnet'] });
  assert.deepEqual(board(a).rows, lb.rows);

  const second = smoke(b);
  assert.equal(second.status, 0, second.stderr);
  const byModel = (rows: readonly Row[]) => Object.fromEntries(rows.map((r) => [r.model, reproduced(r)]));
  assert.deepEqual(byModel(board(b).rows), byModel(lb.rows));
});

test('leaderboard usage errors exit with status 2 and say what is wrong', () => {
  const unknown = cli(['--protocol', 'smoke', '--models', 'dbm', '--out', path.join(root, 'x')]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown model 'dbm' \(did you mean dbn\?\)/);
  const protocol = cli(['--protocol', 'quik', '--out', path.join(root, 'x')]);
  assert.equal(protocol.status, 2);
  assert.match(protocol.stderr, /unknown protocol 'quik'/);
  const resume = cli(['--protocol', 'smoke', '--resume', '--out', path.join(root, 'nothing-here')]);
  assert.equal(resume.status, 2);
  assert.match(resume.stderr, /--resume: .* holds no leaderboard rows/);
});
