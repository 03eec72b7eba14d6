// Measures the web page (`simdeblur web`) restoring a 1280x720 photo in headless Chromium, and
// optionally takes the screenshot of docs/web.md. The photo is synthesised (a camera shake over
// one of the bundled photographs, `simdeblur synth`) unless --photo names one.
//   npx tsx scripts/measure-web.ts [--backend wasm|webgl] [--runs N] [--tile N] [--photo FILE] [--screenshot FILE]
// Prints one JSON line per run: the backend the page reports, the size, its tiles and the time
// the page reports for the restoration (loading the page and the model not included), and the
// wall-clock time from opening the page to the result.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { main } from '../src/cli/main.ts';
import { findChromium, SOFTWARE_WEBGL_ARGS } from '../src/web/chromium.ts';
import { serveDirectory } from '../src/web/serve.ts';

const { values: v } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    runs: { type: 'string', default: '1' },
    tile: { type: 'string' },
    photo: { type: 'string' },
    screenshot: { type: 'string' },
  },
});
const chromiumPath = findChromium();
if (chromiumPath === undefined) throw new Error('no Chromium found (npx tsx scripts/install-browser.ts)');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'simdeblur-measure-web-'));
const quiet = async (args: string[]): Promise<void> => {
  const write = process.stderr.write.bind(process.stderr);
  const log = console.log;
  let err = '';
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  console.log = () => undefined;
  try {
    const code = await main(args);
    if (code !== 0) throw new Error(`simdeblur ${args.join(' ')} exited with ${code}:\n${err}`);
  } finally {
    process.stderr.write = write;
    console.log = log;
  }
};

try {
  const site = path.join(work, 'site');
  await quiet(['web', '--out', site, ...(v.tile === undefined ? [] : ['--tile', v.tile])]);
  let photo = v.photo;
  if (photo === undefined) {
    await quiet(['synth', '--layout', 'gopro', '--out', path.join(work, 'synth'), '--videos', '1', '--frames', '1', '--size', '1280x720', '--seed', '3']);
    photo = path.join(work, 'synth', 'test', 'GOPR0000_synth', 'blur', '000001.png');
  }
  const name = `photo${path.extname(photo)}`;
  fs.copyFileSync(photo, path.join(site, name));
  const server = await serveDirectory(site);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, args: v.backend === 'webgl' ? [...SOFTWARE_WEBGL_ARGS] : [] });
  try {
    for (let run = 0; run < Number(v.runs); run++) {
      const page = await browser.newPage({ viewport: { width: 960, height: 860 } });
      const t0 = Date.now();
      await page.goto(`${server.url}index.html?image=${name}&backend=${v.backend}`);
      await page.waitForSelector('body[data-status="done"], body[data-status="error"]', { timeout: 30 * 60_000 });
      const wall = (Date.now() - t0) / 1000;
      const r = await page.evaluate(() => ({
        status: document.body.dataset.status,
        error: document.getElementById('error')!.textContent,
        backend: document.getElementById('backend')!.textContent,
        tiles: document.getElementById('progress-text')!.textContent,
        time: document.getElementById('time')!.textContent,
        width: (document.getElementById('result') as HTMLImageElement).naturalWidth,
        height: (document.getElementById('result') as HTMLImageElement).naturalHeight,
      }));
      if (r.status !== 'done') throw new Error(`the page failed: ${r.error}`);
      console.log(JSON.stringify({ backend: r.backend, size: `${r.width}x${r.height}`, tiles: r.tiles, seconds: Number.parseFloat(r.time ?? ''), wallSeconds: wall, cpus: os.cpus().length }));
      if (v.screenshot !== undefined && run === 0) {
        const shot = await page.screenshot({ fullPage: true });
        // A palette PNG keeps the picture small enough for the docs.
        await sharp(shot).png({ palette: true, quality: 85, effort: 10 }).toFile(v.screenshot);
        process.stderr.write(`screenshot: ${v.screenshot} (${Math.round(fs.statSync(v.screenshot).size / 1024)} KB)\n`);
      }
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
