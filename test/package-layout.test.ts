// The repository uses itself as its users do: recipes, examples and docs import the package by
// name, and every public entry point maps to its sources (tsconfig paths) and to dist/ (exports).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('recipes, examples and docs import the package by name, and every export has its source entry', () => {
  const offenders: string[] = [];
  const scan = (dir: string) => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) scan(rel);
      else if (/\.(ts|mts|js|mjs|md)$/.test(e.name) && /from '(\.\.?\/)+src\//.test(fs.readFileSync(path.join(root, rel), 'utf8'))) offenders.push(rel);
    }
  };
  for (const dir of ['recipes', 'examples', 'docs']) scan(dir);
  if (/from '(\.\.?\/)+src\//.test(fs.readFileSync(path.join(root, 'README.md'), 'utf8'))) offenders.push('README.md');
  assert.deepEqual(offenders, [], 'these files import from src/ instead of simdeblur');

  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');
  // tsconfig.json has comments; the paths block is read with a pattern.
  const tsconfig = fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8');
  const mapped = [...tsconfig.matchAll(/"(simdeblur(?:\/[a-z]+)?)": \["\.\/(src\/[^"]+)"\]/g)].map((m) => [m[1]!, m[2]!] as const);
  assert.deepEqual(mapped.map(([name]) => name).sort(), subpaths.map((s) => (s === '.' ? 'simdeblur' : `simdeblur/${s.slice(2)}`)).sort());
  for (const [name, file] of mapped) {
    assert.ok(fs.existsSync(path.join(root, file)), `${name} maps to a missing ${file}`);
    const sub = name === 'simdeblur' ? '.' : `./${name.slice('simdeblur/'.length)}`;
    assert.deepEqual(pkg.exports[sub], { types: `./dist/${file.slice(4).replace(/\.ts$/, '.d.ts')}`, default: `./dist/${file.slice(4).replace(/\.ts$/, '.js')}` });
  }
});
