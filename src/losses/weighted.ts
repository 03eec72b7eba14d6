// Weighted sum of named losses, keeping each term's (unweighted) value for logging.
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import type { Loss } from './types.ts';
import type { Rng } from '../util/rng.ts';

/** One named, weighted term of a composite loss. */
export interface LossTerm {
  /** Key of this term in `LossValue.terms` (e.g. `CharbonnierLoss`); must be unique. */
  readonly name: string;
  readonly weight: number;
  readonly fn: Loss;
}

/** The value of a composite loss: the weighted total to differentiate and each term before weighting. */
export interface LossValue {
  /** Σ_k weight_k · term_k — the scalar to differentiate. */
  readonly total: Scalar;
  /** Each term's value before weighting, by name. */
  readonly terms: Readonly<Record<string, Scalar>>;
}

/** A loss made of several named terms. `names` lists them in order. */
export interface CompositeLoss {
  (gt: Tensor, pred: Tensor, rng?: Rng): LossValue;
  readonly names: readonly string[];
}

/**
 * Σ_k w_k · L_k(gt, pred). All returned scalars (total and terms) belong to the caller. Under
 * `tf.variableGrads(() => ...)` return `total` and `tf.keep` the terms to read them afterwards.
 */
export function weightedSum(terms: readonly LossTerm[]): CompositeLoss {
  if (terms.length === 0) throw new Error('weightedSum: at least one loss term is required');
  const names = terms.map((t) => t.name);
  const seen = new Set<string>();
  for (const t of terms) {
    if (t.name === '') throw new Error('weightedSum: a loss term has an empty name');
    if (seen.has(t.name)) throw new Error(`weightedSum: duplicate loss term name '${t.name}'`);
    seen.add(t.name);
    if (!Number.isFinite(t.weight)) throw new Error(`weightedSum: weight of '${t.name}' must be finite, got ${t.weight}`);
  }
  const composite = (gt: Tensor, pred: Tensor, rng?: Rng): LossValue =>
    tf.tidy(() => {
      const values: Record<string, Scalar> = {};
      const weighted: Tensor[] = [];
      for (const t of terms) {
        const v = t.fn(gt, pred, rng);
        values[t.name] = v;
        weighted.push(t.weight === 1 ? v : tf.mul(v, t.weight));
      }
      const total = (weighted.length === 1 ? tf.clone(weighted[0]!) : tf.addN(weighted)) as Scalar;
      return { total, terms: values };
    });
  return Object.assign(composite, { names: Object.freeze(names) });
}

/** A single loss as a composite with one term of weight 1 (the original's single-criterion form). */
export function single(name: string, fn: Loss): CompositeLoss {
  return weightedSum([{ name, weight: 1, fn }]);
}
