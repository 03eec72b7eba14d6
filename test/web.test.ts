// The browser page end to end: `simdeblur web --out` builds the site, it is served on 127.0.0.1,
// headless Chromium (the system's package, driven by playwright-core) opens
// `index.html?image=test-photo.png&backend=wasm`, and the restored image the page shows must match
// `simdeblur deblur` on the same photo with the same tiling (PSNR >= 40 dB); then the same on
// WebGL where this Chromium offers it. Without a Chromium the test is skipped, except under
// CI=true, where it fails (scripts/install-browser.ts installs one).
import { test, describe, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { findChromium, SOFTWARE_WEBGL_ARGS } from '../src/web/chromium.ts';
import { serveDirectory, type StaticServer } from '../src/web/serve.ts';
import { tempDir } from './helpers/engine.ts';
import { cli } from './helpers/cli.ts';

const PHOTO = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'web', 'photo.png');
// 96x64 in tiles of 64 (overlap 16): two tiles, so the blend is part of what is compared.
const TILE = '64';
// Generous: Chromium's start and WebGL's shader compilation on a busy 2-core machine.
const PAGE_TIMEOUT_MS = 180_000;

const chromium = findChromium();
const ci = process.env.CI === 'true' || process.env.CI === '1';

if (chromium === undefined && ci) {
  test('a Chromium is installed for the browser test', () => {
    assert.fail('no Chromium found (CI=true): install it with `npx tsx scripts/install-browser.ts`, or set SIMDEBLUR_CHROMIUM');
  });
}


async function rgbBytes(input: string | Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** PSNR in dB between two 8-bit images (Infinity when identical). */
function psnr8(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.length) / se);
}

describe('the web page in headless Chromium', { skip: chromium === undefined ? 'no Chromium found (install the chromium package, or set SIMDEBLUR_CHROMIUM); this fails under CI=true' : false }, () => {
  const root = tempDir('simdeblur-web-');
  const site = path.join(root, 'site');
  let server: StaticServer;
  let browser: Browser;
  let expected: { data: Buffer; width: number; height: number };

  before(async () => {
    const built = await cli(['web', '--out', site, '--tile', TILE]);
    assert.equal(built.code, 0, built.err);
    fs.copyFileSync(PHOTO, path.join(site, 'test-photo.png'));
    const deblurred = await cli(['deblur', PHOTO, '--out', path.join(root, 'node'), '--tile', TILE]);
    assert.equal(deblurred.code, 0, deblurred.err);
    expected = await rgbBytes(path.join(root, 'node', 'photo.png'));
    server = await serveDirectory(site);
    const { chromium: pw } = await import('playwright-core');
    browser = await pw.launch({ executablePath: chromium!, args: [...SOFTWARE_WEBGL_ARGS] });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Opens the page at `query` and waits for it to finish: its status, texts and result image. */
  async function open(query: string) {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}index.html?${query}`);
      await page.waitForSelector('body[data-status="done"], body[data-status="error"]', { timeout: PAGE_TIMEOUT_MS });
      return await page.evaluate(() => ({
        status: document.body.dataset.status,
        error: document.getElementById('error')!.textContent ?? '',
        backend: document.getElementById('backend')!.textContent ?? '',
        progress: document.getElementById('progress-text')!.textContent ?? '',
        time: document.getElementById('time')!.textContent ?? '',
        result: (document.getElementById('result') as HTMLImageElement).src,
        download: (document.getElementById('download') as HTMLAnchorElement).download,
      }));
    } finally {
      await page.close();
    }
  }

  async function checkAgainstNode(t: TestContext, backend: 'wasm' | 'webgl'): Promise<void> {
    const r = await open(`image=test-photo.png&backend=${backend}`);
    assert.equal(r.status, 'done', `page failed: ${r.error}`);
    assert.match(r.backend, new RegExp(`^${backend} `));
    assert.equal(r.progress, 'tile 2/2');
    assert.match(r.time, /^\d+\.\d\d s$/);
    assert.equal(r.download, 'test-photo-deblurred.png');
    const prefix = 'data:image/png;base64,';
    assert.ok(r.result.startsWith(prefix), `#result holds ${r.result.slice(0, 40)}…`);
    const got = await rgbBytes(Buffer.from(r.result.slice(prefix.length), 'base64'));
    assert.deepEqual([got.width, got.height], [expected.width, expected.height]);
    const db = psnr8(got.data, expected.data);
    t.diagnostic(`${r.backend}: PSNR ${db.toFixed(2)} dB against simdeblur deblur, restored in ${r.time}`);
    assert.ok(db >= 40, `${backend}: PSNR ${db.toFixed(2)} dB against simdeblur deblur, expected >= 40`);
  }

  test('on WebAssembly the page restores the photo as simdeblur deblur does (PSNR >= 40 dB)', async (t) => {
    await checkAgainstNode(t, 'wasm');
  });

  test('on WebGL the page restores the photo as simdeblur deblur does, where Chromium offers WebGL', async (t) => {
    const page = await browser.newPage();
    const webgl = await page.evaluate(() => document.createElement('canvas').getContext('webgl2') !== null);
    await page.close();
    if (!webgl) {
      t.skip('this Chromium offers no WebGL 2: checked on WebAssembly only');
      return;
    }
    await checkAgainstNode(t, 'webgl');
  });

  test('failures set data-status="error" with the message in #error', async () => {
    const missing = await open('image=no-such-photo.png&backend=wasm');
    assert.equal(missing.status, 'error');
    assert.match(missing.error, /no-such-photo\.png: HTTP 404/);
    const bogus = await open('image=test-photo.png&backend=opengl');
    assert.equal(bogus.status, 'error');
    assert.match(bogus.error, /\?backend=opengl: expected webgl or wasm/);
  });
});
