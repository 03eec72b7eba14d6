// Training strategies as experiment components (`strategy: { type: 'multiScale', numScales: 3 }`).
import { defineComponent } from '../../config/registry.ts';
import { NonNegNumber, PositiveInt, strict } from '../../config/codecs.ts';
import { singleScale as singleScaleStrategy, type Strategy } from '../strategy.ts';
import { multiScale as multiScaleStrategy } from './multi-scale.ts';
import { mimo as mimoStrategy } from './mimo.ts';
import { stfanRecurrent as stfanRecurrentStrategy } from './stfan.ts';
import { pvdnetRecurrent as pvdnetRecurrentStrategy } from './pvdnet.ts';

/** Strategy component: one output (one or several frames) compared with the ground truth; the default. */
export const singleScale = defineComponent({
  kind: 'strategy',
  type: 'singleScale',
  codec: strict({}),
  build: (): Strategy => singleScaleStrategy,
  describe: 'one output (one or several frames) against the ground truth (the default)',
});

/**
 * Strategy component: image pyramids in and out with the loss summed over `numScales` scales (default
 * 3), as SRN and MSCNN train.
 */
export const multiScale = defineComponent({
  kind: 'strategy',
  type: 'multiScale',
  codec: strict({ numScales: PositiveInt }),
  defaults: { numScales: 3 },
  build: (s): Strategy => multiScaleStrategy({ numScales: s.numScales }),
  describe: 'image pyramids in and out, loss summed over scales (SRN, MSCNN)',
});

/**
 * Strategy component for MIMO-UNet (Cho et al. 2021): three output scales with image losses plus a 2-D
 * frequency loss weighted by `fftWeight` (default 0.1, as the paper).
 */
export const mimo = defineComponent({
  kind: 'strategy',
  type: 'mimo',
  codec: strict({ fftWeight: NonNegNumber }),
  defaults: { fftWeight: 0.1 },
  build: (s): Strategy => mimoStrategy({ fftWeight: s.fftWeight }),
  describe: 'MIMO-UNet: three output scales, image and 2-D frequency losses (fftWeight 0.1 as the paper; 1.0 as SimDeblur)',
});

/**
 * Strategy component for STFAN: one optimiser step per frame, carrying the restored frame and features
 * forward without gradient (needs sampling `n_n`).
 */
export const stfanRecurrent = defineComponent({
  kind: 'strategy',
  type: 'stfanRecurrent',
  codec: strict({}),
  build: (): Strategy => stfanRecurrentStrategy,
  describe: 'STFAN: one optimiser step per frame, carrying the restored frame and features forward without gradient (sampling n_n)',
});

/**
 * Strategy component for PVDNet: frames in [-1, 1], one optimiser step per frame 1..T-2 from the
 * previous output (needs sampling `n_n`).
 */
export const pvdnetRecurrent = defineComponent({
  kind: 'strategy',
  type: 'pvdnetRecurrent',
  codec: strict({}),
  build: (): Strategy => pvdnetRecurrentStrategy,
  describe: 'PVDNet: frames in [-1, 1], one optimiser step per frame 1..T-2 from the previous output (sampling n_n)',
});
