// One optimisation step: forward, weighted loss terms, gradients, clipping, update, EMA.
// Everything tensor-side runs in tidy scopes; only scalars are read back.
import { tf } from '../runtime/index.ts';
import type { Scalar, Tensor, Variable } from '../runtime/index.ts';
import type { Batch } from '../data/loader.ts';
import type { Rng } from '../util/rng.ts';
import type { LossTerm, TrainSetup } from './setup.ts';
import type { Pair, Recurrence } from './strategy.ts';
import { clipGradNorm } from '../optim/clip.ts';
import { averageStep } from './replicas.ts';
import { withSyncBatchNorm } from '../nn/norm.ts';
import type { GraphCache } from '../runtime/graph-cache.ts';
import { modelVariables } from '../models/model.ts';

export interface StepResult {
  readonly loss: number;
  readonly terms: Record<string, number>;
  /** False when the loss was not finite and the update was skipped. */
  readonly applied: boolean;
  /** With the experiment's `graph` key: why this step ran eagerly, the first time it is so. */
  readonly graphRefused?: string;
}

/** Tensors of a batch: input `[B, T, H, W, C]`, ground truth `[B, Tgt, H, W, C]`. */
export function batchTensors(batch: Batch): { input: Tensor; gt: Tensor } {
  return {
    input: tf.tensor(batch.input, [...batch.inputShape], 'float32'),
    gt: tf.tensor(batch.gt, [...batch.gtShape], 'float32'),
  };
}

/** Σ over pairs (scales) and terms of weight · loss(gt, out); also each term's total. */
export function lossTerms(terms: readonly LossTerm[], pairs: readonly Pair[], rng: Rng): { total: Scalar; parts: Scalar[] } {
  const parts = terms.map((t) => tf.addN(pairs.map((p) => (p.weight === undefined || p.weight === 1 ? t.fn(p.gt, p.out, rng) : tf.mul(t.fn(p.gt, p.out, rng), p.weight)))) as Scalar);
  const total = tf.addN(parts.map((p, i) => tf.mul(p, terms[i]!.weight))) as Scalar;
  return { total, parts };
}

/** What a step needs to run as a graph function: the tensors its forward pass reads besides the weights. */
interface GraphStep {
  /** Names the computation: steps of one key and input shapes share a graph. */
  readonly key: string;
  readonly inputs: readonly Tensor[];
  /** Tensors the forward pass keeps for the next step (a recurrence's carry): graph outputs too. */
  readonly carry?: { readonly get: () => readonly Tensor[]; readonly set: (ts: Tensor[]) => void };
}

/**
 * The step's loss, terms and gradients (by variable name) through its graph function, or why it
 * cannot have one.
 */
function graphGradients(steps: GraphCache, setup: TrainSetup, g: GraphStep, gradients: () => { value: Scalar; parts: Tensor; grads: Record<string, Tensor> }) {
  const { model } = setup;
  const r = steps.run(g.key, [...g.inputs, ...modelVariables(model)], () => {
    const out = gradients();
    const names = Object.keys(out.grads);
    return { outputs: [out.value, out.parts, ...names.map((n) => out.grads[n]!), ...(g.carry?.get() ?? [])], meta: names };
  });
  if ('refused' in r) return r;
  const [value, parts, ...rest] = r.outputs;
  g.carry?.set(rest.slice(r.meta.length));
  return { value: value as Scalar, parts: parts!, grads: Object.fromEntries(r.meta.map((n, i) => [n, rest[i]!])) };
}

/**
 * One optimiser update on the loss of the pairs `forward` returns (called in the gradient scope),
 * through a graph function when the setup has them.
 */
function optimise(setup: TrainSetup, lr: number, rng: Rng, forward: () => readonly Pair[], graph: GraphStep): StepResult {
  const { model, loss } = setup;
  const vars = Object.values(model.params) as Variable[];
  let partsTensor: Tensor | undefined;
  let value: Scalar | undefined;
  let grads: Record<string, Tensor> = {};
  let graphRefused: string | undefined;
  try {
    let kept: Tensor | undefined;
    const gradients = () => {
      const r = tf.variableGrads(() => {
        const terms = lossTerms(loss, forward(), rng);
        kept = tf.keep(tf.stack(terms.parts));
        return terms.total;
      }, vars);
      return { ...r, parts: kept! };
    };
    // Synchronised BatchNorm runs collectives inside the forward pass: no graph for it.
    const syncBn = setup.replicas && setup.syncBatchNorm ? setup.replicas : undefined;
    const graphed = setup.graphSteps && !syncBn ? graphGradients(setup.graphSteps, setup, graph, gradients) : undefined;
    if (graphed && 'refused' in graphed) {
      // A refused trace may have stopped after keeping its terms or carry.
      kept?.dispose();
      graph.carry?.set([]);
      if (graphed.first) graphRefused = graphed.refused;
    }
    const r = graphed && !('refused' in graphed) ? graphed : syncBn ? withSyncBatchNorm(syncBn, gradients) : gradients();
    value = r.value;
    partsTensor = r.parts;
    // variableGrads keys by variable name; the optimiser expects parameter names.
    const byVar = new Map(Object.entries(model.params).map(([name, v]) => [v.name, name]));
    grads = Object.fromEntries(Object.entries(r.grads).map(([vn, g]) => [byVar.get(vn) ?? vn, g]));
    if (setup.replicas) {
      // Data-parallel: every replica continues with the whole global batch's loss and gradients,
      // so all take the same decisions (skip, clip) and the same update.
      const mean = averageStep(setup.replicas, model, { loss: value, parts: partsTensor!, grads });
      tf.dispose([value, partsTensor!, ...Object.values(grads)]);
      [value, partsTensor, grads] = [mean.loss as Scalar, mean.parts, { ...mean.grads }];
    }
    const lossValue = value.dataSync()[0]!;
    const partValues = Array.from(partsTensor!.dataSync());
    const terms = Object.fromEntries(loss.map((t, i) => [t.name, partValues[i]!]));
    const note = graphRefused !== undefined ? { graphRefused } : {};
    if (!Number.isFinite(lossValue)) return { loss: lossValue, terms, applied: false, ...note };
    if (setup.clipGradNorm !== undefined) {
      const clipped = clipGradNorm(grads, setup.clipGradNorm);
      clipped.totalNorm.dispose();
      tf.dispose(Object.values(grads));
      grads = clipped.grads;
    }
    setup.optimizer.step(model.params, grads, lr);
    setup.ema?.update();
    return { loss: lossValue, terms, applied: true, ...note };
  } finally {
    tf.dispose([...(value ? [value] : []), ...(partsTensor ? [partsTensor] : []), ...Object.values(grads)]);
  }
}

/**
 * A recurrent strategy's batch: one update per time step, each step starting from the state
 * the previous one left (no gradient flows back into it). The loss and terms are summed over
 * the steps; a non-finite step stops the batch without its update.
 */
function recurrentSteps(setup: TrainSetup, rec: Recurrence, input: Tensor, gt: Tensor, lr: number, rng: Rng): StepResult {
  const { model } = setup;
  let carry: Tensor[] = [];
  let next: Tensor[] = [];
  let loss = 0;
  const terms: Record<string, number> = {};
  try {
    const n = rec.steps(input, gt);
    for (let i = 0; i < n; i++) {
      const r = optimise(
        setup,
        lr,
        rng,
        () => {
          const s = rec.step(model, model.params, input, gt, i, carry);
          next = s.carry.map((t) => tf.keep(t));
          return s.pairs;
        },
        {
          key: `step ${i}`,
          inputs: [input, gt, ...carry],
          carry: {
            get: () => next,
            set: (ts) => {
              tf.dispose(next);
              next = ts;
            },
          },
        },
      );
      tf.dispose(carry);
      [carry, next] = [next, []];
      loss += r.loss;
      for (const [k, v] of Object.entries(r.terms)) terms[k] = (terms[k] ?? 0) + v;
      if (!r.applied) return { loss: r.loss, terms, applied: false };
    }
    return { loss, terms, applied: true };
  } finally {
    tf.dispose([...carry, ...next]);
  }
}

export function trainStep(setup: TrainSetup, batch: Batch, lr: number, rng: Rng): StepResult {
  const { model, strategy } = setup;
  const { input, gt } = batchTensors(batch);
  try {
    if (strategy.recurrence) return recurrentSteps(setup, strategy.recurrence, input, gt, lr, rng);
    return optimise(setup, lr, rng, () => strategy.forward(model, model.params, input, gt, true), { key: 'step', inputs: [input, gt] });
  } finally {
    tf.dispose([input, gt]);
  }
}
