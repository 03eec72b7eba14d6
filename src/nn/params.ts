// The parameter builder. A model is defined once, by calling layer constructors with a Scope;
// each constructor registers its parameters under dotted PyTorch state_dict names
// (`F0.0.weight`) and returns a pure function of a Params record. The store keeps the
// trainable Variables, the non-trainable buffers (BatchNorm running statistics) and each
// parameter's layout kind for PyTorch conversion.
import { tf } from '../runtime/index.ts';
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import type { ParamKind } from '../io/safetensors.ts';
import type { Init } from './init.ts';

export type { ParamKind } from '../io/safetensors.ts';
/** Parameter tensors by full dotted name, as passed to a layer's forward function. */
export type Params = Readonly<Record<string, Tensor>>;

/** Looks a parameter up by full name, with an error that names it. */
export function getParam(p: Params, name: string): Tensor {
  const t = p[name];
  if (t === undefined) throw new Error(`missing parameter '${name}'`);
  return t;
}

/**
 * Holds a model's trainable parameters and non-trainable buffers as tfjs Variables under PyTorch
 * state_dict names, with each parameter's layout kind; initial values are derived from `seed` and the
 * name.
 */
export class ParamStore {
  readonly params: Record<string, Variable> = {};
  readonly buffers: Record<string, Variable> = {};
  readonly kinds: Record<string, ParamKind> = {};
  private disposed = false;

  /** `allocates` false: a shape-only store (see `shapesOnly`). */
  constructor(
    readonly seed: number,
    readonly allocates = true,
  ) {}

  /**
   * A store that records names, shapes and kinds without creating tensors or drawing initial
   * values: for parameter counts and shape listings of full-size models. Its entries have a
   * shape and a size only; a model built into it must not be applied.
   */
  static shapesOnly(): ParamStore {
    return new ParamStore(0, false);
  }

  /** The root scope (empty prefix). */
  root(): Scope {
    return new Scope(this, '');
  }

  private checkNew(name: string): void {
    if (this.disposed) throw new Error(`parameter store is disposed (adding '${name}')`);
    if (name in this.params || name in this.buffers) throw new Error(`duplicate parameter name '${name}'`);
  }

  /**
   * Creates a trainable parameter `name` of `shape` (our layout), initialised by `init`; throws on a
   * duplicate name.
   */
  addParam(name: string, shape: readonly number[], kind: ParamKind, init: Init): Variable {
    this.checkNew(name);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!this.allocates) return this.placeholder(name, shape, size, 'float32', kind);
    const values = init(Rng.derive(this.seed, name), size);
    // No tfjs variable name: names are global in tfjs, and two models may share ours.
    const v = tf.tidy(() => tf.variable(tf.tensor(values, [...shape], 'float32'), true));
    this.params[name] = v;
    this.kinds[name] = kind;
    return v;
  }

  /** Creates a non-trainable buffer `name` of `shape`, initialised by `init`; throws on a duplicate name. */
  addBuffer(name: string, shape: readonly number[], init: Init, dtype: 'float32' | 'int32' = 'float32'): Variable {
    this.checkNew(name);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!this.allocates) return this.placeholder(name, shape, size, dtype);
    const values = init(Rng.derive(this.seed, name), size);
    const data = dtype === 'int32' ? Int32Array.from(values, Math.round) : values;
    const v = tf.tidy(() => tf.variable(tf.tensor(data, [...shape], dtype), false, undefined, dtype));
    this.buffers[name] = v;
    this.kinds[name] = 'plain';
    return v;
  }

  // Stands in for a Variable in a shape-only store: layers keep buffer handles but never use them
  // at build time.
  private placeholder(name: string, shape: readonly number[], size: number, dtype: 'float32' | 'int32', kind?: ParamKind): Variable {
    const v = { name, shape: [...shape], size, dtype, trainable: kind !== undefined, dispose: () => undefined } as unknown as Variable;
    if (kind !== undefined) this.params[name] = v;
    else this.buffers[name] = v;
    this.kinds[name] = kind ?? 'plain';
    return v;
  }

  /** Frees every parameter and buffer; later additions throw (idempotent). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of [...Object.values(this.params), ...Object.values(this.buffers)]) v.dispose();
  }
}

/** A naming prefix inside a store: `scope.child('F0').child(0)` names `F0.0.*`. */
export class Scope {
  constructor(readonly store: ParamStore, readonly prefix: string) {}

  /** The scope one level down, named `prefix.name`. */
  child(name: string | number): Scope {
    return new Scope(this.store, this.full(String(name)));
  }

  /** The full dotted name of `name` in this scope. */
  full(name: string): string {
    return this.prefix === '' ? name : `${this.prefix}.${name}`;
  }

  /** Registers a trainable parameter (shape in OUR layout) and returns its full name. */
  param(name: string, shape: readonly number[], kind: ParamKind, init: Init): string {
    const full = this.full(name);
    this.store.addParam(full, shape, kind, init);
    return full;
  }

  /** Registers a non-trainable buffer and returns its Variable (layers update it in place). */
  buffer(name: string, shape: readonly number[], init: Init, dtype: 'float32' | 'int32' = 'float32'): Variable {
    return this.store.addBuffer(this.full(name), shape, init, dtype);
  }
}
