// SGD with torch.optim.SGD semantics: L2 weight decay, momentum buffer initialised to the
// first gradient, dampening, Nesterov.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { checkStepInputs, metaCount, Slots } from './slots.ts';
import type { Optimizer, OptimizerState } from './types.ts';

/**
 * Options of `sgd`, as torch.optim.SGD: momentum, dampening and weight decay (all default 0) and
 * Nesterov momentum (default false).
 */
export interface SgdOptions {
  readonly momentum?: number;
  readonly dampening?: number;
  readonly nesterov?: boolean;
  readonly weightDecay?: number;
}

/**
 * Stochastic gradient descent as torch.optim.SGD; the learning rate is given at each step. Nesterov
 * needs momentum > 0 and dampening 0.
 */
export function sgd(options: SgdOptions = {}): Optimizer {
  const momentum = options.momentum ?? 0;
  const dampening = options.dampening ?? 0;
  const nesterov = options.nesterov ?? false;
  const weightDecay = options.weightDecay ?? 0;
  const check = (name: string, v: number): void => {
    if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`sgd: ${name} must be a finite number >= 0, got ${v}`);
  };
  check('momentum', momentum);
  check('dampening', dampening);
  check('weightDecay', weightDecay);
  if (nesterov && (momentum <= 0 || dampening !== 0)) throw new Error('sgd: nesterov requires momentum > 0 and dampening = 0');

  const slotNames = momentum !== 0 ? ['momentum_buffer'] : [];
  const slots = new Slots('sgd', slotNames);
  let stepCount = 0;
  let checkPending = false;

  return {
    kind: 'sgd',
    get stepCount() {
      return stepCount;
    },
    step(params, grads, lr) {
      checkStepInputs('sgd', params, grads, lr);
      if (checkPending) {
        slots.checkAgainst(params);
        checkPending = false;
      }
      tf.tidy(() => {
        for (const [name, p] of Object.entries(params)) {
          const g0 = grads[name];
          if (g0 === undefined) continue;
          let d: Tensor = weightDecay !== 0 ? tf.add(g0, tf.mul(p, weightDecay)) : g0;
          if (momentum !== 0) {
            let buf = slots.get('momentum_buffer', name);
            if (buf === undefined) {
              // First step: the buffer is the (decayed) gradient itself, undamped.
              buf = slots.ensure('momentum_buffer', name, () => tf.clone(d));
            } else {
              buf.assign(tf.add(tf.mul(buf, momentum), tf.mul(d, 1 - dampening)));
            }
            d = nesterov ? tf.add(d, tf.mul(buf, momentum)) : buf;
          }
          p.assign(tf.sub(p, tf.mul(d, lr)));
        }
      });
      stepCount++;
    },
    state(): OptimizerState {
      return { tensors: slots.tensors(), meta: { stepCount } };
    },
    loadState(s) {
      const count = metaCount('sgd', s.meta, 'stepCount');
      for (const key of Object.keys(s.meta)) if (key !== 'stepCount') throw new Error(`sgd: unexpected state metadata '${key}'`);
      slots.load(s, slotNames);
      stepCount = count;
      checkPending = true;
    },
    dispose() {
      slots.clear();
    },
  };
}
