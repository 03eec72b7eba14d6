// Reference fixtures: a directory with weights.safetensors (a PyTorch state_dict) and
// io.safetensors (`input`/`output`, or `input.0`, `input.1`, ... and `output.0`, ...), with the
// model class and constructor arguments in the header metadata. Users porting weights from
// PyTorch produce the same format to check their conversion (`simdeblur parity DIR`).
import path from 'node:path';
import { permute, readSafetensors } from '../io/safetensors.ts';
import type { RawTensor } from '../io/safetensors.ts';

export interface FixtureMeta {
  readonly model: string;
  /** Constructor arguments, with the original's argument names. */
  readonly kwargs: Record<string, unknown>;
  readonly inputShape: unknown;
  readonly seed: number;
  readonly trainableParams: number;
  readonly mode: string;
  /** Everything in `__metadata__`, unparsed. */
  readonly raw: Record<string, string>;
}

export interface Fixture {
  /** PyTorch-layout state_dict. */
  readonly weights: Record<string, RawTensor>;
  /** `input`/`output` (or `input.0`, ...) in PyTorch layout ([B,C,H,W] / [B,N,C,H,W]). */
  readonly io: Record<string, RawTensor>;
  readonly meta: FixtureMeta;
}

function parseJson(raw: Record<string, string>, key: string, where: string): unknown {
  const v = raw[key];
  if (v === undefined) throw new Error(`${where}: metadata has no '${key}'`);
  try {
    return JSON.parse(v);
  } catch {
    throw new Error(`${where}: metadata '${key}' is not JSON: ${v}`);
  }
}

export function loadFixture(root: string): Fixture {
  const where = path.join(root, 'weights.safetensors');
  const w = readSafetensors(where);
  const io = readSafetensors(path.join(root, 'io.safetensors'));
  const raw = w.metadata;
  const meta: FixtureMeta = {
    model: raw.model ?? '',
    kwargs: parseJson(raw, 'kwargs', where) as Record<string, unknown>,
    inputShape: parseJson(raw, 'input_shape', where),
    seed: Number(raw.seed),
    trainableParams: Number(parseJson(raw, 'trainable_params', where)),
    mode: raw.mode ?? '',
    raw,
  };
  return { weights: w.tensors, io: io.tensors, meta };
}

/** PyTorch image/clip layout to ours: [B,C,H,W] -> [B,H,W,C], [B,N,C,H,W] -> [B,N,H,W,C]. */
export function toChannelsLast(t: RawTensor): RawTensor {
  if (t.shape.length === 4) return permute(t, [0, 2, 3, 1]);
  if (t.shape.length === 5) return permute(t, [0, 1, 3, 4, 2]);
  throw new Error(`toChannelsLast: expected rank 4 or 5, got ${JSON.stringify(t.shape)}`);
}

/** The tensors named `base` or `base.0`, `base.1`, ... in order, in our layout. */
export function ioList(f: Fixture, base: 'input' | 'output'): RawTensor[] {
  const single = f.io[base];
  if (single) return [toChannelsLast(single)];
  const list: RawTensor[] = [];
  for (let i = 0; f.io[`${base}.${i}`] !== undefined; i++) list.push(toChannelsLast(f.io[`${base}.${i}`]!));
  if (list.length === 0) throw new Error(`fixture has no '${base}' or '${base}.0' tensor (has ${Object.keys(f.io).join(', ')})`);
  return list;
}

/** Largest absolute elementwise difference. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths differ (${a.length} vs ${b.length})`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
