// Collective ops for distributed training (docs/distributed.md) and graph functions (one
// TensorFlow graph per traced step, src/runtime/graph-function.ts): a build of tfjs-node's binding
// whose eager context can join a TensorFlow cluster and run functions built from recorded ops.
// The binding's own sources are copied to a temporary folder, native/tfjs-collective/
// tfjs_collective.cc and native/tfjs-graph/tfjs_graph.cc are added to them with small insertions
// (`patchBindingSources`), the copy is compiled against the package's libtensorflow,
// cached, and installed over the package's addon by an atomic rename: processes that have the
// old addon loaded keep it, new ones load the new one. Any failure leaves the stock addon in
// place and is recorded, so that distributed training can say why it is unavailable.
// Plain Node APIs only, like native.ts.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bumped whenever the patch or native/tfjs-collective changes: cached builds of older sources are not used. */
export const COLLECTIVE_PATCH_VERSION = 'v2';

/** The functions the patched binding adds (checked when a build is probed). */
export const COLLECTIVE_EXPORTS = ['enableCollectiveOps', 'abortCollectiveOps', 'checkCollectivePeerHealth', 'collectiveDevice', 'buildGraphFunction', 'removeGraphFunction'] as const;

/** The sources added to the binding, by their name there; each defines `Register<name>(env, exports)`. */
const SOURCES = [
  { file: fileURLToPath(new URL('../../native/tfjs-collective/tfjs_collective.cc', import.meta.url)), name: 'tfjs_collective.cc', register: 'RegisterCollectiveOps' },
  { file: fileURLToPath(new URL('../../native/tfjs-graph/tfjs_graph.cc', import.meta.url)), name: 'tfjs_graph.cc', register: 'RegisterGraphFunctions' },
] as const;

/** The binding sources the patch edits, as text. */
export interface BindingSources {
  /** binding/tfjs_backend.h */
  readonly header: string;
  /** binding/tfjs_binding.cc */
  readonly binding: string;
  /** binding.gyp */
  readonly gyp: string;
}

/** The patch does not apply: the named file lacks the text it anchors on (another tfjs-node version). */
export class PatchError extends Error {
  override name = 'PatchError';
}

/** Inserts `text` before or after the only occurrence of `anchor` in `source` (file `file`). */
function insertAt(file: string, source: string, anchor: string, text: string, where: 'before' | 'after'): string {
  const at = source.indexOf(anchor);
  if (at < 0 || source.indexOf(anchor, at + 1) >= 0) {
    throw new PatchError(`${file}: expected exactly one occurrence of ${JSON.stringify(anchor)}; this tfjs-node version's binding differs from the one the collective patch was written for`);
  }
  const cut = where === 'before' ? at : at + anchor.length;
  return source.slice(0, cut) + text + source.slice(cut);
}

const MARK = 'simdeblur collective ops';

/**
 * The binding sources with collective ops and graph functions wired in: TFJSBackend gains
 * accessors to its eager context and device name, the module initialiser registers the functions
 * of the added files, and binding.gyp compiles them. Applying it twice is an error.
 */
export function patchBindingSources(src: BindingSources): BindingSources {
  if (src.header.includes(MARK)) throw new PatchError('binding/tfjs_backend.h: already patched');
  const header = insertAt(
    'binding/tfjs_backend.h',
    src.header,
    ' public:\n  bool is_gpu_device;\n',
    `  // ${MARK}: the eager context and the device new tensors go to.\n  TFE_Context *collective_context() { return tfe_context_; }\n  std::string &collective_device_name() { return device_name; }\n`,
    'after',
  );
  const declarations = SOURCES.map((s) => `// ${MARK} (${s.name}).\nvoid ${s.register}(napi_env env, napi_value exports);\n`).join('');
  let binding = insertAt('binding/tfjs_binding.cc', src.binding, 'static napi_value InitTFNodeJSBinding(', `${declarations}\n`, 'before');
  binding = insertAt('binding/tfjs_binding.cc', binding, '  return exports;\n}\n\nNAPI_MODULE(', SOURCES.map((s) => `  ${s.register}(env, exports);\n`).join(''), 'before');
  const gyp = insertAt('binding.gyp', src.gyp, "'binding/tfjs_binding.cc'", SOURCES.map((s) => `,\n      'binding/${s.name}'`).join(''), 'after');
  return { header, binding, gyp };
}

/** Where a patched build is cached: one per package version, patch version, N-API version and platform. */
export function collectiveCacheDir(cacheRoot: string, kind: 'cpu' | 'gpu', pkgVersion: string): string {
  return path.join(cacheRoot, `${kind}-tfjs${pkgVersion}-collective-${COLLECTIVE_PATCH_VERSION}-napi${process.versions.napi}-${process.platform}-${process.arch}`);
}

/** The file in a cache folder that says why the last build failed. */
export const FAILURE_FILE = 'unavailable.txt';

/** Outcome of a probe: the addon loads and has the collective functions, or why not. */
export type CollectiveProbe = { readonly ok: true } | { readonly ok: false; readonly why: string };

/** Loads `file` in a child process and checks for the collective functions. */
export function probeCollective(file: string): CollectiveProbe {
  if (!fs.existsSync(file)) return { ok: false, why: `no addon at ${file}` };
  const script = `const b = require(${JSON.stringify(file)}); const missing = ${JSON.stringify(COLLECTIVE_EXPORTS)}.filter((n) => typeof b[n] !== 'function'); process.stdout.write(missing.join(','));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  if (r.status !== 0) return { ok: false, why: `${r.stderr || r.error}`.trim().split('\n').slice(-3).join(' | ') };
  const missing = r.stdout.trim();
  return missing === '' ? { ok: true } : { ok: false, why: `${file} lacks ${missing}` };
}

/** Copies `src` to `dst` through a temporary file in dst's folder and a rename (a reader never sees a partial file). */
export function replaceFileAtomic(src: string, dst: string): void {
  const tmp = `${dst}.tmp-${process.pid}-${Date.now()}`;
  try {
    fs.copyFileSync(src, tmp);
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, dst);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Installs the cached build `cached` over `installed` and probes it there: the addon finds
 * libtensorflow relative to the package, so it cannot load from the cache folder. When the probe
 * fails, the previous addon is put back.
 */
export function installCached(cached: string, installed: string, probe: (file: string) => CollectiveProbe): CollectiveProbe {
  const previous = `${installed}.previous-${process.pid}`;
  fs.copyFileSync(installed, previous);
  try {
    replaceFileAtomic(cached, installed);
    const p = probe(installed);
    if (!p.ok) replaceFileAtomic(previous, installed);
    return p;
  } finally {
    fs.rmSync(previous, { force: true });
  }
}

/** How to reach the compiler tools; the same environment the stock build uses. */
export interface BuildTools {
  /** node-pre-gyp's entry point (a dependency of the binding's package). */
  readonly preGyp: string;
  readonly env: NodeJS.ProcessEnv;
}

// The package files a source build needs; deps/ (libtensorflow) is linked, not copied.
const SKIP = new Set(['deps', 'lib', 'build', 'node_modules']);

/**
 * Builds the patched addon from the package in `pkgDir` in a temporary copy and returns the
 * path of the built file (inside `work`). Throws PatchError or an Error with the compiler's
 * last lines.
 */
export function buildCollectiveAddon(pkgDir: string, work: string, tools: BuildTools, addonRelPath: string): string {
  for (const e of fs.readdirSync(pkgDir)) {
    if (SKIP.has(e) || e.startsWith('build-tmp')) continue;
    fs.cpSync(path.join(pkgDir, e), path.join(work, e), { recursive: true });
  }
  fs.symlinkSync(path.join(pkgDir, 'deps'), path.join(work, 'deps'));
  const file = (rel: string) => path.join(work, rel);
  const patched = patchBindingSources({
    header: fs.readFileSync(file('binding/tfjs_backend.h'), 'utf8'),
    binding: fs.readFileSync(file('binding/tfjs_binding.cc'), 'utf8'),
    gyp: fs.readFileSync(file('binding.gyp'), 'utf8'),
  });
  fs.writeFileSync(file('binding/tfjs_backend.h'), patched.header);
  fs.writeFileSync(file('binding/tfjs_binding.cc'), patched.binding);
  fs.writeFileSync(file('binding.gyp'), patched.gyp);
  for (const s of SOURCES) fs.copyFileSync(s.file, file(`binding/${s.name}`));
  const r = spawnSync(process.execPath, [tools.preGyp, 'install', '--build-from-source'], { cwd: work, encoding: 'utf8', env: tools.env });
  if (r.status !== 0) throw new Error(`compiling the binding with collective ops and graph functions failed:\n${`${r.stdout ?? ''}${r.stderr ?? ''}${r.error ?? ''}`.split('\n').slice(-25).join('\n')}`);
  const built = path.join(work, addonRelPath);
  if (!fs.existsSync(built)) throw new Error(`the build finished but produced no ${addonRelPath}`);
  return built;
}

/** What {@link provisionCollective} needs to know about the package it upgrades. */
export interface CollectiveTarget {
  readonly pkg: string;
  readonly kind: 'cpu' | 'gpu';
  /** The package's folder. */
  readonly dir: string;
  readonly pkgVersion: string;
  /** The addon the package loads, relative to `dir` (lib/napi-v<N>/tfjs_binding.node). */
  readonly addonRelPath: string;
  readonly cacheRoot: string;
  readonly force: boolean;
  /** A probe of the installed addon has just found the collective functions. */
  readonly installedReady?: boolean;
  readonly tools: () => BuildTools;
  readonly log: (message: string) => void;
}

/**
 * Makes the package's addon the build with collective ops: keeps it if it already is one, else
 * installs the cached build, else builds one. Never throws: on failure the stock addon stays
 * (it is not touched before a working build exists), the reason is written to the cache folder
 * and returned.
 */
export function provisionCollective(t: CollectiveTarget): CollectiveProbe {
  const installed = path.join(t.dir, t.addonRelPath);
  const cache = collectiveCacheDir(t.cacheRoot, t.kind, t.pkgVersion);
  const cached = path.join(cache, path.basename(t.addonRelPath));
  const fail = (why: string): CollectiveProbe => {
    try {
      fs.mkdirSync(cache, { recursive: true });
      fs.writeFileSync(path.join(cache, FAILURE_FILE), `${new Date().toISOString()} ${why}\n`);
    } catch {
      // an unwritable cache only loses the explanation
    }
    t.log(`${t.pkg}: collective ops and graph functions (distributed training, graph steps) unavailable: ${why.split('\n')[0]}`);
    return { ok: false, why };
  };
  if (!t.force && (t.installedReady === true || probeCollective(installed).ok)) {
    t.log(`${t.pkg}: collective ops and graph functions ready`);
    return { ok: true };
  }
  if (!t.force && fs.existsSync(cached) && installCached(cached, installed, probeCollective).ok) {
    t.log(`${t.pkg}: collective ops and graph functions restored from cache ${cache}`);
    return { ok: true };
  }
  t.log(`${t.pkg}: building the binding with collective ops and graph functions (distributed training, graph steps; about half a minute)`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'simdeblur-collective-'));
  try {
    const built = buildCollectiveAddon(t.dir, work, t.tools(), t.addonRelPath);
    const p = probeCollective(built);
    if (!p.ok) return fail(`the patched build does not load: ${p.why}`);
    fs.mkdirSync(cache, { recursive: true });
    replaceFileAtomic(built, cached);
    fs.rmSync(path.join(cache, FAILURE_FILE), { force: true });
    replaceFileAtomic(built, installed);
    const q = probeCollective(installed);
    if (!q.ok) return fail(`the installed patched build does not load: ${q.why}`);
    t.log(`${t.pkg}: collective ops and graph functions ready; cached in ${cache}`);
    return q;
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Why the last collective build for this package failed, if one did (for error messages). */
export function collectiveFailure(cacheRoot: string, kind: 'cpu' | 'gpu', pkgVersion: string): string | undefined {
  try {
    return fs.readFileSync(path.join(collectiveCacheDir(cacheRoot, kind, pkgVersion), FAILURE_FILE), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** node-pre-gyp of the package in `dir`, resolved from the package itself. */
export function resolvePreGyp(dir: string): string {
  return createRequire(path.join(dir, 'package.json')).resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp');
}
