export type { Loss } from './types.ts';
export { mse, l1, charbonnier, type CharbonnierOptions, type CharbonnierReduction } from './elementwise.ts';
export { hem, randomPixelMask, type HemOptions } from './hem.ts';
export { weightedSum, single, type LossTerm, type LossValue, type CompositeLoss } from './weighted.ts';
