// The bind helper of distributed training (native/bind-shim, docs/distributed.md): a small
// shared library preloaded into worker processes so that TensorFlow's gRPC server, which always
// listens on the wildcard address, listens on the worker's own address only. Compiled once by
// `simdeblur setup` (or on first use) with the system C compiler into the setup cache.
// Plain Node APIs only, like native.ts.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Bumped whenever native/bind-shim changes, so that cached builds of the old source are not used.
const VERSION = 'v1';
const SOURCE = fileURLToPath(new URL('../../native/bind-shim/bind_shim.c', import.meta.url));

function cacheRoot(): string {
  return process.env.SIMDEBLUR_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'simdeblur');
}

/** Where the built helper lives. */
export function bindShimFile(): string {
  return path.join(cacheRoot(), `bind-shim-${VERSION}-${process.platform}-${process.arch}`, 'bind_shim.so');
}

/** Outcome of {@link ensureBindShim}: the library's path, or why there is none. */
export type BindShim = { readonly ok: true; readonly file: string } | { readonly ok: false; readonly why: string };

/**
 * The helper library, compiled first if needed (about a second). Safe to run from several
 * processes at once: each compiles to its own name and renames the result into place.
 */
export function ensureBindShim(): BindShim {
  const file = bindShimFile();
  if (fs.existsSync(file)) return { ok: true, file };
  if (process.platform !== 'linux') return { ok: false, why: `the bind helper is built for Linux only (this is ${process.platform})` };
  if (!fs.existsSync(SOURCE)) return { ok: false, why: `no helper source at ${SOURCE}` };
  const cc = process.env.CC ?? 'cc';
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (err) {
    return { ok: false, why: `cannot create ${path.dirname(file)}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const tmp = `${file}.tmp-${process.pid}`;
  const r = spawnSync(cc, ['-shared', '-fPIC', '-O2', '-o', tmp, SOURCE, '-ldl'], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    return { ok: false, why: `${cc} could not compile ${SOURCE}: ${(r.error?.message ?? r.stderr).trim().split('\n').slice(-3).join(' | ')}` };
  }
  fs.renameSync(tmp, file);
  return { ok: true, file };
}
