// Finiteness checks for the state a checkpoint holds. On the tensor side, tensors are flattened
// and concatenated a bounded group at a time, each group reduced with isFinite/all, and the
// groups' results reduced again: one scalar is read back. Names are worked out only when that
// scalar says something is wrong.
import { tf } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';
import type { RawTensor } from '../io/safetensors.ts';

/** Elements concatenated at once: bounds the temporary copy a check makes. */
const GROUP_ELEMENTS = 1 << 22;

const isFloat = (t: Tensor) => t.dtype === 'float32';

function groups(tensors: readonly Tensor[]): Tensor[][] {
  const out: Tensor[][] = [];
  let cur: Tensor[] = [];
  let size = 0;
  for (const t of tensors) {
    if (cur.length > 0 && size + t.size > GROUP_ELEMENTS) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(t);
    size += t.size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** Whether every value of every (float) tensor is finite, reading one scalar. */
export function allFinite(tensors: readonly Tensor[]): boolean {
  const floats = tensors.filter(isFloat);
  if (floats.length === 0) return true;
  const ok = tf.tidy(() => {
    const perGroup = groups(floats).map((g) => tf.all(tf.isFinite(tf.concat(g.map((t) => tf.reshape(t, [-1]))))));
    return tf.all(tf.stack(perGroup));
  });
  try {
    return ok.dataSync()[0] === 1;
  } finally {
    ok.dispose();
  }
}

/** Names of the tensors holding a non-finite value (none: one scalar read). */
export function nonFiniteTensors(named: Readonly<Record<string, Tensor>>): string[] {
  if (allFinite(Object.values(named))) return [];
  const entries = Object.entries(named).filter(([, t]) => isFloat(t));
  const flags = tf.tidy(() => tf.stack(entries.map(([, t]) => tf.all(tf.isFinite(t)))));
  try {
    const values = flags.dataSync();
    return entries.filter((_, i) => values[i] !== 1).map(([k]) => k);
  } finally {
    flags.dispose();
  }
}

/** `'name' (n of m)` for each tensor of plain data holding a non-finite value. */
export function nonFiniteRaw(named: Readonly<Record<string, RawTensor>>): string[] {
  const out: string[] = [];
  for (const [key, raw] of Object.entries(named)) {
    if (!(raw.data instanceof Float32Array)) continue;
    let bad = 0;
    for (let i = 0; i < raw.data.length; i++) if (!Number.isFinite(raw.data[i]!)) bad++;
    if (bad > 0) out.push(`'${key}' (${bad} of ${raw.data.length})`);
  }
  return out;
}

/** Lists up to `max` names, then how many more. */
export function listNames(names: readonly string[], max = 8): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
