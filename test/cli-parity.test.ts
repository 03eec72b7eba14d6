import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.ts';
import { tempDir } from './helpers/engine.ts';

const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!);

test('simdeblur parity passes on every model fixture', () => {
  const dirs = fs.readdirSync('test/fixtures/parity').filter((d) => d !== 'metrics').sort();
  const r = cli(['parity', ...dirs.map((d) => `test/fixtures/parity/${d}`)]);
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, dirs.length);
  assert.ok(rows.some((x) => x.model === 'DBN' && x.params === 244763));
  assert.ok(rows.some((x) => x.model === 'NAFNet' && x.params === 19899));
  for (const x of rows) assert.ok(x.maxAbsErr <= 1e-4 && x.ok && x.params === x.expectedParams, JSON.stringify(x));
});

test('simdeblur parity exits 1 when the output differs beyond 1e-4', () => {
  const dir = tempDir();
  const src = 'test/fixtures/parity/nafnet';
  fs.copyFileSync(path.join(src, 'weights.safetensors'), path.join(dir, 'weights.safetensors'));
  const io = readSafetensors(path.join(src, 'io.safetensors'));
  const out = io.tensors.output!;
  const data = Float32Array.from(out.data);
  data[17]! += 1e-3;
  writeSafetensors(path.join(dir, 'io.safetensors'), { ...io.tensors, output: { shape: out.shape, data } }, io.metadata);
  const r = cli(['parity', dir]);
  assert.equal(r.status, 1);
  const row = lastJson(r.stdout);
  assert.equal(row.ok, false);
  assert.ok(row.maxAbsErr > 9e-4 && row.maxAbsErr < 1.1e-3, String(row.maxAbsErr));
});

test('simdeblur parity names the problem for a missing directory or unknown model class', () => {
  const r = cli(['parity', '/nonexistent/fixture']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nonexistent\/fixture\/weights\.safetensors/);
});
