// Provisions the native TensorFlow binding of @tensorflow/tfjs-node (and -gpu): the copy that
// this package resolves, so it works the same in this repository and in a project that installed
// simdeblur from npm. Plain Node APIs only: it runs before anything else works, and from dist/.
//
// Route 1: the package's own installer (downloads libtensorflow and a prebuilt addon).
// Route 2: libtensorflow's C API taken from the TensorFlow pip wheel, addon compiled here.
// Whatever route succeeds is cached (SIMDEBLUR_CACHE, default ~/.cache/simdeblur), so another
// checkout or project on the same machine only links the cached files.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { COLLECTIVE_EXPORTS, provisionCollective, resolvePreGyp } from './collective.ts';
import { ensureBindShim } from './bind-shim.ts';

export interface ProvisionOptions {
  /** Also provision @tensorflow/tfjs-node-gpu. */
  readonly gpu?: boolean;
  /** Skip the package's own installer (its download host may be unreachable). */
  readonly fromWheel?: boolean;
  /** A TensorFlow wheel already on disk, instead of `pip download`. */
  readonly wheel?: string;
  /** Rebuild even when a working addon or cache exists. */
  readonly force?: boolean;
  /** Leave the stock addon: no build with collective ops and graph functions (distributed training, graph steps). */
  readonly noCollective?: boolean;
  /** Progress lines; default: printed with the elapsed time. */
  readonly log?: (message: string) => void;
}

/** A provisioning step that failed; the message says which and what to do. */
export class SetupError extends Error {
  override name = 'SetupError';
}

/** Where the failure message sends the reader (shipped with the package). */
export const TROUBLESHOOTING = 'docs/runtime.md, section "Troubleshooting"';

const TF_VERSION = process.env.SIMDEBLUR_TF_VERSION ?? '2.21.0';
// The addon links these names; the wheel ships the C API inside libtensorflow_cc.
const LIBS = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];
const LINKS: Readonly<Record<string, string>> = {
  'libtensorflow.so': 'libtensorflow_cc.so.2',
  'libtensorflow.so.2': 'libtensorflow_cc.so.2',
  'libtensorflow.so.2.9.1': 'libtensorflow_cc.so.2', // the file tfjs-node's installer checks for
  'libtensorflow_framework.so': 'libtensorflow_framework.so.2',
  'libtensorflow_framework.so.2.9.1': 'libtensorflow_framework.so.2',
};
// Headers the addon includes, directly or transitively.
const HEADER_PREFIXES = ['tensorflow/c/', 'tensorflow/core/platform/ctstring', 'tsl/platform/ctstring', 'xla/tsl/c/'];

interface Target {
  readonly pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';
  readonly wheel: string;
  readonly kind: 'cpu' | 'gpu';
}

interface Probe {
  readonly ok: boolean;
  readonly version?: string;
  readonly why?: string;
  /** The addon has the collective ops of the patched build. */
  readonly collective?: boolean;
}

// The newest probe of each addon file: the collective step reuses the stock step's last one.
const probed = new Map<string, Probe>();

/** The setup cache: `$SIMDEBLUR_CACHE`, default `~/.cache/simdeblur` (or under `$XDG_CACHE_HOME`). */
export function cacheRoot(): string {
  return process.env.SIMDEBLUR_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'simdeblur');
}

// Resolved from this file, so an installed simdeblur provisions the copy it will load itself.
const require = createRequire(import.meta.url);

/** The directory of the installed package, or undefined when it is not installed. */
export function packageDir(pkg: string): string | undefined {
  try {
    return path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: readonly string[], opts: SpawnSyncOptions & { capture?: boolean } = {}): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { stdio: opts.capture ? 'pipe' : 'inherit', encoding: 'utf8', ...opts });
  if (r.error) return { ok: false, out: String(r.error.message) };
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** The addon file the package in `dir` loads: node-pre-gyp builds for the highest N-API version both it and Node support. */
export function bindingPath(dir: string): string {
  const supported = (readJson(path.join(dir, 'package.json')).binary as { napi_versions: number[] }).napi_versions;
  const napi = Math.max(...supported.filter((v) => v <= Number(process.versions.napi)));
  return path.join(dir, 'lib', `napi-v${napi}`, 'tfjs_binding.node');
}

/** Loads the addon in a child process (a broken library can abort the process that loads it). */
export function probeBinding(dir: string): Probe {
  const file = bindingPath(dir);
  if (!fs.existsSync(file)) return { ok: false, why: `no addon at ${file}` };
  const script = `const b = require(${JSON.stringify(file)}); process.stdout.write(JSON.stringify({ version: b.TF_Version, collective: ${JSON.stringify(COLLECTIVE_EXPORTS)}.every((n) => typeof b[n] === 'function') }))`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  let p: Probe;
  try {
    p = r.status === 0 ? { ok: true, ...(JSON.parse(r.stdout) as { version: string; collective: boolean }) } : { ok: false, why: `${r.stderr || r.error}`.trim().split('\n').slice(-3).join(' | ') };
  } catch {
    p = { ok: false, why: `unexpected output while loading ${file}: ${r.stdout.slice(0, 200)}` };
  }
  probed.set(file, p);
  return p;
}

// One cached build per package version and Node ABI; manifest.json records its TensorFlow.
function cacheDir(target: Target, dir: string): string {
  const pkgVersion = String(readJson(path.join(dir, 'package.json')).version);
  return path.join(cacheRoot(), `${target.kind}-tfjs${pkgVersion}-napi${process.versions.napi}-${process.platform}-${process.arch}`);
}

// Hard links where the file system allows (no copy of ~850 MB), copies otherwise.
function linkOrCopy(src: string, dst: string): void {
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

class Provisioner {
  private readonly started = Date.now();
  private readonly log: (message: string) => void;

  constructor(private readonly o: ProvisionOptions) {
    this.log = o.log ?? ((m) => console.log(`[setup ${((Date.now() - this.started) / 1000).toFixed(1)}s] ${m}`));
  }

  provision(target: Target): string {
    const version = this.provisionStock(target);
    if (!this.o.noCollective && process.env.SIMDEBLUR_NO_COLLECTIVE !== '1') this.provisionCollective(target);
    return version;
  }

  // The build with collective ops replaces the working stock addon only once it works itself;
  // its failure is reported, not fatal (everything but distributed training works without it).
  private provisionCollective(target: Target): void {
    const dir = packageDir(target.pkg)!;
    provisionCollective({
      pkg: target.pkg,
      kind: target.kind,
      dir,
      pkgVersion: String(readJson(path.join(dir, 'package.json')).version),
      addonRelPath: path.relative(dir, bindingPath(dir)),
      cacheRoot: cacheRoot(),
      force: this.o.force ?? false,
      installedReady: probed.get(bindingPath(dir))?.collective === true,
      tools: () => ({ preGyp: resolvePreGyp(dir), env: nodeGypEnv() }),
      log: this.log,
    });
  }

  /** The helper that keeps distributed workers' servers on their own address (reported, never fatal). */
  bindShim(): void {
    const shim = ensureBindShim();
    this.log(shim.ok ? `bind helper for distributed workers ready (${shim.file})` : `bind helper for distributed workers unavailable: ${shim.why}`);
  }

  private provisionStock(target: Target): string {
    const dir = packageDir(target.pkg);
    if (dir === undefined) {
      if (target.kind === 'gpu') throw new SetupError(`${target.pkg} is not installed (it is an optional dependency of simdeblur; install it with npm install --include=optional)`);
      throw new SetupError(`${target.pkg} is not installed next to simdeblur; run npm install first`);
    }
    const cache = cacheDir(target, dir);
    if (!this.o.force) {
      const p = probeBinding(dir);
      if (p.ok) {
        if (!fs.existsSync(path.join(cache, 'manifest.json'))) this.saveToCache(target, dir, cache, p.version!);
        this.log(`${target.pkg}: native binding ready (TensorFlow ${p.version}) in ${dir}`);
        return p.version!;
      }
      if (this.restoreFromCache(dir, cache)) {
        const q = probeBinding(dir);
        if (q.ok) {
          this.log(`${target.pkg}: restored from cache ${cache} (TensorFlow ${q.version}) into ${dir}`);
          return q.version!;
        }
        this.log(`${target.pkg}: cached build in ${cache} does not load (${q.why}); rebuilding`);
      }
    }
    const useStock = !this.o.fromWheel && process.env.SIMDEBLUR_SETUP_FROM_WHEEL !== '1';
    const p = (useStock ? this.stockInstall(target, dir) : undefined) ?? this.wheelInstall(target, dir);
    this.log(`${target.pkg}: native binding ready (TensorFlow ${p.version}) in ${dir}`);
    this.saveToCache(target, dir, cache, p.version!);
    return p.version!;
  }

  private saveToCache(target: Target, dir: string, cache: string, tfVersion: string): void {
    const tmp = `${cache}.tmp-${process.pid}`;
    try {
      fs.rmSync(tmp, { recursive: true, force: true });
      linkOrCopy(path.join(dir, 'deps'), path.join(tmp, 'deps'));
      linkOrCopy(path.dirname(bindingPath(dir)), path.join(tmp, 'addon'));
      fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify({ package: target.pkg, tfVersion, created: new Date().toISOString() }, null, 2));
      fs.rmSync(cache, { recursive: true, force: true });
      fs.renameSync(tmp, cache); // atomic: a half-written cache is never used
      this.log(`cached in ${cache}`);
    } catch (err) {
      // The binding works; only the next setup elsewhere will be slower.
      fs.rmSync(tmp, { recursive: true, force: true });
      this.log(`could not write the cache ${cache}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private restoreFromCache(dir: string, cache: string): boolean {
    if (!fs.existsSync(path.join(cache, 'manifest.json'))) return false;
    linkOrCopy(path.join(cache, 'deps'), path.join(dir, 'deps'));
    linkOrCopy(path.join(cache, 'addon'), path.dirname(bindingPath(dir)));
    return true;
  }

  private stockInstall(target: Target, dir: string): Probe | undefined {
    this.log(`${target.pkg}: trying the package's own installer (downloads libtensorflow)`);
    const timeout = Number(process.env.SIMDEBLUR_SETUP_DOWNLOAD_TIMEOUT ?? 600) * 1000;
    const r = run(process.execPath, ['scripts/install.js', target.kind, 'download'], { cwd: dir, capture: true, timeout });
    const p = probeBinding(dir);
    if (p.ok) return p;
    const last = r.out.trim().split('\n').filter(Boolean).slice(-2).join(' | ');
    this.log(`${target.pkg}: the stock download did not work (${last || p.why})`);
    return undefined;
  }

  private findPython(): string | undefined {
    for (const py of [process.env.PYTHON, 'python3', 'python']) {
      if (py && run(py, ['-m', 'pip', '--version'], { capture: true }).ok) return py;
    }
    return undefined;
  }

  private fetchWheel(target: Target, work: string): string {
    const given = this.o.wheel ?? process.env.SIMDEBLUR_TF_WHEEL;
    if (given) {
      if (!fs.existsSync(given)) throw new SetupError(`--wheel ${given}: no such file`);
      return given;
    }
    const py = this.findPython();
    if (!py) throw new SetupError('python3 with pip is needed to fetch the TensorFlow wheel (or pass --wheel FILE)');
    const spec = `${target.wheel}==${TF_VERSION}`;
    this.log(`${target.pkg}: pip download ${spec}`);
    const r = run(py, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', spec, '-d', work], { capture: true });
    if (!r.ok) throw new SetupError(`pip download ${spec} failed:\n${r.out}`);
    const whl = fs.readdirSync(work).find((f) => f.endsWith('.whl'));
    if (!whl) throw new SetupError(`pip download ${spec} produced no wheel`);
    return path.join(work, whl);
  }

  private unpackWheel(wheel: string, depsDir: string): void {
    this.log(`unpacking the C API from ${path.basename(wheel)}`);
    const py = this.findPython() ?? 'python3';
    // zipfile streams the ~850 MB libraries out without unpacking the whole wheel.
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
    if (!r.ok) throw new SetupError(`could not unpack ${wheel}: ${r.out}`);
    for (const [name, to] of Object.entries(LINKS)) fs.symlinkSync(to, path.join(depsDir, 'lib', name));
  }

  private buildAddon(target: Target, dir: string): void {
    this.log(`${target.pkg}: compiling the addon against TensorFlow ${TF_VERSION} (about a minute)`);
    let preGyp: string;
    try {
      // node-pre-gyp is the package's own dependency: resolve it from there.
      preGyp = createRequire(path.join(dir, 'package.json')).resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp');
    } catch {
      throw new SetupError(`${target.pkg} in ${dir}: its dependency @mapbox/node-pre-gyp is not installed; run npm install`);
    }
    const r = run(process.execPath, [preGyp, 'install', '--build-from-source'], { cwd: dir, capture: true, env: nodeGypEnv() });
    if (!r.ok) throw new SetupError(`building ${target.pkg} failed:\n${r.out.split('\n').slice(-30).join('\n')}`);
  }

  private wheelInstall(target: Target, dir: string): Probe {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'simdeblur-wheel-'));
    try {
      this.unpackWheel(this.fetchWheel(target, work), path.join(dir, 'deps'));
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    this.buildAddon(target, dir);
    const p = probeBinding(dir);
    if (!p.ok) throw new SetupError(`${target.pkg}: the addon built from the wheel does not load: ${p.why}`);
    return p;
  }
}

function nodeGypEnv(): NodeJS.ProcessEnv {
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

/**
 * Makes @tensorflow/tfjs-node (and with `gpu`, @tensorflow/tfjs-node-gpu) load natively: keeps a
 * working addon, else links a cached build, else installs one. Returns the TensorFlow version of
 * each package; throws a SetupError saying what failed.
 */
export function provisionNativeRuntime(o: ProvisionOptions = {}): Record<string, string> {
  const targets: Target[] = [
    { pkg: '@tensorflow/tfjs-node', wheel: 'tensorflow-cpu', kind: 'cpu' },
    ...(o.gpu || process.env.SIMDEBLUR_GPU === '1' ? [{ pkg: '@tensorflow/tfjs-node-gpu', wheel: 'tensorflow', kind: 'gpu' } as const] : []),
  ];
  const p = new Provisioner(o);
  const versions: Record<string, string> = {};
  for (const t of targets) versions[t.pkg] = p.provision(t);
  if (!o.noCollective && process.env.SIMDEBLUR_NO_COLLECTIVE !== '1') p.bindShim();
  return versions;
}
