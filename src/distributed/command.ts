// The command line's side of distributed training (`simdeblur train … --nproc N`, `--cluster …
// --rank R`): which role this process plays — a plain single-process run, the launcher that
// starts workers, or a worker — and the launcher's command for its workers: this same command
// line without the options that chose the workers.
import { ClusterError, collectiveSettings, distribution, ENV, worldSize, type ClusterSpec, type CollectiveSettings, type DistributedFlags } from './cluster.ts';
import { loopbackCluster, type LaunchPlan } from './launcher.ts';

/** The options `simdeblur train` takes for distributed runs (node:util parseArgs form). */
export const DISTRIBUTED_OPTIONS = {
  nproc: { type: 'string' },
  cluster: { type: 'string' },
  rank: { type: 'string' },
  'collective-timeout': { type: 'string' },
  'join-timeout': { type: 'string' },
  'check-every': { type: 'string' },
} as const;

/** Their usage line. */
export const DISTRIBUTED_USAGE = '[--nproc N | --cluster HOST:PORT,... --rank R] [--collective-timeout S] [--join-timeout S] [--check-every STEPS]';

/** The parsed values of {@link DISTRIBUTED_OPTIONS}. */
export interface DistributedValues {
  readonly nproc?: string | undefined;
  readonly cluster?: string | undefined;
  readonly rank?: string | undefined;
  readonly 'collective-timeout'?: string | undefined;
  readonly 'join-timeout'?: string | undefined;
  readonly 'check-every'?: string | undefined;
}

/** What this process does. */
export type Role =
  | { readonly kind: 'single' }
  | { readonly kind: 'launcher'; readonly plan: LaunchPlan }
  | { readonly kind: 'worker'; readonly spec: ClusterSpec; readonly settings: CollectiveSettings; readonly launcherPid?: number };

function flagsOf(v: DistributedValues): DistributedFlags {
  return {
    ...(v.nproc !== undefined ? { nproc: v.nproc } : {}),
    ...(v.cluster !== undefined ? { cluster: v.cluster } : {}),
    ...(v.rank !== undefined ? { rank: v.rank } : {}),
    ...(v['collective-timeout'] !== undefined ? { collectiveTimeout: v['collective-timeout'] } : {}),
    ...(v['join-timeout'] !== undefined ? { joinTimeout: v['join-timeout'] } : {}),
    ...(v['check-every'] !== undefined ? { checkEvery: v['check-every'] } : {}),
  };
}

const CHOOSING = new Set(['--nproc', '--cluster', '--rank']);

/** `args` without the options that choose the workers (the launcher passes those in the environment). */
export function withoutWorkerChoice(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = a.split('=')[0]!;
    if (!CHOOSING.has(name)) out.push(a);
    else if (!a.includes('=')) i++; // its value
  }
  return out;
}

/**
 * The command a launcher starts its workers with: this process's executable, Node options and
 * script, the arguments before `args` (command and recipe), then `args` without the options
 * that chose the workers. `args` must be the tail of `argv`.
 */
export function workerCommand(args: readonly string[], argv: readonly string[] = process.argv, execArgv: readonly string[] = process.execArgv, execPath = process.execPath): [string, ...string[]] {
  const head = argv.slice(1, argv.length - args.length);
  const tail = argv.slice(argv.length - args.length);
  if (args.length > argv.length - 1 || tail.some((a, i) => a !== args[i])) {
    throw new ClusterError('cannot start the workers: the train options are not the end of this process\'s command line (call the command line, or start each worker with --cluster and --rank)');
  }
  return [execPath, ...execArgv, ...head, ...withoutWorkerChoice(args)];
}

/**
 * This process's role, from the distributed options, the environment and the experiment's
 * global batch size. Throws ClusterError for bad options (a usage error).
 */
export async function roleOf(values: DistributedValues, env: Readonly<Record<string, string | undefined>>, batchSize: number, args: readonly string[]): Promise<Role> {
  const flags = flagsOf(values);
  const d = distribution(flags, env);
  const settings = collectiveSettings(flags, env);
  const n = worldSize(d);
  if (n > 1 && batchSize % n !== 0) throw new ClusterError(`data.batchSize ${batchSize} is the global batch: it must divide by the number of workers, ${n} (each takes ${batchSize}/${n} of every batch); change --set data.batchSize or the number of workers`);
  if (d.kind === 'single') return { kind: 'single' };
  if (env[ENV.worker] === '1') {
    if (d.kind !== 'cluster') throw new ClusterError(`${ENV.worker}=1 needs ${ENV.cluster} and ${ENV.rank}`);
    const launcher = Number(env[ENV.launcher]);
    return { kind: 'worker', spec: d.spec, settings, ...(Number.isInteger(launcher) && launcher > 0 ? { launcherPid: launcher } : {}) };
  }
  const command = workerCommand(args);
  if (d.kind === 'local') return { kind: 'launcher', plan: { addresses: await loopbackCluster(d.nproc), ranks: Array.from({ length: d.nproc }, (_, r) => r), command } };
  return { kind: 'launcher', plan: { addresses: d.spec.addresses, ranks: [d.spec.rank], command } };
}
