// Who takes part in a data-parallel run and where they listen: the command line's `--nproc N`,
// `--cluster host:port,… --rank R` and `--collective-timeout S`, or the environment variables a
// scheduler sets (SIMDEBLUR_CLUSTER, SIMDEBLUR_RANK). Pure functions of their inputs.

/** Environment variables of a distributed run (set by a scheduler, or by the launcher for its workers). */
export const ENV = {
  /** `host:port,host:port,…`: every worker's address, by rank. */
  cluster: 'SIMDEBLUR_CLUSTER',
  /** This worker's rank in the cluster. */
  rank: 'SIMDEBLUR_RANK',
  /** Set by the launcher in the processes it starts: this process is the worker itself. */
  worker: 'SIMDEBLUR_WORKER',
  /** The launcher's process id: a worker whose launcher is gone stops. */
  launcher: 'SIMDEBLUR_LAUNCHER_PID',
  /** Seconds a collective may wait once the run has started. */
  timeout: 'SIMDEBLUR_COLLECTIVE_TIMEOUT',
  /** Seconds the workers have to find each other at the start. */
  joinTimeout: 'SIMDEBLUR_JOIN_TIMEOUT',
  /** Steps between two checks that the replicas are still identical. */
  checkEvery: 'SIMDEBLUR_CHECK_EVERY',
} as const;

/** A worker's place in the cluster. */
export interface ClusterSpec {
  /** `host:port` of every worker, by rank. */
  readonly addresses: readonly string[];
  readonly rank: number;
}

/** How a run is distributed, once the command line and the environment are read. */
export type Distribution =
  | { readonly kind: 'single' }
  /** Start `nproc` workers on this machine, on loopback ports chosen now. */
  | { readonly kind: 'local'; readonly nproc: number }
  /** Join a cluster as `rank` (one worker on this machine). */
  | { readonly kind: 'cluster'; readonly spec: ClusterSpec };

/** Collective timing and checking, from options or the environment. */
export interface CollectiveSettings {
  /** Seconds a collective may wait for the other workers once the run has started (default 30). */
  readonly timeoutSeconds: number;
  /** Seconds the workers have to find each other at the start (default 120). */
  readonly joinTimeoutSeconds: number;
  /** Steps between two checks that the replicas are identical (default 100; 0: start and end only). */
  readonly checkEvery: number;
}

/** The settings when neither options nor environment give them. */
export const DEFAULT_SETTINGS: CollectiveSettings = { timeoutSeconds: 30, joinTimeoutSeconds: 120, checkEvery: 100 };

/** A bad distributed option; the message names it. */
export class ClusterError extends Error {
  override name = 'ClusterError';
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/;

/** Splits `host:port` (IPv6 hosts in brackets); throws naming `what` when it is not one. */
export function parseAddress(address: string, what: string): { host: string; port: number } {
  const m = HOST_PORT.exec(address.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new ClusterError(`${what}: expected host:port (port 1-65535), got "${address}"`);
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port };
}

/** Parses `host:port,host:port,…`; every address must be valid and distinct. */
export function parseCluster(list: string, what = '--cluster'): string[] {
  const addresses = list
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (addresses.length === 0) throw new ClusterError(`${what}: expected a comma-separated list of host:port, got "${list}"`);
  addresses.forEach((a, i) => parseAddress(a, `${what}, address ${i}`));
  const dup = addresses.find((a, i) => addresses.indexOf(a) !== i);
  if (dup !== undefined) throw new ClusterError(`${what}: ${dup} appears twice; every worker needs its own address`);
  return addresses;
}

function integer(raw: string, what: string, min: number): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min) throw new ClusterError(`${what}: expected an integer >= ${min}, got "${raw}"`);
  return n;
}

function positive(raw: string, what: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) throw new ClusterError(`${what}: expected a positive number of seconds, got "${raw}"`);
  return n;
}

/** The distributed options of the command line (undefined: not given). */
export interface DistributedFlags {
  readonly nproc?: string;
  readonly cluster?: string;
  readonly rank?: string;
  readonly collectiveTimeout?: string;
  readonly joinTimeout?: string;
  readonly checkEvery?: string;
}

/**
 * How to run, from the command line's flags and the environment (flags win). `--nproc 1` and
 * a one-address cluster are single-process runs.
 */
export function distribution(flags: DistributedFlags, env: Readonly<Record<string, string | undefined>>): Distribution {
  const cluster = flags.cluster ?? env[ENV.cluster];
  const rank = flags.rank ?? env[ENV.rank];
  const clusterWhat = flags.cluster !== undefined ? '--cluster' : ENV.cluster;
  const rankWhat = flags.rank !== undefined ? '--rank' : ENV.rank;
  if (flags.nproc !== undefined) {
    if (flags.cluster !== undefined || flags.rank !== undefined) throw new ClusterError('--nproc starts workers on this machine; it cannot be combined with --cluster/--rank (run one command per machine with --cluster and --rank)');
    const nproc = integer(flags.nproc, '--nproc', 1);
    return nproc === 1 ? { kind: 'single' } : { kind: 'local', nproc };
  }
  if (cluster === undefined && rank === undefined) return { kind: 'single' };
  if (cluster === undefined) throw new ClusterError(`${rankWhat} needs the cluster's addresses (--cluster host:port,… or ${ENV.cluster})`);
  if (rank === undefined) throw new ClusterError(`${clusterWhat} needs this worker's rank (--rank R or ${ENV.rank})`);
  const addresses = parseCluster(cluster, clusterWhat);
  const r = integer(rank, rankWhat, 0);
  if (r >= addresses.length) throw new ClusterError(`${rankWhat} ${r}: the cluster has ${addresses.length} workers (ranks 0-${addresses.length - 1})`);
  return addresses.length === 1 ? { kind: 'single' } : { kind: 'cluster', spec: { addresses, rank: r } };
}

/** Timeouts and the check period, from flags or the environment, else the defaults. */
export function collectiveSettings(flags: DistributedFlags, env: Readonly<Record<string, string | undefined>>): CollectiveSettings {
  const timeout = flags.collectiveTimeout ?? env[ENV.timeout];
  const join = flags.joinTimeout ?? env[ENV.joinTimeout];
  const every = flags.checkEvery ?? env[ENV.checkEvery];
  return {
    timeoutSeconds: timeout === undefined ? DEFAULT_SETTINGS.timeoutSeconds : positive(timeout, flags.collectiveTimeout !== undefined ? '--collective-timeout' : ENV.timeout),
    joinTimeoutSeconds: join === undefined ? DEFAULT_SETTINGS.joinTimeoutSeconds : positive(join, flags.joinTimeout !== undefined ? '--join-timeout' : ENV.joinTimeout),
    checkEvery: every === undefined ? DEFAULT_SETTINGS.checkEvery : integer(every, flags.checkEvery !== undefined ? '--check-every' : ENV.checkEvery, 0),
  };
}

/** The number of workers of a distribution. */
export function worldSize(d: Distribution): number {
  return d.kind === 'single' ? 1 : d.kind === 'local' ? d.nproc : d.spec.addresses.length;
}
