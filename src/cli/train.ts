// `simdeblur train RECIPE.ts [--set k=v]... [--work-dir D] [--resume | --resume-from D]`.
// Ctrl-C stops after the current step and leaves a checkpoint; a second Ctrl-C exits at once.
import { parseArgs } from 'node:util';
import { decodeRecipe, loadRecipe } from './recipe-file.ts';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError } from './exit.ts';

export const TRAIN_OPTIONS = {
  set: { type: 'string', multiple: true, default: [] as string[] },
  'work-dir': { type: 'string' },
  resume: { type: 'boolean', default: false },
  'resume-from': { type: 'string' },
  quiet: { type: 'boolean', default: false },
  'no-tensorboard': { type: 'boolean', default: false },
  'allow-nonfinite': { type: 'boolean', default: false },
} as const;

/** Trains a recipe's value with the command line's train options; returns the exit status. */
export async function trainValue(value: unknown, source: string, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: TRAIN_OPTIONS, allowPositionals: false });
  if (values.resume && values['resume-from'] !== undefined) {
    throw new UsageError('--resume and --resume-from cannot be used together: --resume takes the newest checkpoint of the work dir, --resume-from the one named');
  }
  const exp = decodeRecipe(value, source, values.set);
  if (!exp) return EXIT_USAGE;
  // The engine (and with it TensorFlow) is loaded only once the recipe is known to be valid.
  const { fit } = await import('../engine/fit.ts');
  try {
    const summary = await fit(exp, {
      ...(values['work-dir'] !== undefined ? { workDir: values['work-dir'] } : {}),
      resume: values.resume,
      ...(values['resume-from'] !== undefined ? { resumeFrom: values['resume-from'] } : {}),
      progress: values.quiet ? false : {},
      tensorboard: !values['no-tensorboard'],
      handleSignals: true,
      allowNonfinite: values['allow-nonfinite'],
    });
    console.log(JSON.stringify(summary));
    // With handleSignals and no AbortSignal of ours, only Ctrl-C stops a run early.
    return summary.reason === 'stopped' ? EXIT_INTERRUPTED : EXIT_OK;
  } catch (err) {
    process.stderr.write(`training failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILED;
  }
}

export async function trainCommand(args: string[]): Promise<number> {
  const [file, ...rest] = args;
  if (file === undefined || file.startsWith('-')) throw new UsageError('usage: simdeblur train RECIPE.ts [--set key=value]... [--work-dir DIR] [--resume | --resume-from DIR] [--quiet] [--no-tensorboard] [--allow-nonfinite]');
  return trainValue(await loadRecipe(file), file, rest);
}
