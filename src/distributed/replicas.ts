// The engine's Replicas (src/engine/replicas.ts) over TensorFlow's collectives: a step's
// tensors travel as one flat buffer in one all-reduce; JSON values travel as bytes packed into
// float32 (three per element, exact) in an all-gather; the replica check gathers one sum per
// tensor and names the tensors that differ.
import { tf } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';
import type { Replicas } from '../engine/replicas.ts';
import { Collective, CollectiveError, type Reduction } from './collective.ts';

/** Options of {@link collectiveReplicas}. */
export interface ReplicaOptions {
  /** Steps between two checks that the replicas are identical (0: start and end only). */
  readonly checkEvery: number;
}

/**
 * Values per all-reduce when a long vector is reduced in pieces. TensorFlow's ring all-reduce
 * over gRPC slows down sharply with the size of one collective (measured on loopback, 64 MB: as
 * one collective 7 MB/s, in 16 MB pieces 15 MB/s, in 4 MB pieces 56 MB/s, in 1 MB pieces
 * 41 MB/s; docs/distributed.md).
 */
export const BUCKET_VALUES = 1 << 20;

/** `op` over workers of a 1-D float32 tensor, in pieces of at most `bucket` values, one after the other. */
export function allReduceFlat(c: Collective, flat: Tensor, op: Reduction, bucket = BUCKET_VALUES): Tensor {
  if (flat.size <= bucket) return c.allReduce(flat, op);
  return tf.tidy(() => {
    const sizes = Array.from({ length: Math.ceil(flat.size / bucket) }, (_, i) => Math.min(bucket, flat.size - i * bucket));
    return tf.concat(tf.split(flat, sizes).map((piece) => c.allReduce(piece, op)));
  });
}

/** The mean over workers of each tensor: their concatenation, all-reduced in pieces. */
export function meanOf(c: Collective, tensors: readonly Tensor[]): Tensor[] {
  if (tensors.length === 0) return [];
  return tf.tidy(() => {
    const flat = tf.concat(tensors.map((t) => tf.reshape(t.dtype === 'float32' ? t : tf.cast(t, 'float32'), [-1])));
    const reduced = allReduceFlat(c, flat, 'mean');
    const parts = tf.split(reduced, tensors.map((t) => t.size));
    return parts.map((p, i) => {
      const t = tensors[i]!;
      const shaped = tf.reshape(p, t.shape);
      return t.dtype === 'float32' ? shaped : tf.cast(shaped, t.dtype);
    });
  });
}

// JSON with NaN and ±Infinity kept (JSON.stringify would write null).
const NON_FINITE = '\u0000num:';
const replacer = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `${NON_FINITE}${v}` : v);
const reviver = (_k: string, v: unknown) => (typeof v === 'string' && v.startsWith(NON_FINITE) ? Number(v.slice(NON_FINITE.length)) : v);

/** Bytes as float32 values holding three bytes each (below 2^24, so exact). */
export function packBytes(bytes: Uint8Array, elements: number): Float32Array {
  const out = new Float32Array(elements);
  for (let i = 0, j = 0; i < bytes.length; i += 3, j++) out[j] = bytes[i]! + (bytes[i + 1] ?? 0) * 256 + (bytes[i + 2] ?? 0) * 65536;
  return out;
}

/** The inverse of {@link packBytes}: the first `length` bytes. */
export function unpackBytes(values: Float32Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (values[Math.floor(i / 3)]! / 256 ** (i % 3)) & 0xff;
  return out;
}

/** Every worker's JSON-serialisable value, by rank (two all-gathers: lengths, then the bytes). */
export function gatherJson<T>(c: Collective, value: T): T[] {
  const bytes = new TextEncoder().encode(JSON.stringify(value, replacer) ?? 'null');
  // Lengths as two 12-bit halves: exact in float32 for any length below 2^24 × 4096.
  const lenT = tf.tensor1d([Math.floor(bytes.length / 4096), bytes.length % 4096]);
  const lensT = c.allGather(lenT);
  const lens = Array.from(lensT.dataSync());
  tf.dispose([lenT, lensT]);
  const lengths = Array.from({ length: c.size }, (_, r) => lens[2 * r]! * 4096 + lens[2 * r + 1]!);
  const elements = Math.max(1, Math.ceil(Math.max(...lengths) / 3));
  const mine = tf.tensor1d(packBytes(bytes, elements));
  const allT = c.allGather(mine);
  const all = allT.dataSync() as Float32Array;
  tf.dispose([mine, allT]);
  const decoder = new TextDecoder();
  return lengths.map((len, r) => JSON.parse(decoder.decode(unpackBytes(all.subarray(r * elements, (r + 1) * elements), len)), reviver) as T);
}

/** Relative difference at which two checksums count as different. */
const CHECK_TOLERANCE = 1e-6;

/**
 * Throws naming the tensors whose checksum (the sum of the values) differs between replicas;
 * one all-gather of one number per tensor.
 */
export function assertSameState(c: Collective, named: Readonly<Record<string, Tensor>>, where: string): void {
  const names = Object.keys(named);
  if (names.length === 0) return;
  const sums = tf.tidy(() => tf.stack(names.map((n) => tf.sum(tf.cast(named[n]!, 'float32')))));
  const allT = c.allGather(sums);
  const all = allT.dataSync();
  tf.dispose([sums, allT]);
  const n = names.length;
  const differ: string[] = [];
  names.forEach((name, i) => {
    const ref = all[i]!;
    for (let r = 1; r < c.size; r++) {
      const v = all[r * n + i]!;
      const same = Object.is(v, ref) || Math.abs(v - ref) <= CHECK_TOLERANCE * Math.max(1, Math.abs(v), Math.abs(ref));
      if (!same) {
        differ.push(`${name} (sum on rank 0: ${ref}, on rank ${r}: ${v})`);
        break;
      }
    }
  });
  if (differ.length > 0) {
    const shown = differ.slice(0, 5).join(', ') + (differ.length > 5 ? ` and ${differ.length - 5} more` : '');
    throw new CollectiveError(`the replicas have drifted apart ${where}: ${differ.length} of ${n} tensors differ: ${shown}. They must stay identical (same data order, same updates); this is a bug or a non-deterministic op`);
  }
}

/** The engine's view of the workers of `c`. */
export function collectiveReplicas(c: Collective, opts: ReplicaOptions): Replicas {
  return {
    rank: c.rank,
    size: c.size,
    checkEvery: opts.checkEvery,
    mean: (tensors) => meanOf(c, tensors),
    sum: (x) => tf.tidy(() => tf.reshape(allReduceFlat(c, tf.reshape(x, [-1]), 'sum'), x.shape)),
    any(flag) {
      const x = tf.tensor1d([flag ? 1 : 0]);
      const y = c.allReduce(x, 'max');
      const v = y.dataSync()[0]!;
      tf.dispose([x, y]);
      return v > 0;
    },
    gather: (value) => gatherJson(c, value),
    assertSame: (named, where) => assertSameState(c, named, where),
  };
}
