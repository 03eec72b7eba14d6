#!/usr/bin/env node
// Installs the npm dependencies and a working native TensorFlow binding for
// @tensorflow/tfjs-node (and, with --gpu, @tensorflow/tfjs-node-gpu).
//
// Route 1: the package's own installer (downloads libtensorflow + a prebuilt addon).
// Route 2: libtensorflow's C API taken from the TensorFlow pip wheel, addon built here.
// Whatever route succeeds is cached (SIMDEBLUR_CACHE, default ~/.cache/simdeblur), so a
// second run, or a fresh checkout on the same machine, only links the cached files.
//
// Usage: node scripts/setup.mjs [--gpu] [--from-wheel] [--wheel FILE] [--no-npm] [--force]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

const TF_VERSION = process.env.SIMDEBLUR_TF_VERSION ?? '2.21.0';
const cacheRoot = process.env.SIMDEBLUR_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'simdeblur');
// The addon links these names; the wheel ships the C API inside libtensorflow_cc.
const LIBS = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];
const LINKS = {
  'libtensorflow.so': 'libtensorflow_cc.so.2',
  'libtensorflow.so.2': 'libtensorflow_cc.so.2',
  'libtensorflow.so.2.9.1': 'libtensorflow_cc.so.2', // the file tfjs-node's installer checks for
  'libtensorflow_framework.so': 'libtensorflow_framework.so.2',
  'libtensorflow_framework.so.2.9.1': 'libtensorflow_framework.so.2',
};
// Headers the addon includes, directly or transitively.
const HEADER_PREFIXES = ['tensorflow/c/', 'tensorflow/core/platform/ctstring', 'tsl/platform/ctstring', 'xla/tsl/c/'];

const started = Date.now();
const say = (msg) => console.log(`[setup ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: opts.capture ? 'pipe' : 'inherit', encoding: 'utf8', ...opts });
  if (r.error) return { ok: false, out: String(r.error.message), status: -1 };
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, status: r.status };
}

function fail(msg) {
  console.error(`\n[setup] FAILED: ${msg}\n[setup] See README.md, "Troubleshooting the native runtime".`);
  process.exit(1);
}

const targets = [
  { pkg: '@tensorflow/tfjs-node', wheel: 'tensorflow-cpu', kind: 'cpu' },
  ...(flag('--gpu') || process.env.SIMDEBLUR_GPU === '1'
    ? [{ pkg: '@tensorflow/tfjs-node-gpu', wheel: 'tensorflow', kind: 'gpu' }]
    : []),
];

function packageDir(pkg) {
  return path.join(root, 'node_modules', ...pkg.split('/'));
}

// node-pre-gyp builds for the highest N-API version both the package and Node support.
function bindingPath(dir) {
  const supported = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).binary.napi_versions;
  const napi = Math.max(...supported.filter((v) => v <= Number(process.versions.napi)));
  return path.join(dir, 'lib', `napi-v${napi}`, 'tfjs_binding.node');
}

// Loads the addon in a child process (a broken library can abort the process).
function probe(dir) {
  const file = bindingPath(dir);
  if (!fs.existsSync(file)) return { ok: false, why: `no addon at ${path.relative(root, file)}` };
  const r = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(file)}).TF_Version)`], {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  return r.status === 0 ? { ok: true, version: r.stdout.trim() } : { ok: false, why: `${r.stderr ?? r.error}`.trim().split('\n').slice(-3).join(' | ') };
}

// One cached build per package version and Node ABI; manifest.json records its TensorFlow.
function cacheDir(target) {
  const pkgVersion = JSON.parse(fs.readFileSync(path.join(packageDir(target.pkg), 'package.json'), 'utf8')).version;
  const key = `${target.kind}-tfjs${pkgVersion}-napi${process.versions.napi}-${process.platform}-${process.arch}`;
  return path.join(cacheRoot, key);
}

// Hard links where the file system allows (no copy of ~850 MB), copies otherwise.
function linkOrCopy(src, dst) {
  fs.rmSync(dst, { force: true, recursive: true });
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  const st = fs.lstatSync(src);
  if (st.isSymbolicLink()) return fs.symlinkSync(fs.readlinkSync(src), dst);
  if (st.isDirectory()) {
    fs.mkdirSync(dst, { recursive: true });
    for (const e of fs.readdirSync(src)) linkOrCopy(path.join(src, e), path.join(dst, e));
    return;
  }
  try {
    fs.linkSync(src, dst);
  } catch {
    fs.copyFileSync(src, dst);
  }
}

function saveToCache(target, dir, cache, tfVersion) {
  const tmp = `${cache}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  linkOrCopy(path.join(dir, 'deps'), path.join(tmp, 'deps'));
  linkOrCopy(path.dirname(bindingPath(dir)), path.join(tmp, 'addon'));
  fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify({ package: target.pkg, tfVersion, created: new Date().toISOString() }, null, 2));
  fs.rmSync(cache, { recursive: true, force: true });
  fs.renameSync(tmp, cache); // atomic: a half-written cache is never used
  say(`cached in ${cache}`);
}

function restoreFromCache(dir, cache) {
  if (!fs.existsSync(path.join(cache, 'manifest.json'))) return false;
  linkOrCopy(path.join(cache, 'deps'), path.join(dir, 'deps'));
  linkOrCopy(path.join(cache, 'addon'), path.dirname(bindingPath(dir)));
  return true;
}

function stockInstall(target, dir) {
  say(`${target.pkg}: trying the package's own installer (downloads libtensorflow)`);
  const timeout = Number(process.env.SIMDEBLUR_SETUP_DOWNLOAD_TIMEOUT ?? 600) * 1000;
  const r = run(process.execPath, ['scripts/install.js', target.kind, 'download'], { cwd: dir, capture: true, timeout });
  const p = probe(dir);
  if (p.ok) return p;
  const last = r.out.trim().split('\n').filter(Boolean).slice(-2).join(' | ');
  say(`${target.pkg}: the stock download did not work (${last || p.why})`);
  return undefined;
}

function findPython() {
  for (const py of [process.env.PYTHON, 'python3', 'python'].filter(Boolean)) {
    if (run(py, ['-m', 'pip', '--version'], { capture: true }).ok) return py;
  }
  return undefined;
}

function fetchWheel(target, work) {
  const given = option('--wheel') ?? process.env.SIMDEBLUR_TF_WHEEL;
  if (given) {
    if (!fs.existsSync(given)) fail(`--wheel ${given}: no such file`);
    return given;
  }
  const py = findPython();
  if (!py) fail('python3 with pip is needed to fetch the TensorFlow wheel (or pass --wheel FILE)');
  const spec = `${target.wheel}==${TF_VERSION}`;
  say(`${target.pkg}: pip download ${spec}`);
  const r = run(py, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', spec, '-d', work], { capture: true });
  if (!r.ok) fail(`pip download ${spec} failed:\n${r.out}`);
  const whl = fs.readdirSync(work).find((f) => f.endsWith('.whl'));
  if (!whl) fail(`pip download ${spec} produced no wheel`);
  return path.join(work, whl);
}

function unpackWheel(wheel, depsDir) {
  say(`unpacking the C API from ${path.basename(wheel)}`);
  const py = findPython() ?? 'python3';
  const script = `
import sys, zipfile, os, shutil
wheel, out, libs, prefixes = sys.argv[1], sys.argv[2], sys.argv[3].split(','), sys.argv[4].split(',')
z = zipfile.ZipFile(wheel)
names = set(z.namelist())
for lib in libs:
    src = 'tensorflow/' + lib
    if src not in names:
        sys.exit('wheel has no ' + src)
    with z.open(src) as f, open(os.path.join(out, 'lib', lib), 'wb') as g:
        shutil.copyfileobj(f, g, 1 << 22)
n = 0
for name in names:
    rel = name[len('tensorflow/include/'):] if name.startswith('tensorflow/include/') else None
    if rel and name.endswith('.h') and any(rel.startswith(p) for p in prefixes):
        dst = os.path.join(out, 'include', rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with z.open(name) as f, open(dst, 'wb') as g:
            shutil.copyfileobj(f, g)
        n += 1
if n == 0:
    sys.exit('wheel has no C headers under tensorflow/include')
`;
  fs.rmSync(depsDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(depsDir, 'lib'), { recursive: true });
  fs.mkdirSync(path.join(depsDir, 'include'), { recursive: true });
  const r = run(py, ['-c', script, wheel, depsDir, LIBS.join(','), HEADER_PREFIXES.join(',')], { capture: true });
  if (!r.ok) fail(`could not unpack ${wheel}: ${r.out}`);
  for (const [name, to] of Object.entries(LINKS)) fs.symlinkSync(to, path.join(depsDir, 'lib', name));
}

function nodeGypEnv() {
  const env = { ...process.env };
  // Build against the local Node headers when they are installed (no header download).
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
  if (!env.npm_config_node_gyp) {
    const bundled = path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (fs.existsSync(bundled)) env.npm_config_node_gyp = bundled;
  }
  return env;
}

function buildAddon(target, dir) {
  say(`${target.pkg}: compiling the addon against TensorFlow ${TF_VERSION} (about a minute)`);
  const preGyp = path.join(root, 'node_modules', '@mapbox', 'node-pre-gyp', 'bin', 'node-pre-gyp');
  const r = run(process.execPath, [preGyp, 'install', '--build-from-source'], { cwd: dir, capture: true, env: nodeGypEnv() });
  if (!r.ok) fail(`building ${target.pkg} failed:\n${r.out.split('\n').slice(-30).join('\n')}`);
}

function wheelInstall(target, dir) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'simdeblur-wheel-'));
  try {
    const wheel = fetchWheel(target, work);
    unpackWheel(wheel, path.join(dir, 'deps'));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  buildAddon(target, dir);
  const p = probe(dir);
  if (!p.ok) fail(`${target.pkg}: the addon built from the wheel does not load: ${p.why}`);
  return p;
}

function provision(target) {
  const dir = packageDir(target.pkg);
  if (!fs.existsSync(dir)) {
    if (target.kind === 'gpu') fail(`${target.pkg} is not installed (it is an optional dependency; run npm install --include=optional)`);
    fail(`${target.pkg} is not installed; run npm install first`);
  }
  const force = flag('--force');
  const cache = cacheDir(target);
  if (!force) {
    const p = probe(dir);
    if (p.ok) {
      if (!fs.existsSync(path.join(cache, 'manifest.json'))) saveToCache(target, dir, cache, p.version);
      return say(`${target.pkg}: native binding ready (TensorFlow ${p.version})`);
    }
  }
  if (!force && restoreFromCache(dir, cache)) {
    const p = probe(dir);
    if (p.ok) return say(`${target.pkg}: restored from cache (TensorFlow ${p.version})`);
    say(`${target.pkg}: cached build in ${cache} does not load (${p.why}); rebuilding`);
  }
  const useStock = !flag('--from-wheel') && process.env.SIMDEBLUR_SETUP_FROM_WHEEL !== '1';
  const p = (useStock && stockInstall(target, dir)) || wheelInstall(target, dir);
  say(`${target.pkg}: native binding ready (TensorFlow ${p.version})`);
  saveToCache(target, dir, cache, p.version);
}

if (!flag('--no-npm')) {
  say('npm install');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = run(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: root });
  if (!r.ok) fail('npm install failed');
}
for (const t of targets) provision(t);
say('done');
