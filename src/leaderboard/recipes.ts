// Where a model's own training settings come from: its recipe, the file that reproduces the
// original configuration on a benchmark. Recipes are named `<model type, lower case>-<benchmark>.ts`
// (recipes/dbn-dvd.ts, recipes/nafnet-gopro.ts); the protocol says which benchmarks it prefers.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLeft } from 'fp-ts/lib/Either.js';
import { decodeExperiment, type Experiment } from '../config/experiment.ts';
import { loadRecipe } from '../cli/recipe-file.ts';
import type { Protocol } from './protocol.ts';
import { dataLayout } from './data.ts';

/** A model's recipe: its file (as named in rows) and its decoded experiment. */
export interface Recipe {
  readonly file: string;
  readonly experiment: Experiment;
  /** The recipe trains another model: only its training settings apply. */
  readonly borrowed: boolean;
}

/** The recipes folder shipped with the package (recipes/ at its root). */
export function packageRecipesDir(): string {
  return fileURLToPath(new URL('../../recipes/', import.meta.url));
}

/** The recipe file of model `type` under the protocol's rules, or undefined when there is none. */
export function recipeFile(p: Protocol, type: string): string | undefined {
  const dir = p.recipes.dir ?? packageRecipesDir();
  const named = p.models[type]?.recipe;
  if (named !== undefined) {
    const file = path.resolve(dir, named);
    if (!fs.existsSync(file)) throw new Error(`models.${type}.recipe: ${file} does not exist`);
    return file;
  }
  return recipeBenchmarks(p)
    .map((b) => path.join(dir, `${type.toLowerCase()}-${b}.ts`))
    .find((f) => fs.existsSync(f));
}

/** The benchmarks whose recipes the protocol prefers, in order. */
export function recipeBenchmarks(p: Protocol): readonly string[] {
  return p.recipes.benchmarks ?? [...new Set([dataLayout(p.data), 'dvd', 'gopro', 'reds'])];
}

/**
 * Loads and decodes the recipe of model `type`. A recipe named by the protocol may train another
 * model (MIMO-UNet+ trained as MIMO-UNet): its training settings are then borrowed, not its network.
 */
export async function loadModelRecipe(file: string, type: string, named: boolean): Promise<Recipe> {
  const decoded = decodeExperiment(await loadRecipe(file));
  if (isLeft(decoded)) throw new Error(`recipe ${file} is not a valid experiment:\n  ${decoded.left.join('\n  ')}`);
  const exp = decoded.right;
  if (exp.model.type !== type && !named) throw new Error(`recipe ${file} trains model type '${exp.model.type}', not '${type}'`);
  return { file: path.basename(file), experiment: exp, borrowed: exp.model.type !== type };
}
