// Recipe files: loading one (its default export is an experiment value), decoding its value
// with `--set` overrides, and telling whether it is the script node was started with.
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { isLeft } from 'fp-ts/lib/Either.js';
import { isCompiled } from '../util/module-url.ts';
import { overrideExperiment, type Experiment } from '../config/index.ts';
import { UsageError } from './exit.ts';

// A TypeScript recipe needs a loader. From the sources (tsx in a checkout) one is active already;
// the compiled package registers the tsx of the project it runs in (its own devDependency), so
// the recipe's `import ... from 'simdeblur'` reaches this same installed copy.
const TS_RECIPE = /\.[cm]?tsx?$/;
let tsLoader: Promise<void> | undefined;

function ensureTypeScriptLoader(file: string): Promise<void> {
  if (!isCompiled(import.meta.url) || !TS_RECIPE.test(file)) return Promise.resolve();
  tsLoader ??= (async () => {
    let loader: string;
    try {
      loader = createRequire(path.join(process.cwd(), 'package.json')).resolve('tsx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
      throw new Error(`cannot load recipe ${file}: a TypeScript recipe needs tsx in this project (npm install -D tsx), or write the recipe in JavaScript (.js/.mjs)`);
    }
    // Importing tsx registers its loaders, as `node --import tsx` does.
    await import(pathToFileURL(loader).href);
  })();
  return tsLoader;
}

/**
 * Imports a recipe file (JavaScript, or TypeScript through tsx) and returns its default export (or its
 * `experiment` export), not yet decoded; a file that fails to load throws a usage error.
 */
export async function loadRecipe(file: string): Promise<unknown> {
  const abs = path.resolve(file);
  await ensureTypeScriptLoader(file);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // A recipe that does not load (missing, or invalid where it builds its components) is bad configuration.
    throw new UsageError(`cannot load recipe ${file}: ${msg}`);
  }
  let value = mod.default ?? mod.experiment;
  // A TypeScript recipe compiled as CommonJS (in a package without "type": "module") arrives as
  // its module.exports, with the default export one level down.
  if (typeof value === 'object' && value !== null && (value as { __esModule?: unknown }).__esModule === true) {
    const cjs = value as Record<string, unknown>;
    value = cjs.default ?? cjs.experiment;
  }
  if (value === undefined) throw new UsageError(`recipe ${file} has no default export (export default experiment({...}))`);
  return value;
}

/** Decodes a recipe value with `--set` overrides; prints the problems and returns undefined. */
export function decodeRecipe(value: unknown, source: string, sets: readonly string[]): Experiment | undefined {
  const r = overrideExperiment(value, sets);
  if (isLeft(r)) {
    process.stderr.write(`invalid experiment in ${source}:\n  ${r.left.join('\n  ')}\n`);
    return undefined;
  }
  return r.right;
}

/** True when the module with this `import.meta.url` is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  const self = fileURLToPath(metaUrl);
  return path.resolve(entry) === self || path.resolve(entry) === self.replace(/\.ts$/, '');
}
