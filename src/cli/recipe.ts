// Recipes are TypeScript modules whose default export is an experiment value. Running one
// directly (`npx tsx recipes/dbn-dvd.ts [train options]`) trains it, like `simdeblur train`.
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

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

/** True when the module with this `import.meta.url` is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  const self = fileURLToPath(metaUrl);
  return path.resolve(entry) === self || path.resolve(entry) === self.replace(/\.ts$/, '');
}

/**
 * In a recipe: `await runIfMain(import.meta.url, exp)` trains `exp` when the file is run
 * directly, with the command line's train options. (The value is passed in: importing the
 * recipe again from here would wait on its own top-level await.)
 */
export async function runIfMain(metaUrl: string, value: unknown): Promise<void> {
  if (!isMain(metaUrl)) return;
  const { trainValue } = await import('./train.ts');
  process.exitCode = await trainValue(value, fileURLToPath(metaUrl), process.argv.slice(2));
}
