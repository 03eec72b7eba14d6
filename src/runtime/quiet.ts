// TensorFlow's native library prints a few INFO lines while it loads (absl's notice that logging
// is not initialised yet, and oneDNN's), before it reads TF_CPP_MIN_LOG_LEVEL, and no setting
// turns them off. A tiny addon of ours (native/quiet-stderr) holds back file descriptor 2 while
// the library loads; lines below the level in effect are dropped and everything else is written
// out again. Without the addon (not built, no compiler) loading is simply as noisy as before.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface QuietAddon {
  begin(file: string): boolean;
  end(): string;
}

/** Outcome of building the stderr helper addon. */
export type QuietBuild = { readonly ok: true; readonly file: string } | { readonly ok: false; readonly why: string };

const require = createRequire(import.meta.url);
const SOURCE_DIR = fileURLToPath(new URL('../../native/quiet-stderr/', import.meta.url));
// Bump when native/quiet-stderr changes, so cached builds of the old source are not used.
const ABI = 'v1';
// absl prints this once when the first message comes before absl::InitializeLog().
const ABSL_NOTICE = 'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR';
// absl's prefix: severity letter, date, time, thread id, file:line.
const LOG_PREFIX = /^([IWEF])\d{4} [\d:.]+\s+\d+ [^\s\]]+:\d+\] /;
const SEVERITY: Record<string, number> = { I: 0, W: 1, E: 2, F: 3 };

function cacheRoot(): string {
  return process.env.SIMDEBLUR_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'simdeblur');
}

/** Where the built helper lives: in the setup cache, one build per N-API version and platform. */
export function quietAddonFile(): string {
  const key = `quiet-stderr-${ABI}-napi${process.versions.napi}-${process.platform}-${process.arch}`;
  return path.join(cacheRoot(), key, 'quiet_stderr.node');
}

function failedMarker(): string {
  return path.join(path.dirname(quietAddonFile()), 'build-failed.txt');
}

function nodeGyp(): string | undefined {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  return candidates.find((c): c is string => c !== undefined && c !== '' && fs.existsSync(c));
}

/**
 * Compiles the stderr helper with node-gyp into the setup cache (about a second). Safe to run
 * from several processes at once: each builds in its own folder and the result is renamed
 * into place.
 */
export function buildQuietAddon(): QuietBuild {
  const file = quietAddonFile();
  const gyp = nodeGyp();
  const fail = (why: string): QuietBuild => {
    try {
      fs.writeFileSync(failedMarker(), `${why}\n`);
    } catch {
      // an unwritable cache only means the build is tried again next time
    }
    return { ok: false, why };
  };
  if (!fs.existsSync(path.join(SOURCE_DIR, 'binding.gyp'))) return { ok: false, why: `no helper source in ${SOURCE_DIR}` };
  let work: string;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    work = fs.mkdtempSync(path.join(path.dirname(file), 'build-'));
  } catch (err) {
    return { ok: false, why: `cannot write ${path.dirname(file)}: ${(err as Error).message}` };
  }
  try {
    if (gyp === undefined) return fail('node-gyp not found (it comes with npm)');
    fs.cpSync(SOURCE_DIR, work, { recursive: true });
    const env = { ...process.env };
    // Build against the installed Node headers when present, so nothing is downloaded.
    const prefix = path.resolve(path.dirname(process.execPath), '..');
    if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
    const r = spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: work, env, encoding: 'utf8' });
    const built = path.join(work, 'build', 'Release', 'quiet_stderr.node');
    if (r.status !== 0 || !fs.existsSync(built)) {
      const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}`.trim().split('\n').slice(-5).join('\n');
      return fail(`node-gyp rebuild failed:\n${out}`);
    }
    const tmp = `${file}.${process.pid}.tmp`;
    fs.copyFileSync(built, tmp);
    fs.renameSync(tmp, file);
    fs.rmSync(failedMarker(), { force: true });
    return { ok: true, file };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function loadAddon(): QuietAddon | undefined {
  const file = quietAddonFile();
  // Built once, on first use; a failed build is not retried on every start (setup retries it).
  if (!fs.existsSync(file) && !fs.existsSync(failedMarker()) && !buildQuietAddon().ok) return undefined;
  try {
    return require(file) as QuietAddon;
  } catch {
    return undefined;
  }
}

/**
 * Lines of captured stderr that are still wanted at TensorFlow log level `minLevel`: absl's
 * notice goes, as does every message below the level together with its continuation lines.
 */
export function filterStartupLog(text: string, minLevel: number): string {
  let keep = true;
  const lines = text.split(/(?<=\n)/);
  return lines
    .filter((line) => {
      const bare = line.replace(/\r?\n$/, '');
      if (bare === ABSL_NOTICE) return false;
      const m = LOG_PREFIX.exec(bare);
      if (m) keep = (SEVERITY[m[1]!] ?? 3) >= minLevel;
      return keep;
    })
    .join('');
}

/**
 * Runs `load` (which loads TensorFlow's native library) with its start-up INFO lines held back,
 * unless TF_CPP_MIN_LOG_LEVEL is 0 (`--verbose`). Whatever else it writes to stderr still appears.
 */
export function loadQuietly<T>(load: () => T): T {
  const minLevel = Number(process.env.TF_CPP_MIN_LOG_LEVEL ?? '0');
  const addon = minLevel > 0 ? loadAddon() : undefined;
  const file = path.join(os.tmpdir(), `simdeblur-stderr-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  if (addon === undefined || !addon.begin(file)) return load();
  try {
    return load();
  } finally {
    const rest = filterStartupLog(addon.end(), minLevel);
    if (rest !== '') process.stderr.write(rest);
  }
}
