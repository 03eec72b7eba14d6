// Recipe files: loading one (its default export is an experiment value), decoding its value
// with `--set` overrides, and telling whether it is the script node was started with.
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { isLeft } from 'fp-ts/lib/Either.js';
import { overrideExperiment, type Experiment } from '../config/index.ts';

export async function loadRecipe(file: string): Promise<unknown> {
  const abs = path.resolve(file);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot load recipe ${file}: ${msg}`);
  }
  const value = mod.default ?? mod.experiment;
  if (value === undefined) throw new Error(`recipe ${file} has no default export (export default experiment({...}))`);
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
