import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tf, runtimeInfo } from '../src/runtime/index.ts';

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });

test('tests run on the native TensorFlow backend unless SIMDEBLUR_BACKEND=cpu is set', () => {
  if (process.env.SIMDEBLUR_BACKEND === 'cpu') {
    assert.equal(tf.getBackend(), 'cpu');
    return;
  }
  assert.equal(tf.getBackend(), 'tensorflow', `native runtime not active: ${runtimeInfo().fallbacks.join('; ')}`);
  assert.match(runtimeInfo().tfVersion ?? '', /^2\.\d+\.\d+$/);
});

test('doctor --json reports backend, TensorFlow version and devices', () => {
  const r = cli(['doctor', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(report.backend, tf.getBackend());
  assert.equal(report.tfVersion, runtimeInfo().tfVersion);
  assert.ok(Array.isArray(report.devices) && report.devices.includes('/device:CPU:0'));
  assert.equal(report.selfTest.ok, true);
});

test('SIMDEBLUR_BACKEND=cpu selects the pure-JS backend without a slowness warning', () => {
  const r = cli(['doctor', '--json'], { SIMDEBLUR_BACKEND: 'cpu' });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout.trim());
  assert.equal(report.backend, 'cpu');
  assert.equal(report.tfVersion, null);
  assert.doesNotMatch(r.stderr, /SIMDEBLUR_SLOW_BACKEND/);
});

test('an invalid SIMDEBLUR_BACKEND value is rejected with the accepted values', () => {
  const r = cli(['doctor'], { SIMDEBLUR_BACKEND: 'tpu' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /SIMDEBLUR_BACKEND=tpu: expected one of gpu, native, cpu/);
});

test('forcing a backend that cannot load fails loudly instead of falling back', () => {
  const r = cli(['doctor'], { SIMDEBLUR_BACKEND: 'gpu' });
  // This machine has no CUDA build provisioned; where one is, the GPU runtime must load.
  if (r.status === 0) assert.match(r.stdout, /tfjs-node-gpu/);
  else assert.match(r.stderr, /SIMDEBLUR_BACKEND=gpu: cannot load @tensorflow\/tfjs-node-gpu/);
});

test('a second setup run is a cache hit: nothing downloaded or rebuilt', { skip: process.env.SIMDEBLUR_BACKEND === 'cpu' }, () => {
  const r = spawnSync(process.execPath, ['scripts/setup.mjs', '--no-npm'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /native binding ready \(TensorFlow 2\.\d+\.\d+\)/);
  assert.doesNotMatch(r.stdout, /pip download|compiling|trying the package's own installer/);
});
