// Built-in loss components. A loss spec has no weight: the experiment's `loss.terms` carry the
// weights (`term(spec, weight)`), so there is one place for them.
import { charbonnier as charbonnierLoss, hem as hemLoss, l1 as l1Loss, mse as mseLoss, perceptualLoss, sharedVgg19Features } from './index.ts';
import type { ComponentSpec } from '../config/registry.ts';
import type { LossTermSpec } from '../config/experiment.ts';
import { arrayOf, Bool, NonEmptyString, NonNegNumber, oneOf, Probability, strict, UnitInterval } from '../config/codecs.ts';
import { defineComponent } from '../config/registry.ts';

/** Loss component: mean squared error between prediction and ground truth. */
export const mse = defineComponent({
  kind: 'loss',
  type: 'mse',
  codec: strict({}),
  build: () => mseLoss(),
  describe: 'mean squared error',
});

/** Loss component: mean absolute error between prediction and ground truth. */
export const l1 = defineComponent({
  kind: 'loss',
  type: 'l1',
  codec: strict({}),
  build: () => l1Loss(),
  describe: 'mean absolute error',
});

/**
 * Loss component: the Charbonnier penalty sqrt(d² + eps), reduced as the original (`sumOverBatch`: sum
 * over elements / batch size) or by `mean`.
 */
export const charbonnier = defineComponent({
  kind: 'loss',
  type: 'charbonnier',
  codec: strict({ eps: NonNegNumber, reduction: oneOf('mean', 'sumOverBatch') }),
  // 'sumOverBatch' is the original's reduction (sum over all elements / batch size).
  defaults: { eps: 1e-6, reduction: 'sumOverBatch' },
  build: (s) => charbonnierLoss({ eps: s.eps, reduction: s.reduction }),
  describe: 'Charbonnier penalty sqrt(d² + eps); reduction sumOverBatch (original) or mean',
});

/**
 * Loss component: the hard-example-mining L1 loss of CDVD-TSP (Pan et al. 2020), over the hardest
 * `hardThreP` of pixels plus a random `randomThreP` of them.
 */
export const hem = defineComponent({
  kind: 'loss',
  type: 'hem',
  codec: strict({ hardThreP: UnitInterval, randomThreP: Probability }),
  defaults: { hardThreP: 0.5, randomThreP: 0.1 },
  build: (s) => hemLoss({ hardThreP: s.hardThreP, randomThreP: s.randomThreP }),
  describe: 'hard-example-mining L1 (CDVD-TSP): hardest hardThreP of pixels plus a random randomThreP',
});

/**
 * Loss component `perceptualVgg19`: a VGG19 perceptual loss (Johnson et al. 2016) on relu1_2, relu2_2
 * and conv3_3 features, with torchvision weights read from a safetensors file.
 */
export const perceptual = defineComponent({
  kind: 'loss',
  type: 'perceptualVgg19',
  codec: strict({ weights: NonEmptyString, layerWeights: arrayOf(NonNegNumber), reduction: oneOf('mean', 'sum'), normalize: Bool }),
  // The original's STFAN configs use reduction 'mean'; normalize false feeds [0, 1] RGB as it does.
  defaults: { layerWeights: [1, 0.2, 0.04], reduction: 'mean', normalize: false },
  check: (p) => (p.layerWeights.length === 3 ? [] : [{ path: 'layerWeights', message: `expected 3 weights (relu1_2, relu2_2, conv3_3), got ${p.layerWeights.length}` }]),
  // Built once per experiment: a missing or wrong weights file is an error before training.
  build: (s) => perceptualLoss(sharedVgg19Features(s.weights), { layerWeights: s.layerWeights, reduction: s.reduction, normalize: s.normalize }),
  describe: 'VGG19 perceptual loss (relu1_2, relu2_2, conv3_3) with torchvision weights from a safetensors file',
});


/** A weighted term of an experiment's `loss.terms`: the loss spec and its weight (default 1). */
export function term(loss: ComponentSpec, weight = 1): LossTermSpec {
  return { weight, loss };
}
