#!/usr/bin/env node
// Runs the test files with Node's test runner (TypeScript through tsx), in two tiers:
//   node scripts/run-tests.mjs                 every test/**/*.test.ts outside test/acceptance/
//   node scripts/run-tests.mjs --acceptance    every test/acceptance/**/*.test.ts
// Extra arguments are forwarded, e.g. `npm test -- --test-name-pattern=parity`; file
// arguments (ending in .ts) restrict the run to those files, whichever tier they are in.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const testDir = path.join(root, 'test');
const acceptanceDir = path.join(testDir, 'acceptance');
const args = process.argv.slice(2);
const acceptance = args.includes('--acceptance');
const fileArgs = args.filter((a) => a.endsWith('.ts'));
const flags = args.filter((a) => !a.endsWith('.ts') && a !== '--acceptance');

function collect(dir, skip) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' || p === skip ? [] : collect(p, skip);
    return e.name.endsWith('.test.ts') ? [path.relative(root, p)] : [];
  });
}

const tier = acceptance ? 'test/acceptance/' : 'test/ (outside test/acceptance/)';
const files = fileArgs.length > 0 ? fileArgs : (acceptance ? collect(acceptanceDir) : collect(testDir, acceptanceDir)).sort();
if (files.length === 0) {
  console.error(`no test files found in ${tier}`);
  process.exit(1);
}
// Test processes load TensorFlow in parallel; build the helper that quiets its start-up lines
// once here rather than in each of them.
spawnSync(process.execPath, [path.join(root, 'scripts', 'build-quiet.mjs'), '--if-missing'], { cwd: root, stdio: 'inherit' });
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...flags, ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
