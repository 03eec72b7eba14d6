// Adam and AdamW with torch.optim semantics (per-parameter step counts, bias correction,
// optional AMSGrad). Adam adds L2 weight decay to the gradient; AdamW decays the weights.
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { checkStepInputs, metaCount, Slots } from './slots.ts';
import type { Optimizer, OptimizerState } from './types.ts';

export interface AdamOptions {
  readonly betas?: readonly [number, number];
  readonly eps?: number;
  readonly weightDecay?: number;
  readonly amsgrad?: boolean;
}

const STEP_PREFIX = 'step.';

function validate(owner: string, betas: readonly [number, number], eps: number, wd: number): void {
  betas.forEach((b, i) => {
    if (!(b >= 0 && b < 1)) throw new Error(`${owner}: betas[${i}] must be in [0, 1), got ${b}`);
  });
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`${owner}: eps must be a finite number >= 0, got ${eps}`);
  if (!(wd >= 0) || !Number.isFinite(wd)) throw new Error(`${owner}: weightDecay must be a finite number >= 0, got ${wd}`);
}

function makeAdam(kind: 'adam' | 'adamw', options: AdamOptions, defaultWd: number): Optimizer {
  const betas = options.betas ?? [0.9, 0.999];
  const eps = options.eps ?? 1e-8;
  const weightDecay = options.weightDecay ?? defaultWd;
  const amsgrad = options.amsgrad ?? false;
  validate(kind, betas, eps, weightDecay);
  const [beta1, beta2] = betas;
  const slotNames = amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  const slots = new Slots(kind, slotNames);
  /** PyTorch keeps a step count per parameter: parameters skipped in a step do not advance. */
  const steps = new Map<string, number>();
  let stepCount = 0;
  let checkPending = false;

  const updateOne = (p: Variable, g: Tensor, name: string, lr: number): void => {
    const t = (steps.get(name) ?? 0) + 1;
    steps.set(name, t);
    const m = slots.ensure('exp_avg', name, () => tf.zerosLike(p));
    const v = slots.ensure('exp_avg_sq', name, () => tf.zerosLike(p));
    let grad = g;
    if (weightDecay !== 0) {
      if (kind === 'adamw') p.assign(tf.mul(p, 1 - lr * weightDecay));
      else grad = tf.add(grad, tf.mul(p, weightDecay));
    }
    m.assign(tf.add(m, tf.mul(tf.sub(grad, m), 1 - beta1)));
    v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2)));
    let second: Tensor = v;
    if (amsgrad) {
      const vmax = slots.ensure('max_exp_avg_sq', name, () => tf.zerosLike(p));
      vmax.assign(tf.maximum(vmax, v));
      second = vmax;
    }
    const stepSize = lr / (1 - beta1 ** t);
    const denom = tf.add(tf.div(tf.sqrt(second), Math.sqrt(1 - beta2 ** t)), eps);
    p.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
  };

  return {
    kind,
    get stepCount() {
      return stepCount;
    },
    step(params, grads, lr) {
      checkStepInputs(kind, params, grads, lr);
      if (checkPending) {
        slots.checkAgainst(params);
        checkPending = false;
      }
      tf.tidy(() => {
        for (const [name, p] of Object.entries(params)) {
          const g = grads[name];
          if (g !== undefined) updateOne(p, g, name, lr);
        }
      });
      stepCount++;
    },
    state(): OptimizerState {
      const meta: Record<string, number> = { stepCount };
      for (const [name, t] of steps) meta[`${STEP_PREFIX}${name}`] = t;
      return { tensors: slots.tensors(), meta };
    },
    loadState(s) {
      const required = slotNames;
      const count = metaCount(kind, s.meta, 'stepCount');
      const names = new Set<string>();
      for (const key of Object.keys(s.tensors)) {
        const slot = slotNames.find((n) => key.startsWith(`${n}.`));
        if (slot !== undefined) names.add(key.slice(slot.length + 1));
      }
      const loadedSteps = new Map<string, number>();
      for (const key of Object.keys(s.meta)) {
        if (key === 'stepCount') continue;
        if (!key.startsWith(STEP_PREFIX)) throw new Error(`${kind}: unexpected state metadata '${key}'`);
        const name = key.slice(STEP_PREFIX.length);
        if (!names.has(name)) throw new Error(`${kind}: state metadata '${key}' has no state tensors`);
        const t = metaCount(kind, s.meta, key);
        if (t === 0) throw new Error(`${kind}: state metadata '${key}' must be >= 1`);
        loadedSteps.set(name, t);
      }
      for (const name of names) if (!loadedSteps.has(name)) throw new Error(`${kind}: state metadata '${STEP_PREFIX}${name}' is missing`);
      slots.load(s, required);
      steps.clear();
      for (const [n, t] of loadedSteps) steps.set(n, t);
      stepCount = count;
      checkPending = true;
    },
    dispose() {
      slots.clear();
      steps.clear();
    },
  };
}

/** torch.optim.Adam: L2 weight decay added to the gradient, bias-corrected moments. */
export function adam(options: AdamOptions = {}): Optimizer {
  return makeAdam('adam', options, 0);
}

/** torch.optim.AdamW: decoupled weight decay p ← p·(1 − lr·weightDecay) (default 1e-2). */
export function adamw(options: AdamOptions = {}): Optimizer {
  return makeAdam('adamw', options, 1e-2);
}
