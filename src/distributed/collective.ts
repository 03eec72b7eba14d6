// TensorFlow's collective runtime on tfjs's own eager context: `enableCollectiveOps` of the
// binding that `simdeblur setup` builds (src/setup/collective.ts) starts this process's gRPC
// server and joins the cluster; all-reduce and all-gather are then ordinary ops on tfjs tensors
// (`CollectiveReduceV2`, `CollectiveGatherV2`), run in the same order by every worker. A failed
// collective is diagnosed (which peer does not answer) before it is reported.
import { nativeBackend, runtimeInfo, tf, isNative } from '../runtime/index.ts';
import type { NativeAttr, Tensor } from '../runtime/index.ts';
import { cacheRoot, packageDir } from '../setup/native.ts';
import { collectiveFailure } from '../setup/collective.ts';
import { serverDef, taskName } from './server-def.ts';
import type { ClusterSpec } from './cluster.ts';
import fs from 'node:fs';
import path from 'node:path';

interface CollectiveBinding {
  enableCollectiveOps(serverDef: Uint8Array): string[];
  abortCollectiveOps(message: string): void;
  checkCollectivePeerHealth(task: string, timeoutMs: number): void;
  collectiveDevice(): string;
}

/** Distributed training cannot run in this process; the message says why and what to do. */
export class CollectiveUnavailable extends Error {
  override name = 'CollectiveUnavailable';
}

/** A collective failed: a peer died, hung, could not be reached, or the workers disagree. */
export class CollectiveError extends Error {
  override name = 'CollectiveError';
}

/** The reductions of {@link Collective.allReduce}. */
export type Reduction = 'sum' | 'mean' | 'max' | 'min';

const MERGE: Record<Reduction, [merge: string, final: string]> = { sum: ['Add', 'Id'], mean: ['Add', 'Div'], max: ['Max', 'Id'], min: ['Min', 'Id'] };

// Health checks after a failure: short, every peer.
const HEALTH_TIMEOUT_MS = 3000;

function unavailableReason(): string {
  const info = runtimeInfo();
  const pkg = info.package;
  const dir = packageDir(pkg);
  const version = dir ? String((JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version) : '?';
  const why = collectiveFailure(cacheRoot(), pkg.endsWith('-gpu') ? 'gpu' : 'cpu', version);
  return `the native TensorFlow binding of ${pkg} was built without collective ops${why ? ` (the last build of them failed: ${why.split('\n').slice(0, 3).join(' | ')})` : ''}; run \`npx simdeblur setup${pkg.endsWith('-gpu') ? ' --gpu' : ''}\` to build them (docs/distributed.md)`;
}

/** The binding, checked for the collective functions. */
function collectiveBinding(): CollectiveBinding {
  if (!isNative()) throw new CollectiveUnavailable(`distributed training needs the native TensorFlow backend; this process runs on '${tf.getBackend()}' (run \`npx simdeblur setup\`)`);
  const b = nativeBackend().binding as unknown as Partial<CollectiveBinding>;
  if (typeof b.enableCollectiveOps !== 'function' || typeof b.checkCollectivePeerHealth !== 'function') throw new CollectiveUnavailable(`distributed training is unavailable: ${unavailableReason()}`);
  return b as CollectiveBinding;
}

/** Options of {@link Collective.join}. */
export interface JoinOptions {
  /** Seconds a collective may wait for the other workers once the run has started. */
  readonly timeoutSeconds: number;
  /** Seconds the first collective waits for every worker to join. */
  readonly joinTimeoutSeconds: number;
}

/**
 * This process's membership of a cluster: collectives over all its workers, in one group. Every
 * worker must issue the same collectives in the same order (instance keys are counted).
 */
export class Collective {
  private instance = 0;
  private failed: CollectiveError | undefined;

  private constructor(
    private readonly binding: CollectiveBinding,
    readonly spec: ClusterSpec,
    private readonly opts: JoinOptions,
    /** The devices of the context once joined (the local device renamed after the job and task). */
    readonly devices: readonly string[],
  ) {}

  /** Starts this worker's server and enables collectives on tfjs's eager context (once per process). */
  static join(spec: ClusterSpec, opts: JoinOptions): Collective {
    const binding = collectiveBinding();
    let devices: string[];
    try {
      devices = binding.enableCollectiveOps(serverDef(spec));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new CollectiveError(`rank ${spec.rank} could not start its TensorFlow server at ${spec.addresses[spec.rank]}: ${msg}${/could not start grpc server|already|in use|bind/i.test(msg) ? ' (is the port in use, or the address not one of this machine?)' : ''}`);
    }
    return new Collective(binding, spec, opts, devices);
  }

  get rank(): number {
    return this.spec.rank;
  }

  get size(): number {
    return this.spec.addresses.length;
  }

  /** Collectives issued so far. */
  get issued(): number {
    return this.instance;
  }

  /** `op` over all workers of `x` (same shape everywhere). A new tensor. */
  allReduce(x: Tensor, op: Reduction): Tensor {
    const [merge, final] = MERGE[op];
    const extra = [this.str('merge_op', merge), this.str('final_op', final)];
    return this.run('all-reduce', 'CollectiveReduceV2', extra, x);
  }

  /** Every worker's `x` (same shape everywhere) concatenated along axis 0, in rank order. A new tensor. */
  allGather(x: Tensor): Tensor {
    return this.run('all-gather', 'CollectiveGatherV2', [], x);
  }

  /** Fails collectives in progress and later ones at once (before exiting on an error). */
  abort(message: string): void {
    this.binding.abortCollectiveOps(message);
  }

  /** The peers (rank and address) that do not answer a health check within `timeoutMs`, with TensorFlow's reason. */
  unhealthyPeers(timeoutMs = HEALTH_TIMEOUT_MS): Array<{ rank: number; address: string; why: string }> {
    const out: Array<{ rank: number; address: string; why: string }> = [];
    this.spec.addresses.forEach((address, rank) => {
      if (rank === this.rank) return;
      try {
        this.binding.checkCollectivePeerHealth(taskName(rank), timeoutMs);
      } catch (err) {
        const msg = (err instanceof Error ? err.message : String(err)).replace(/^health check of \S+ failed \(TF code \d+\): /, '');
        out.push({ rank, address, why: msg.split('\n')[0]! });
      }
    });
    return out;
  }

  private str(name: string, value: string): NativeAttr {
    return { name, type: nativeBackend().binding.TF_ATTR_STRING, value };
  }

  private run(what: string, opName: string, extra: NativeAttr[], x: Tensor): Tensor {
    if (this.failed) throw this.failed;
    if (x.dtype !== 'float32') throw new Error(`${what}: expected a float32 tensor, got ${x.dtype}`);
    const b = nativeBackend().binding;
    const first = this.instance === 0;
    const timeout = first ? this.opts.joinTimeoutSeconds : this.opts.timeoutSeconds;
    const instance = ++this.instance;
    const attrs: NativeAttr[] = [
      { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
      ...extra,
      this.str('communication_hint', 'auto'),
      { name: 'timeout_seconds', type: b.TF_ATTR_FLOAT, value: timeout },
      { name: 'Nordering_token', type: b.TF_ATTR_INT, value: 0 },
    ];
    const keys = [tf.scalar(this.size, 'int32'), tf.scalar(1, 'int32'), tf.scalar(instance, 'int32')];
    try {
      return nativeBackend().executeSingleOutput(opName, attrs, [x, ...keys] as never) as unknown as Tensor;
    } catch (err) {
      this.failed = this.diagnose(what, instance, timeout, first, err);
      throw this.failed;
    } finally {
      tf.dispose(keys);
    }
  }

  /** The error to report for a failed collective: which peers are unreachable, else what it waited for. */
  private diagnose(what: string, instance: number, timeout: number, first: boolean, err: unknown): CollectiveError {
    const tfMessage = (err instanceof Error ? err.message : String(err)).replace(/^Invalid TF_Status: \d+\nMessage: /, '').split('\n')[0];
    const me = `rank ${this.rank} of ${this.size} (${this.spec.addresses[this.rank]})`;
    const bad = this.unhealthyPeers();
    const cause =
      bad.length > 0
        ? bad.map((p) => `rank ${p.rank} at ${p.address} ${first ? 'cannot be reached' : 'is not answering (it died, hung or lost the network)'}: ${p.why}`).join('; ')
        : first
          ? `not every worker joined within ${timeout} s (--join-timeout); every peer answers a health check, so one is still starting or runs another experiment`
          : `a peer did not take part within ${timeout} s (--collective-timeout); every peer answers a health check, so one is stuck or much slower than this one`;
    return new CollectiveError(`distributed training failed in ${what} #${instance} on ${me}: ${cause}. TensorFlow: ${tfMessage}`);
  }
}
