// Adam and AdamW with torch.optim semantics (per-parameter step counts, bias correction,
// optional AMSGrad). Adam adds L2 weight decay to the gradient; AdamW decays the weights.
//
// The update is elementwise, so small parameters are updated together: their gradients and
// moments are concatenated and each run of them takes a dozen ops, instead of a dozen per
// parameter (eager ops have a fixed cost, which dominates for the many small tensors of a
// network: biases, norms, small convolutions). Results are bit-identical to updating one
// parameter at a time.
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { checkStepInputs, metaCount, Slots } from './slots.ts';
import type { Optimizer, OptimizerState } from './types.ts';

/**
 * Options of `adam` and `adamw`, as torch.optim.Adam/AdamW: betas (default [0.9, 0.999]), eps (default
 * 1e-8), weight decay and AMSGrad (default false).
 */
export interface AdamOptions {
  readonly betas?: readonly [number, number];
  readonly eps?: number;
  readonly weightDecay?: number;
  readonly amsgrad?: boolean;
}

const STEP_PREFIX = 'step.';
/**
 * Tensors smaller than this are packed: for them the fixed cost of an eager op dominates; a
 * larger tensor is updated on its own (packing it would only add copies).
 */
const PACK_BELOW = 1 << 18;
/** Elements per packed run: bounds the temporary memory (a few times 8 MB). */
const RUN = 1 << 21;

/** `names` as update runs: each large tensor alone, small ones together up to RUN elements. */
function updateRuns(names: readonly string[], size: (name: string) => number): string[][] {
  const out: string[][] = [];
  let run: string[] = [];
  let total = 0;
  for (const n of names) {
    if (size(n) >= PACK_BELOW) {
      out.push([n]);
      continue;
    }
    if (total + size(n) > RUN) {
      out.push(run);
      run = [];
      total = 0;
    }
    run.push(n);
    total += size(n);
  }
  if (run.length > 0) out.push(run);
  return out;
}

const concat = (xs: readonly Tensor[]): Tensor => (xs.length === 1 ? xs[0]! : tf.concat([...xs]));

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
  const slots = new Slots(kind, slotNames, 'flat');
  /** PyTorch keeps a step count per parameter: parameters skipped in a step do not advance. */
  const steps = new Map<string, number>();
  let stepCount = 0;
  let checkPending = false;

  /** One update of the parameters `names`, all at step count `t`, on 1-D concatenations. */
  const updatePacked = (params: Readonly<Record<string, Variable>>, grads: Readonly<Record<string, Tensor>>, names: readonly string[], t: number, lr: number): void => {
    const ps = names.map((n) => params[n]!);
    const sizes = ps.map((p) => p.size);
    const buffers = (slot: string) => names.map((n, i) => slots.flat(slot, n, ps[i]!.shape));
    const flat = (xs: readonly Tensor[]) => concat(xs.map((x) => tf.reshape(x, [-1])));
    const store = (vars: readonly Variable[], x: Tensor) => {
      const parts = vars.length === 1 ? [x] : tf.split(x, sizes);
      vars.forEach((v, i) => v.assign(parts[i]!));
    };
    const ms = buffers('exp_avg');
    const vs = buffers('exp_avg_sq');
    let grad = flat(names.map((n) => grads[n]!));
    if (weightDecay !== 0) {
      if (kind === 'adamw') for (const p of ps) p.assign(tf.mul(p, 1 - lr * weightDecay));
      else grad = tf.add(grad, tf.mul(flat(ps), weightDecay));
    }
    const m0 = concat(ms);
    const m = tf.add(m0, tf.mul(tf.sub(grad, m0), 1 - beta1));
    const v = tf.add(tf.mul(concat(vs), beta2), tf.mul(tf.square(grad), 1 - beta2));
    let second: Tensor = v;
    if (amsgrad) {
      const vmaxs = buffers('max_exp_avg_sq');
      second = tf.maximum(concat(vmaxs), v);
      store(vmaxs, second);
    }
    store(ms, m);
    store(vs, v);
    const stepSize = lr / (1 - beta1 ** t);
    const denom = tf.add(tf.div(tf.sqrt(second), Math.sqrt(1 - beta2 ** t)), eps);
    const update = tf.mul(tf.div(m, denom), stepSize);
    const parts = ps.length === 1 ? [update] : tf.split(update, sizes);
    ps.forEach((p, i) => p.assign(tf.sub(p, tf.reshape(parts[i]!, p.shape))));
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
      // Parameters with a gradient, grouped by their step count (normally one group).
      const groups = new Map<number, string[]>();
      for (const name of Object.keys(params)) {
        if (grads[name] === undefined) continue;
        const t = (steps.get(name) ?? 0) + 1;
        const group = groups.get(t);
        if (group) group.push(name);
        else groups.set(t, [name]);
      }
      for (const [t, names] of groups) {
        for (const run of updateRuns(names, (n) => params[n]!.size)) tf.tidy(() => updatePacked(params, grads, run, t, lr));
        for (const n of names) steps.set(n, t);
      }
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
