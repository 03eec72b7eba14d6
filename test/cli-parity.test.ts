import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.ts';
import { tempDir } from './helpers/engine.ts';

const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!);

test('simdeblur parity passes on the DBN and NAFNet fixtures', () => {
  const r = cli(['parity', 'test/fixtures/parity/dbn', 'test/fixtures/parity/nafnet']);
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows.map((x) => [x.model, x.params]), [['DBN', 244763], ['NAFNet', 19899]]);
  for (const x of rows) assert.ok(x.maxAbsErr <= 1e-4 && x.ok);
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
