// One worker of a distributed run: joins the cluster, checks that every worker runs the same
// experiment on the same number of workers, and gives the engine its Replicas.
import crypto from 'node:crypto';
import type { Replicas } from '../engine/replicas.ts';
import type { ClusterSpec, CollectiveSettings } from './cluster.ts';
import { Collective, CollectiveError } from './collective.ts';
import { collectiveReplicas, gatherJson } from './replicas.ts';

/** What every worker must agree on before training. */
interface Handshake {
  readonly rank: number;
  readonly size: number;
  /** sha256 of the experiment value's JSON. */
  readonly experiment: string;
}

/** The sha256 of a value's JSON: workers compare it to know they run the same experiment. */
export function fingerprint(value: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/** The handshakes that disagree with rank 0's, as sentences; empty when all agree. */
export function handshakeProblems(all: readonly Handshake[], addresses: readonly string[]): string[] {
  const ref = all[0]!;
  const out: string[] = [];
  all.forEach((h, r) => {
    const who = `rank ${r} (${addresses[r]})`;
    if (h.rank !== r) out.push(`${who} reports rank ${h.rank}`);
    if (h.size !== ref.size) out.push(`${who} expects ${h.size} workers, rank 0 expects ${ref.size}`);
    if (h.experiment !== ref.experiment) out.push(`${who} runs a different experiment than rank 0 (recipe, --set overrides or seed differ)`);
  });
  return out;
}

/** A joined worker: the engine's Replicas and the collective runtime behind them. */
export interface Worker {
  readonly replicas: Replicas;
  readonly collective: Collective;
}

/**
 * Joins the cluster as `spec.rank`, waits for every worker (up to the join timeout) and checks
 * that all run `experiment` with the same cluster. Throws CollectiveError naming the worker at
 * fault.
 */
export function joinCluster(spec: ClusterSpec, settings: CollectiveSettings, experiment: unknown): Worker {
  const collective = Collective.join(spec, { timeoutSeconds: settings.timeoutSeconds, joinTimeoutSeconds: settings.joinTimeoutSeconds });
  const all = gatherJson<Handshake>(collective, { rank: spec.rank, size: spec.addresses.length, experiment: fingerprint(experiment) });
  const problems = handshakeProblems(all, spec.addresses);
  if (problems.length > 0) throw new CollectiveError(`the workers disagree: ${problems.join('; ')}`);
  return { collective, replicas: collectiveReplicas(collective, { checkEvery: settings.checkEvery }) };
}
