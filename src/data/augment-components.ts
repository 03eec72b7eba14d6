// Built-in augmentation components, applied to training samples in the order the experiment
// lists them (the transforms themselves are in augment.ts).
import { pairOf, PositiveInt, Probability, strict } from '../config/codecs.ts';
import { defineComponent, type ComponentSpec } from '../config/registry.ts';

/**
 * Augmentation component: a random crop to `size` `[h, w]` pixels (default 256²), the same window on
 * every input and ground-truth frame of a sample.
 */
export const crop = defineComponent({
  kind: 'augmentation',
  type: 'crop',
  codec: strict({ size: pairOf(PositiveInt, 'pair of positive integers [h, w]') }),
  defaults: { size: [256, 256] },
  build: (s) => s,
  describe: 'random crop to size [h, w] (the same window on every frame)',
});

const flipLike = (type: 'hflip' | 'vflip' | 'reverse' | 'transpose' | 'rot90', describe: string) =>
  defineComponent({ kind: 'augmentation', type, codec: strict({ p: Probability }), defaults: { p: 0.5 }, build: (s) => s, describe });

/** Augmentation component: a left-right mirror of the whole sample with probability `p` (default 0.5). */
export const hflip = flipLike('hflip', 'horizontal flip with probability p');
/** Augmentation component: a top-bottom mirror of the whole sample with probability `p` (default 0.5). */
export const vflip = flipLike('vflip', 'vertical flip with probability p');
/**
 * Augmentation component: reverses the frame order of a clip (inputs and ground truth) with
 * probability `p` (default 0.5).
 */
export const reverse = flipLike('reverse', 'temporal reverse of the clip with probability p');
/**
 * Augmentation component: swaps H and W with probability `p` (default 0.5), as the original code's
 * `RandomRotation90` did.
 */
export const transpose = flipLike('transpose', "swap H and W with probability p (the original's RandomRotation90)");
/** Augmentation component: a true 90° counter-clockwise rotation with probability `p` (default 0.5). */
export const rot90 = flipLike('rot90', 'a true 90° rotation with probability p');

/** The original configs' augmentation: crop 256², h-flip, v-flip, its "rotation" (transpose), p 0.5. */
export function original(size: readonly [number, number] = [256, 256]): ComponentSpec[] {
  return [crop({ size: [size[0], size[1]] }), hflip(), vflip(), transpose()];
}
