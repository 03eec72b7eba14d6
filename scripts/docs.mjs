#!/usr/bin/env node
// Generates the API reference (docs/api/) with TypeDoc from the package's public entry points:
// each subpath in package.json "exports" maps to the source file its declarations come from
// (./dist/x/index.d.ts <- src/x/index.ts), so a new subpath is documented without listing it
// twice. Options are in typedoc.json; an export without a doc comment fails the run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const targets = Object.values(pkg.exports ?? {}).map((t) => (typeof t === 'string' ? t : t.types ?? t.default));
const entries = targets
  .filter((t) => typeof t === 'string' && /^\.\/dist\/.*\.(d\.ts|js)$/.test(t))
  .map((t) => t.replace(/^\.\/dist\//, 'src/').replace(/\.(d\.ts|js)$/, '.ts'))
  .filter((f) => fs.existsSync(path.join(root, f)));
if (entries.length === 0) entries.push('src/index.ts'); // before "exports" lists any
const typedoc = path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
if (!fs.existsSync(typedoc)) {
  console.error('docs: typedoc is not installed (npm install)');
  process.exit(1);
}
const r = spawnSync(process.execPath, [typedoc, '--options', 'typedoc.json', ...entries.flatMap((e) => ['--entryPoints', e]), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
