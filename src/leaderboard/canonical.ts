// Canonical JSON (object keys sorted at every level, no spaces) and its SHA-256: the identity of
// an experiment, the same for the same value whatever order its keys were written in.
import { createHash } from 'node:crypto';

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort()
        .map((k) => [k, sorted(o[k])]),
    );
  }
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`canonical JSON: ${v} has no JSON form`);
  return v;
}

/** `value` as JSON with the keys of every object sorted and no whitespace. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sorted(value));
}

/** Hex SHA-256 of the canonical JSON of `value`. */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
