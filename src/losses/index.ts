export type { Loss } from './types.ts';
export { mse, l1, charbonnier, type CharbonnierOptions, type CharbonnierReduction } from './elementwise.ts';
export { hem, randomPixelMask, type HemOptions } from './hem.ts';
export { weightedSum, single, type LossTerm, type LossValue, type CompositeLoss } from './weighted.ts';
export { perceptualVgg19, perceptualLoss, vgg19Features, loadVgg19Features, sharedVgg19Features, vgg19FeatureMaps, imagenetNormalize, VGG19_CONVS, VGG19_KEYS, IMAGENET_MEAN, IMAGENET_STD, type Vgg19Features, type PerceptualOptions, type PerceptualVgg19Options, type DisposableLoss } from './perceptual.ts';
