// Built-in augmentation components, applied to training samples in the order the experiment
// lists them (the transforms themselves are in augment.ts).
import { pairOf, PositiveInt, Probability, strict } from '../config/codecs.ts';
import { defineComponent, type ComponentSpec } from '../config/registry.ts';

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

export const hflip = flipLike('hflip', 'horizontal flip with probability p');
export const vflip = flipLike('vflip', 'vertical flip with probability p');
export const reverse = flipLike('reverse', 'temporal reverse of the clip with probability p');
export const transpose = flipLike('transpose', "swap H and W with probability p (the original's RandomRotation90)");
export const rot90 = flipLike('rot90', 'a true 90° rotation with probability p');

/** The original configs' augmentation: crop 256², h-flip, v-flip, its "rotation" (transpose), p 0.5. */
export function original(size: readonly [number, number] = [256, 256]): ComponentSpec[] {
  return [crop({ size: [size[0], size[1]] }), hflip(), vflip(), transpose()];
}
