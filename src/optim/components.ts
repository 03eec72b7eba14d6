// Built-in optimizer components. `lr` is the base learning rate handed to the schedule; the
// optimizer itself is built without it (it receives the scheduled rate at every step).
import { adam as adamOpt, adamw as adamwOpt, sgd as sgdOpt } from './index.ts';
import { Bool, NonNegNumber, pairOf, strict, UnitInterval } from '../config/codecs.ts';
import { defineComponent, type ComponentSpec } from '../config/registry.ts';

/** The base learning rate of a decoded optimizer spec (every optimizer has `lr`). */
export function baseLr(spec: ComponentSpec): number {
  const lr = spec['lr'];
  if (typeof lr !== 'number') throw new Error(`optimizer spec ${spec.type} has no numeric lr`);
  return lr;
}

const adamParams = strict({ lr: NonNegNumber, betas: pairOf(UnitInterval, 'pair of numbers in [0, 1)'), eps: NonNegNumber, weightDecay: NonNegNumber, amsgrad: Bool });

/**
 * Optimizer component: Adam (Kingma & Ba 2015) as torch.optim.Adam, with L2 weight decay added to the
 * gradient; `lr` is the base learning rate handed to the schedule.
 */
export const adam = defineComponent({
  kind: 'optimizer',
  type: 'adam',
  codec: adamParams,
  defaults: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false },
  build: (s) => adamOpt({ betas: s.betas, eps: s.eps, weightDecay: s.weightDecay, amsgrad: s.amsgrad }),
  describe: 'Adam (torch.optim.Adam): L2 weight decay added to the gradient',
});

/**
 * Optimizer component: AdamW (Loshchilov & Hutter 2019) as torch.optim.AdamW, with decoupled weight
 * decay (default 1e-2).
 */
export const adamw = defineComponent({
  kind: 'optimizer',
  type: 'adamw',
  codec: adamParams,
  defaults: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false },
  build: (s) => adamwOpt({ betas: s.betas, eps: s.eps, weightDecay: s.weightDecay, amsgrad: s.amsgrad }),
  describe: 'AdamW (torch.optim.AdamW): decoupled weight decay',
});

/**
 * Optimizer component: SGD as torch.optim.SGD, with momentum, dampening, Nesterov momentum and weight
 * decay.
 */
export const sgd = defineComponent({
  kind: 'optimizer',
  type: 'sgd',
  codec: strict({ lr: NonNegNumber, momentum: NonNegNumber, dampening: NonNegNumber, nesterov: Bool, weightDecay: NonNegNumber }),
  defaults: { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
  check: (p) => (p.nesterov && (p.momentum <= 0 || p.dampening !== 0) ? [{ path: 'nesterov', message: 'requires momentum > 0 and dampening = 0' }] : []),
  build: (s) => sgdOpt({ momentum: s.momentum, dampening: s.dampening, nesterov: s.nesterov, weightDecay: s.weightDecay }),
  describe: 'SGD (torch.optim.SGD) with momentum, dampening, Nesterov',
});
