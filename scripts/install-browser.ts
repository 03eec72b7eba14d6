// Makes sure a Chromium is installed for the browser test (test/web.test.ts): prints the one
// found; otherwise, as root on a system with apt-get, installs the distribution's `chromium`
// package. Nothing is downloaded from anywhere else. Exit status 0 when a Chromium is present
// afterwards, 1 when not.
//   npx tsx scripts/install-browser.ts
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { CHROMIUM_ENV, findChromium } from '../src/web/chromium.ts';

function run(cmd: string, args: string[]): boolean {
  process.stderr.write(`$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status === 0;
}

let found = findChromium();
if (found === undefined) {
  const root = process.getuid?.() === 0;
  const apt = ['/usr/bin/apt-get', '/bin/apt-get'].find((f) => fs.existsSync(f));
  if (root && apt !== undefined) {
    if (run(apt, ['update']) && run(apt, ['install', '-y', '--no-install-recommends', 'chromium'])) found = findChromium();
  } else {
    process.stderr.write(
      `no Chromium found, and ${root ? 'no apt-get to install one with' : 'not root, so none is installed'}: ` +
        `install your distribution's chromium package (Debian/Ubuntu: sudo apt-get install chromium), or set ${CHROMIUM_ENV}=/path/to/chrome\n`,
    );
  }
}
if (found === undefined) {
  process.stderr.write('no Chromium installed\n');
  process.exit(1);
}
console.log(found);
