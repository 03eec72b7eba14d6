// Per-parameter state buffers ("slots", e.g. exp_avg) held as non-trainable variables so that
// updates assign in place and the tensor count stays constant from the second step on. With
// the flat layout, buffers are 1-D (so an optimiser can concatenate many of them without a
// reshape each) and take their parameter's shape only in saved state.
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import type { OptimizerState } from './types.ts';

const fmt = (shape: readonly number[]): string => `[${shape.join(',')}]`;
const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

export class Slots {
  /** slot name → parameter name → buffer */
  private readonly store = new Map<string, Map<string, Variable>>();
  /** Flat layout: each parameter's shape, as saved and checked. */
  private readonly shapes = new Map<string, readonly number[]>();

  constructor(
    readonly owner: string,
    readonly slotNames: readonly string[],
    readonly layout: 'param' | 'flat' = 'param',
  ) {
    for (const s of slotNames) this.store.set(s, new Map());
  }

  /** Flat layout: the 1-D buffer for (slot, param) of a parameter of `shape`, zeros if absent. */
  flat(slot: string, param: string, shape: readonly number[]): Variable {
    if (this.layout !== 'flat') throw new Error(`${this.owner}: flat() needs the flat slot layout`);
    const v = this.ensure(slot, param, () => tf.zeros([shape.reduce((a, b) => a * b, 1)]));
    if (!this.shapes.has(param)) this.shapes.set(param, [...shape]);
    return v;
  }

  /** The shape a buffer has in saved state (its parameter's). */
  private shapeOf(param: string, v: Variable): readonly number[] {
    return this.layout === 'flat' ? this.shapes.get(param)! : v.shape;
  }

  get(slot: string, param: string): Variable | undefined {
    return this.store.get(slot)?.get(param);
  }

  /** The buffer for (slot, param), created from `init()` (which it takes ownership of) if absent. */
  ensure(slot: string, param: string, init: () => Tensor): Variable {
    const bySlot = this.store.get(slot);
    if (bySlot === undefined) throw new Error(`${this.owner}: unknown state slot '${slot}'`);
    let v = bySlot.get(param);
    if (v === undefined) {
      const t = init();
      v = tf.variable(t, false);
      t.dispose();
      bySlot.set(param, v);
    }
    return v;
  }

  /** Parameter names that have any buffer. */
  params(): Set<string> {
    const out = new Set<string>();
    for (const bySlot of this.store.values()) for (const p of bySlot.keys()) out.add(p);
    return out;
  }

  /** Throws if a buffer's shape differs from its parameter's, or a buffer names an unknown parameter. */
  checkAgainst(params: Readonly<Record<string, Variable>>): void {
    for (const [slot, bySlot] of this.store) {
      for (const [name, v] of bySlot) {
        const p = params[name];
        if (p === undefined) throw new Error(`${this.owner}: state '${slot}.${name}' has no matching parameter`);
        const shape = this.shapeOf(name, v);
        if (!sameShape(p.shape, shape)) {
          throw new Error(`${this.owner}: state '${slot}.${name}' has shape ${fmt(shape)} but the parameter has shape ${fmt(p.shape)}`);
        }
      }
    }
  }

  tensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [slot, bySlot] of this.store) {
      for (const [name, v] of bySlot) out[`${slot}.${name}`] = this.layout === 'flat' ? tf.reshape(v, [...this.shapeOf(name, v)]) : tf.clone(v);
    }
    return out;
  }

  /**
   * Replace all buffers with copies of `s.tensors`. Every parameter present must have all of
   * `required` slots, with equal shapes; unknown slot prefixes are errors.
   */
  load(s: OptimizerState, required: readonly string[]): void {
    const parsed = new Map<string, Map<string, Tensor>>();
    for (const slot of this.slotNames) parsed.set(slot, new Map());
    for (const [key, t] of Object.entries(s.tensors)) {
      const slot = this.slotNames.find((n) => key.startsWith(`${n}.`) && key.length > n.length + 1);
      if (slot === undefined) {
        const expected = this.slotNames.length > 0 ? this.slotNames.map((n) => `${n}.<param>`).join(', ') : 'none';
        throw new Error(`${this.owner}: unexpected state tensor '${key}' (expected keys: ${expected})`);
      }
      if (t.dtype !== 'float32') throw new Error(`${this.owner}: state tensor '${key}' has dtype ${t.dtype}, expected float32`);
      parsed.get(slot)!.set(key.slice(slot.length + 1), t);
    }
    const names = new Set<string>();
    for (const bySlot of parsed.values()) for (const p of bySlot.keys()) names.add(p);
    for (const name of names) {
      let shape: readonly number[] | undefined;
      for (const slot of required) {
        const t = parsed.get(slot)!.get(name);
        if (t === undefined) throw new Error(`${this.owner}: state tensor '${slot}.${name}' is missing`);
        if (shape !== undefined && !sameShape(shape, t.shape)) {
          throw new Error(`${this.owner}: state tensor '${slot}.${name}' has shape ${fmt(t.shape)}, other slots of '${name}' have ${fmt(shape)}`);
        }
        shape = t.shape;
      }
    }
    this.clear();
    for (const [slot, bySlot] of parsed) {
      const target = this.store.get(slot)!;
      for (const [name, t] of bySlot) {
        if (this.layout === 'param') {
          target.set(name, tf.variable(t, false));
          continue;
        }
        const flat = tf.reshape(t, [-1]);
        target.set(name, tf.variable(flat, false));
        flat.dispose();
        this.shapes.set(name, t.shape);
      }
    }
  }

  clear(): void {
    for (const bySlot of this.store.values()) {
      for (const v of bySlot.values()) v.dispose();
      bySlot.clear();
    }
    this.shapes.clear();
  }
}

/** Validated step inputs: every gradient has a parameter of the same shape. */
export function checkStepInputs(
  owner: string,
  params: Readonly<Record<string, Variable>>,
  grads: Readonly<Record<string, Tensor>>,
  lr: number,
): void {
  if (!Number.isFinite(lr) || lr < 0) throw new Error(`${owner}: learning rate must be a finite number >= 0, got ${lr}`);
  for (const [name, g] of Object.entries(grads)) {
    const p = params[name];
    if (p === undefined) throw new Error(`${owner}: gradient '${name}' has no matching parameter`);
    if (!sameShape(p.shape, g.shape)) {
      throw new Error(`${owner}: gradient '${name}' has shape ${fmt(g.shape)} but the parameter has shape ${fmt(p.shape)}`);
    }
  }
}

/** Reads a required non-negative integer from state metadata. */
export function metaCount(owner: string, meta: Readonly<Record<string, number>>, key: string): number {
  const v = meta[key];
  if (v === undefined) throw new Error(`${owner}: state metadata '${key}' is missing`);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${owner}: state metadata '${key}' must be a non-negative integer, got ${v}`);
  return v;
}
