// Recipes are TypeScript modules whose default export is an experiment value. Running one
// directly (`npx tsx recipes/dbn-dvd.ts [train options]`) trains it, like `simdeblur train`.
import { fileURLToPath } from 'node:url';
import { isMain } from './recipe-file.ts';
import { exitStatusOf } from './exit.ts';

export { loadRecipe, isMain } from './recipe-file.ts';

/**
 * In a recipe: `await runIfMain(import.meta.url, exp)` trains `exp` when the file is run
 * directly, with the command line's train options. (The value is passed in: importing the
 * recipe again from here would wait on its own top-level await.)
 */
export async function runIfMain(metaUrl: string, value: unknown): Promise<void> {
  if (!isMain(metaUrl)) return;
  // Loaded only when training: a recipe imported for its value does not load the engine.
  const { trainValue } = await import('./train.ts');
  try {
    process.exitCode = await trainValue(value, fileURLToPath(metaUrl), process.argv.slice(2));
  } catch (err) {
    // As `simdeblur train` reports it: a message and an exit status, not an uncaught error.
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = exitStatusOf(err);
  }
}
