#!/usr/bin/env node
// The `simdeblur` command. In a checkout (sources present, tsx installed) it runs the TypeScript
// sources through tsx, so recipes that import 'simdeblur' (tsconfig paths → src/) share one
// module graph with the command; an installed package runs its compiled dist/ on plain Node.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const sourceMain = new URL('../src/cli/main.ts', import.meta.url);
const builtMain = new URL('../dist/cli/main.js', import.meta.url);

function tsxApi() {
  try {
    return createRequire(import.meta.url).resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
}

let entry = builtMain;
if (fs.existsSync(sourceMain) && tsxApi() !== undefined) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = sourceMain;
} else if (!fs.existsSync(builtMain)) {
  console.error(`simdeblur: ${builtMain.pathname} is missing: build the package with \`npm run build\` (or install tsx to run the sources)`);
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
