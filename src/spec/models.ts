// Built-in model components. Defaults are the original constructors' (SPEC §2.1, §2.13).
import { buildDbn } from '../models/dbn.ts';
import { buildNafnet } from '../models/nafnet.ts';
import { arrayOf, NonNegInt, PositiveInt, strict } from './codecs.ts';
import { defineComponent } from './registry.ts';

/** DBN (Su et al. 2017): encoder-decoder over channel-stacked frames; H and W divisible by 8. */
export const dbn = defineComponent({
  kind: 'model',
  type: 'dbn',
  codec: strict({ numFrames: PositiveInt, inChannels: PositiveInt, innerChannels: PositiveInt }),
  defaults: { numFrames: 5, inChannels: 3, innerChannels: 64 },
  // The 3-channel residual is added to the centre frame, which broadcasts only for 1 or 3 channels.
  check: (p) => (p.inChannels === 1 || p.inChannels === 3 ? [] : [{ path: 'inChannels', message: `expected 1 or 3, got ${p.inChannels}` }]),
  build: (s, { seed }) => buildDbn({ numFrames: s.numFrames, inChannels: s.inChannels, innerChannels: s.innerChannels }, seed),
  describe: 'DBN video deblurring (Su et al. 2017), numFrames input frames to the centre frame',
});

/** NAFNet (Chen et al. 2022): a U-Net of NAFBlocks on single images. */
export const nafnet = defineComponent({
  kind: 'model',
  type: 'nafnet',
  codec: strict({
    imgChannels: PositiveInt,
    width: PositiveInt,
    middleBlkNum: NonNegInt,
    encBlkNums: arrayOf(NonNegInt),
    decBlkNums: arrayOf(NonNegInt),
  }),
  defaults: { imgChannels: 3, width: 16, middleBlkNum: 1, encBlkNums: [], decBlkNums: [] },
  // Decoder stages are zipped with the reversed encoder skips, so the stage counts must agree.
  check: (p) =>
    p.encBlkNums.length === p.decBlkNums.length
      ? []
      : [{ path: 'decBlkNums', message: `expected ${p.encBlkNums.length} stages like encBlkNums, got ${p.decBlkNums.length}` }],
  build: (s, { seed }) =>
    buildNafnet({ imgChannels: s.imgChannels, width: s.width, middleBlkNum: s.middleBlkNum, encBlkNums: s.encBlkNums, decBlkNums: s.decBlkNums }, seed),
  describe: 'NAFNet image deblurring (Chen et al. 2022); the GoPro recipe uses width 64, encBlkNums [1,1,1,28], decBlkNums [1,1,1,1]',
});
