// `simdeblur web` without a browser: the command's usage errors, the site it writes (for the
// image and the video demonstration model), the page script's bundle, the static server (content
// types, missing files, paths outside the site) and `--serve` run as a process, stopped by Ctrl-C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { checkManifest, MANIFEST_FILE, WEIGHTS_FILE, type SiteManifest } from '../src/web/manifest.ts';
import { SCRIPT_FILE } from '../src/web/html.ts';
import { contentType, resolveRequestPath, serveDirectory } from '../src/web/serve.ts';
import { findChromium } from '../src/web/chromium.ts';
import { readSafetensors } from '../src/io/safetensors.ts';
import { tempDir } from './helpers/engine.ts';
import { cli } from './helpers/cli.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');


test('simdeblur web: wrong command lines exit with 2 and say what is wrong, before anything is built', async () => {
  const out = path.join(tempDir('simdeblur-web-usage-'), 'site');
  const cases: Array<[string[], RegExp]> = [
    [[], /give --out DIR, --serve, or both/],
    [['--out', out, '--port', '8080'], /--port needs --serve/],
    [['--out', out, '--model', 'nafnet'], /--model nafnet needs --weights FILE/],
    [['--out', out, '--weights', 'w.safetensors'], /--weights needs --model NAME/],
    [['--out', out, '--overlap', '8'], /--overlap needs --tile/],
    [['--out', out, '--tile', '16', '--overlap', '16'], /--overlap \(16\) must be smaller than --tile \(16\)/],
    [['--serve', '--port', '70000'], /--port: expected an integer in 0\.\.65535/],
    [['--out', out, '--checkpoint', out], /no weights\.safetensors in it/],
    [['--out', out, '--model', 'nafnet', '--weights', path.join(out, 'none.safetensors')], /no such file/],
    [['--out', out, '--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(['web', ...args]);
    assert.equal(r.code, 2, `web ${args.join(' ')}: exit ${r.code}`);
    assert.match(r.err, message, `web ${args.join(' ')}`);
  }
  assert.equal(fs.existsSync(out), false, 'nothing is written on a usage error');
});

function manifestOf(dir: string): SiteManifest {
  return checkManifest(JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')));
}

test('simdeblur web --out writes a site: page, one script, the wasm binaries, the weights and the manifest', async () => {
  const dir = path.join(tempDir('simdeblur-web-site-'), 'site');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'mine.png'), 'kept');
  const r = await cli(['web', '--out', dir, '--tile', '128']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), path.join(dir, 'index.html'));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['index.html', 'mine.png', MANIFEST_FILE, SCRIPT_FILE, 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm', 'tfjs-backend-wasm.wasm', WEIGHTS_FILE].sort());
  assert.equal(fs.readFileSync(path.join(dir, 'mine.png'), 'utf8'), 'kept');
  const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
  assert.match(html, new RegExp(`<script type="module" src="${SCRIPT_FILE}">`));
  for (const id of ['result', 'error', 'backend', 'progress', 'slider', 'download', 'file']) assert.match(html, new RegExp(`id="${id}"`));
  assert.match(html, /<body data-status="loading">/);

  const m = manifestOf(dir);
  assert.equal(m.kind, 'image');
  assert.equal(m.model.type, 'nafnet');
  assert.deepEqual(m.tile, { tile: 128, overlap: 32 });
  assert.equal(m.align, 8);
  // The shipped weights, loaded and written back unchanged (PyTorch layout).
  const shipped = readSafetensors(path.join(repo, 'weights', 'demo-nafnet', 'weights.safetensors')).tensors;
  const written = readSafetensors(path.join(dir, WEIGHTS_FILE)).tensors;
  assert.deepEqual(Object.keys(written).sort(), Object.keys(shipped).sort());
  for (const [k, t] of Object.entries(shipped)) assert.deepEqual(written[k]!.data, t.data, k);

  // The script is the browser bundle: the browser runtime in, the native one and Node's modules out.
  const script = fs.readFileSync(path.join(dir, SCRIPT_FILE), 'utf8');
  for (const nodeOnly of ['SIMDEBLUR_FAIL_IF_RUNTIME_LOADS', 'tfjs_binding', 'quiet-stderr']) assert.equal(script.includes(nodeOnly), false, `the page script holds '${nodeOnly}'`);
  assert.equal(script.includes('native TensorFlow op requested in a browser'), true, 'the page script holds the browser runtime');
});

test('simdeblur web --checkpoint builds a site for a video model; the page is told it is one', async () => {
  const dir = path.join(tempDir('simdeblur-web-video-'), 'site');
  const r = await cli(['web', '--out', dir, '--checkpoint', path.join(repo, 'weights', 'demo-dbn')]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /video model: the page takes the frames of a short clip as images/);
  const m = manifestOf(dir);
  assert.equal(m.kind, 'video');
  assert.equal(m.model.type, 'dbn');
  assert.equal(m.plan.sampling.numFrames, 5);
  assert.deepEqual(m.tile, { tile: 256, overlap: 32 });
});

test('checkManifest names the key at fault', () => {
  assert.throws(() => checkManifest([]), /model\.json: the file must be a JSON object/);
  assert.throws(() => checkManifest({ version: 0 }), /version must be 1/);
  assert.throws(() => checkManifest({ version: 1, label: 'x', kind: 'film' }), /kind must be 'image' or 'video'/);
});

test('the static server: content types, 404 for missing files and for paths outside the site, HEAD, 405', async () => {
  assert.equal(contentType('a/b.WASM'), 'application/wasm');
  assert.equal(contentType('x.js'), 'text/javascript; charset=utf-8');
  assert.equal(contentType('x.safetensors'), 'application/octet-stream');
  const root = tempDir('simdeblur-web-serve-');
  assert.equal(resolveRequestPath(root, '/'), path.join(root, 'index.html'));
  assert.equal(resolveRequestPath(root, '/a%20b.png?x=1'), path.join(root, 'a b.png'));
  assert.equal(resolveRequestPath(root, '/../../etc/passwd'), path.join(root, 'etc', 'passwd'));
  assert.equal(resolveRequestPath(root, '/%E0%A4%A'), undefined);

  const site = path.join(root, 'site');
  fs.mkdirSync(site);
  fs.writeFileSync(path.join(site, 'index.html'), '<!doctype html>');
  fs.writeFileSync(path.join(site, 'x.wasm'), Buffer.from([0, 97, 115, 109]));
  fs.writeFileSync(path.join(root, 'secret.txt'), 'outside');
  const server = await serveDirectory(site);
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await fetch(server.url);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.equal(await index.text(), '<!doctype html>');
    const wasm = await fetch(`${server.url}x.wasm`);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.deepEqual([...new Uint8Array(await wasm.arrayBuffer())], [0, 97, 115, 109]);
    assert.equal((await fetch(`${server.url}missing.png`)).status, 404);
    assert.equal((await fetch(`${server.url}..%2fsecret.txt`)).status, 404);
    const head = await fetch(`${server.url}x.wasm`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '4');
    assert.equal((await fetch(server.url, { method: 'POST' })).status, 405);
  } finally {
    await server.close();
  }
});

test('simdeblur web --serve builds into a temporary folder, serves it on 127.0.0.1 and stops cleanly on Ctrl-C', async () => {
  const child = spawn(process.execPath, [path.join(repo, 'bin', 'simdeblur.mjs'), 'web', '--serve'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = once(child, 'exit');
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (m) resolve(m[0]);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code} before serving:\n${err}`)));
    });
    const page = await fetch(`${url}index.html`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /simdeblur/);
    assert.equal((await fetch(`${url}tfjs-backend-wasm-simd.wasm`)).headers.get('content-type'), 'application/wasm');
    assert.equal((await fetch(`${url}${MANIFEST_FILE}`)).headers.get('content-type'), 'application/json; charset=utf-8');
    const dir = /to (\S+) in [\d.]+ s/.exec(err)?.[1];
    assert.ok(dir !== undefined && fs.existsSync(dir), `temporary site folder in: ${err}`);
    child.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 0, err);
    assert.match(err, /stopped/);
    assert.equal(fs.existsSync(dir), false, 'the temporary site is removed');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('findChromium: $SIMDEBLUR_CHROMIUM must name an executable; otherwise the first candidate present, or none', () => {
  assert.throws(() => findChromium({ SIMDEBLUR_CHROMIUM: '/no/such/chrome' }), /SIMDEBLUR_CHROMIUM=\/no\/such\/chrome: not an executable file/);
  assert.equal(findChromium({}, []), undefined);
  assert.equal(findChromium({}, ['/no/such/chrome', process.execPath]), process.execPath);
  assert.equal(findChromium({ SIMDEBLUR_CHROMIUM: process.execPath }, []), process.execPath);
});
