// `simdeblur train RECIPE.ts [--set k=v]... [--work-dir D] [--resume | --resume-from D]
// [--nproc N | --cluster HOST:PORT,... --rank R]`. Ctrl-C stops after the current step and
// leaves a checkpoint; a second Ctrl-C exits at once. With several workers (docs/distributed.md)
// this process launches them, or is one of them.
import { parseArgs } from 'node:util';
import { decodeRecipe, loadRecipe } from './recipe-file.ts';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError } from './exit.ts';
import { DISTRIBUTED_OPTIONS, DISTRIBUTED_USAGE, roleOf, type Role } from '../distributed/command.ts';
import { ClusterError } from '../distributed/cluster.ts';
import type { Experiment } from '../config/experiment.ts';

export const TRAIN_OPTIONS = {
  set: { type: 'string', multiple: true, default: [] as string[] },
  'work-dir': { type: 'string' },
  resume: { type: 'boolean', default: false },
  'resume-from': { type: 'string' },
  quiet: { type: 'boolean', default: false },
  'no-tensorboard': { type: 'boolean', default: false },
  'allow-nonfinite': { type: 'boolean', default: false },
  ...DISTRIBUTED_OPTIONS,
} as const;

/** Trains a recipe's value with the command line's train options; returns the exit status. */
export async function trainValue(value: unknown, source: string, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: TRAIN_OPTIONS, allowPositionals: false });
  if (values.resume && values['resume-from'] !== undefined) {
    throw new UsageError('--resume and --resume-from cannot be used together: --resume takes the newest checkpoint of the work dir, --resume-from the one named');
  }
  const exp = decodeRecipe(value, source, values.set);
  if (!exp) return EXIT_USAGE;
  let role: Role;
  try {
    role = await roleOf(values, process.env, exp.data.batchSize, args);
  } catch (err) {
    if (err instanceof ClusterError) throw new UsageError(err.message);
    throw err;
  }
  // The launcher starts the workers and waits for them; it never loads TensorFlow.
  if (role.kind === 'launcher') return (await import('../distributed/launcher.ts')).launch(role.plan);
  const status = await trainAs(role, exp, values);
  // A worker ends here: exiting at once skips TensorFlow's server shutdown, which it does not
  // support (it only logs that it cannot).
  if (role.kind === 'worker') process.exit(status);
  return status;
}

type TrainValues = ReturnType<typeof parseArgs<{ args: string[]; options: typeof TRAIN_OPTIONS; allowPositionals: false }>>['values'];

/** Trains in this process: a single-process run or one worker of a distributed run. */
async function trainAs(role: Exclude<Role, { kind: 'launcher' }>, exp: Experiment, values: TrainValues): Promise<number> {
  // The engine (and with it TensorFlow) is loaded only once the recipe is known to be valid.
  const { fit } = await import('../engine/fit.ts');
  try {
    const worker = role.kind === 'worker' ? await joinWorker(role, exp) : undefined;
    const leader = worker === undefined || worker.rank === 0;
    const summary = await fit(exp, {
      ...(worker ? { replicas: worker } : {}),
      ...(values['work-dir'] !== undefined ? { workDir: values['work-dir'] } : {}),
      resume: values.resume,
      ...(values['resume-from'] !== undefined ? { resumeFrom: values['resume-from'] } : {}),
      progress: values.quiet || !leader ? false : {},
      tensorboard: !values['no-tensorboard'],
      handleSignals: true,
      allowNonfinite: values['allow-nonfinite'],
    });
    if (leader) console.log(JSON.stringify(summary));
    // With handleSignals and no AbortSignal of ours, only Ctrl-C stops a run early.
    return summary.reason === 'stopped' ? EXIT_INTERRUPTED : EXIT_OK;
  } catch (err) {
    process.stderr.write(`training failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILED;
  }
}

/** Joins the cluster as a worker (loads TensorFlow); the launcher's absence stops the worker. */
async function joinWorker(role: Extract<Role, { kind: 'worker' }>, exp: unknown) {
  const { joinCluster } = await import('../distributed/worker.ts');
  const { exitWithLauncher } = await import('../distributed/launcher.ts');
  if (role.launcherPid !== undefined) exitWithLauncher(role.launcherPid);
  return joinCluster(role.spec, role.settings, exp).replicas;
}

export async function trainCommand(args: string[]): Promise<number> {
  const [file, ...rest] = args;
  if (file === undefined || file.startsWith('-')) throw new UsageError(`usage: simdeblur train RECIPE.ts [--set key=value]... [--work-dir DIR] [--resume | --resume-from DIR] [--quiet] [--no-tensorboard] [--allow-nonfinite] ${DISTRIBUTED_USAGE}`);
  return trainValue(await loadRecipe(file), file, rest);
}
