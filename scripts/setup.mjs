#!/usr/bin/env node
// Sets up a checkout: npm dependencies, the native TensorFlow binding (the provisioning of
// `simdeblur setup`, src/setup/native.ts) and the compiled package in dist/.
//
// Usage: node scripts/setup.mjs [--gpu] [--from-wheel] [--wheel FILE] [--force] [--no-npm]
// (every option but --no-npm goes to `simdeblur setup`; docs/runtime.md describes them)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function step(what, cmd, args) {
  console.log(`[setup] ${what}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\n[setup] FAILED: ${what} (${[cmd, ...args].join(' ')}${r.error ? `: ${r.error.message}` : `, exit status ${r.status}`})`);
    console.error('[setup] See docs/runtime.md, section "Troubleshooting".');
    process.exit(1);
  }
}

// Install scripts stay off: tfjs-node's downloads libtensorflow from a host that may be
// unreachable, and a failed download aborts the whole install; the next step does its part.
if (!argv.includes('--no-npm')) step('npm install', npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts']);
// Through the command line (sources run by tsx), so the checkout and an installed package
// provision the runtime the same way.
step('native TensorFlow runtime', process.execPath, [path.join(root, 'bin', 'simdeblur.mjs'), 'setup', ...argv.filter((a) => a !== '--no-npm')]);
if (fs.existsSync(path.join(root, 'scripts', 'build-quiet.mjs'))) {
  step('stderr helper for TensorFlow start-up', process.execPath, [path.join(root, 'scripts', 'build-quiet.mjs')]);
}
step('build dist/ (npm run build)', npm, ['run', 'build', '--silent']);
console.log('[setup] done');
