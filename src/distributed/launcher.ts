// Starts the workers of a distributed run on this machine, as torchrun does: one process per
// local rank, each the same command with the cluster in its environment (ENV in cluster.ts),
// with the bind helper preloaded so that its TensorFlow server listens on its own address only.
// The launcher prefixes each worker's output with its rank, forwards Ctrl-C and termination
// signals, and when one worker fails it stops the others and exits with that worker's status.
// It never loads TensorFlow.
import { spawn, type ChildProcess } from 'node:child_process';
import dns from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import { ensureBindShim } from '../setup/bind-shim.ts';
import { ENV, parseAddress } from './cluster.ts';

// As src/cli/exit.ts: a run stopped by Ctrl-C.
const EXIT_INTERRUPTED = 130;

/** What {@link launch} starts. */
export interface LaunchPlan {
  /** Every worker's `host:port`, by rank. */
  readonly addresses: readonly string[];
  /** The ranks to start on this machine. */
  readonly ranks: readonly number[];
  /** The worker command: executable and arguments (without the distributed options). */
  readonly command: readonly [string, ...string[]];
  /** Extra environment for the workers. */
  readonly env?: Readonly<Record<string, string>>;
  /** Where the launcher's and the workers' output goes (default: this process's). */
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
  /** Seconds between asking failed runs' other workers to stop (SIGTERM) and killing them (default 10). */
  readonly killAfterSeconds?: number;
}

/** `n` distinct free TCP ports on 127.0.0.1 (held open together while they are chosen). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Loopback addresses for `n` local workers. */
export async function loopbackCluster(n: number): Promise<string[]> {
  return (await freePorts(n)).map((p) => `127.0.0.1:${p}`);
}

/** Writes `chunk`'s complete lines with `prefix`, keeping a trailing partial line for the next chunk. */
function linePrefixer(out: NodeJS.WritableStream, prefix: string): { write(chunk: Buffer): void; flush(): void } {
  let rest = '';
  return {
    write(chunk) {
      const text = rest + chunk.toString('utf8');
      const lines = text.split('\n');
      rest = lines.pop()!;
      if (lines.length > 0) out.write(lines.map((l) => `${prefix}${l}\n`).join(''));
    },
    flush() {
      if (rest !== '') out.write(`${prefix}${rest}\n`);
      rest = '';
    },
  };
}

/** The numeric address the bind helper narrows a worker's server to. */
async function bindHost(address: string): Promise<string> {
  const { host } = parseAddress(address, 'worker address');
  if (net.isIP(host)) return host;
  try {
    return (await dns.lookup(host)).address;
  } catch (err) {
    throw new Error(`cannot resolve ${host} (worker address ${address}): ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** How a worker ended. */
interface Exit {
  readonly rank: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const describeExit = (e: Exit) => (e.signal ? `was killed by ${e.signal}` : `exited with status ${e.code}`);

/**
 * Starts the plan's workers and resolves to the run's exit status once all have ended: 0 when
 * all succeeded, else the status of the first that failed (1 for one killed by a signal).
 */
export async function launch(plan: LaunchPlan): Promise<number> {
  const stdout = plan.stdout ?? process.stdout;
  const stderr = plan.stderr ?? process.stderr;
  const say = (m: string) => stderr.write(`[launch] ${m}\n`);
  const shim = ensureBindShim();
  if (!shim.ok) say(`warning: TensorFlow's servers will listen on all interfaces of their ports (the bind helper is unavailable: ${shim.why})`);
  const hosts = await Promise.all(plan.ranks.map((r) => bindHost(plan.addresses[r]!)));
  // Workers on one machine share its cores: each gets its share of TensorFlow's threads unless
  // the user chose (every worker would otherwise start one thread per core).
  const env = { ...plan.env };
  if (plan.ranks.length > 1 && process.env.TF_NUM_INTRAOP_THREADS === undefined && env.TF_NUM_INTRAOP_THREADS === undefined) {
    const cpus = os.availableParallelism();
    env.TF_NUM_INTRAOP_THREADS = String(Math.max(1, Math.floor(cpus / plan.ranks.length)));
    say(`TF_NUM_INTRAOP_THREADS=${env.TF_NUM_INTRAOP_THREADS} for each of the ${plan.ranks.length} workers (${cpus} CPUs; set it to choose)`);
  }
  const children = new Map<number, ChildProcess>();
  const exits: Exit[] = [];
  let failure: Exit | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const signalAll = (sig: NodeJS.Signals) => {
    for (const c of children.values()) if (c.exitCode === null && c.signalCode === null) c.kill(sig);
  };
  const forward = (sig: NodeJS.Signals) => () => signalAll(sig);
  const handlers: Array<[NodeJS.Signals, () => void]> = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)]);
  for (const [s, h] of handlers) process.on(s, h);

  const done = new Promise<void>((resolve) => {
    plan.ranks.forEach((rank, i) => {
      const { port } = parseAddress(plan.addresses[rank]!, `worker address of rank ${rank}`);
      const childEnv: NodeJS.ProcessEnv = {
        ...process.env,
        ...env,
        [ENV.cluster]: plan.addresses.join(','),
        [ENV.rank]: String(rank),
        [ENV.worker]: '1',
        [ENV.launcher]: String(process.pid),
        ...(shim.ok ? { LD_PRELOAD: [shim.file, process.env.LD_PRELOAD].filter(Boolean).join(':'), SIMDEBLUR_BIND_HOST: hosts[i]!, SIMDEBLUR_BIND_PORT: String(port) } : {}),
      };
      // Its own process group: Ctrl-C reaches a worker once, through the launcher.
      const child = spawn(plan.command[0], plan.command.slice(1), { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      children.set(rank, child);
      say(`rank ${rank}: pid ${child.pid}, listening on ${plan.addresses[rank]}`);
      const out = rank === 0 ? { write: (c: Buffer) => stdout.write(c), flush: () => undefined } : linePrefixer(stdout, `[rank ${rank}] `);
      const err = linePrefixer(stderr, `[rank ${rank}] `);
      child.stdout!.on('data', (c: Buffer) => out.write(c));
      child.stderr!.on('data', (c: Buffer) => err.write(c));
      child.on('error', (e) => say(`rank ${rank}: could not start ${plan.command[0]}: ${e.message}`));
      child.on('close', (code, signal) => {
        out.flush();
        err.flush();
        const e: Exit = { rank, code, signal };
        exits.push(e);
        // A worker interrupted by Ctrl-C (130) is stopping with the others, not failing.
        const failed = signal !== null || (code !== 0 && code !== EXIT_INTERRUPTED);
        if (failed && failure === undefined) {
          failure = e;
          const running = [...children.entries()].filter(([, c]) => c.exitCode === null && c.signalCode === null).map(([r]) => r);
          say(`rank ${rank} (${plan.addresses[rank]}) ${describeExit(e)}${running.length > 0 ? `; stopping rank${running.length > 1 ? 's' : ''} ${running.join(', ')}` : ''}`);
          signalAll('SIGTERM');
          killTimer = setTimeout(() => signalAll('SIGKILL'), (plan.killAfterSeconds ?? 10) * 1000);
          killTimer.unref();
        }
        if (exits.length === plan.ranks.length) resolve();
      });
    });
  });
  try {
    await done;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    if (killTimer) clearTimeout(killTimer);
  }
  if (failure === undefined) return exits.some((e) => e.code === EXIT_INTERRUPTED) ? EXIT_INTERRUPTED : 0;
  return failure.signal !== null ? 1 : (failure.code ?? 1);
}

/**
 * In a worker: stops the process when its launcher is gone (its parent changed), checking every
 * `everyMs`. The check is an unref'd timer: it never keeps the process alive.
 */
export function exitWithLauncher(launcherPid: number, everyMs = 2000): void {
  const timer = setInterval(() => {
    if (process.ppid !== launcherPid) {
      process.stderr.write(`the launcher (pid ${launcherPid}) is gone; stopping this worker\n`);
      process.exit(1);
    }
  }, everyMs);
  timer.unref();
}
