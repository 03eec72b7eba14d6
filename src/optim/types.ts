import type { Tensor, Variable } from '@tensorflow/tfjs';

/** Checkpointable state: named tensors plus numeric metadata. */
export interface OptimizerState {
  readonly tensors: Readonly<Record<string, Tensor>>;
  readonly meta: Readonly<Record<string, number>>;
}

/**
 * An optimiser updating parameter Variables in place from their gradients, with a learning rate given
 * at each step, and checkpointable state.
 */
export interface Optimizer {
  readonly kind: string;
  /**
   * Apply one update in place (`params[k].assign(...)`) with learning rate `lr` (from the
   * schedule). Parameters with no entry in `grads` are skipped, state included. Does not
   * dispose the gradients.
   */
  step(params: Readonly<Record<string, Variable>>, grads: Readonly<Record<string, Tensor>>, lr: number): void;
  /** Number of `step` calls so far (restored by `loadState`). */
  readonly stepCount: number;
  /**
   * State for checkpoints: tensors named `<slot>.<parameter>` (e.g. `exp_avg.F0.0.weight`)
   * and scalars in `meta`. The tensors are new handles owned by the caller (dispose them).
   */
  state(): OptimizerState;
  /**
   * Replace the state with a copy of `s` (the caller keeps ownership of its tensors). Missing,
   * extra or inconsistent keys throw here; keys or shapes that do not fit the parameters throw
   * at the next `step`.
   */
  loadState(s: OptimizerState): void;
  /** Frees the optimiser's state tensors. */
  dispose(): void;
}
