// `quick`: every zoo model on one synthesised set with the same budget, in about half an hour on
// a 2-core CPU (under 45 minutes; docs/leaderboard-guide.md has the measurements). Networks keep
// their architecture but most are narrowed (fewer channels or blocks) so that each trains in
// one to five minutes; the table's configuration column says how each differs from its recipe.
// The blur is strong (a fast sideways pan: the blurry input scores about 26 dB, like GoPro's).
// A ranking at this size says which methods learn most from little data, not which is best at
// full size.
import { protocol } from '../protocol.ts';

/** The `quick` protocol. */
export const quick = protocol({
  name: 'quick',
  description: 'Every zoo model, narrowed to CPU size, with the same short budget on synthesised data.',
  seed: 0,
  recipes: { benchmarks: ['dvd', 'gopro', 'reds'] },
  data: { synth: { layout: 'gopro', videos: 8, testVideos: 2, frames: 12, width: 96, height: 96, seed: 1, motion: { speed: 10, drift: 20, direction: 0 } } },
  train: { iterations: 200, batch: 4, crop: [64, 64], augment: 'recipe', maxFrames: 4, lrScale: 5, schedule: { type: 'cosine', etaMin: 1e-6, stepEvery: 'iteration' }, logEvery: 10 },
  models: {
    dbn: { options: { innerChannels: 16 } },
    nafnet: { options: { width: 16, encBlkNums: [1, 1, 1, 2], decBlkNums: [1, 1, 1, 1] } },
    mscnn: { options: { numFeats: 16, numResblocks: 4 } },
    srn: { options: { innerChannels: 16 } },
    mimoUnet: { options: { numRes: 2 } },
    mimoUnetPlus: { recipe: 'mimounet-gopro.ts', options: { numRes: 4 } },
    restormer: { options: { dim: 16, numBlocks: [1, 1, 1, 2], numRefinementBlocks: 1 } },
    dblrnet: { options: { innerChannels: 16 } },
    strcnn: { options: { innerChannels: 16, encoderBlocks: 2, decoderBlocks: 2 } },
    ifirnn: { options: { innerChannels: 8, intraIters: 1 } },
    estrnn: { options: { nFeatures: 8, nBlocks: 4 } },
    edvr: { options: { numFeat: 16, deformableGroups: 4, numExtractBlock: 2, numReconstructBlock: 2 } },
    cdvdTsp: { options: { nResblock: 1, nFeat: 8 } },
    pvdnet: { options: { largeModel: false } },
  },
  eval: { score: { centre: 4 } },
  cost: { size: [256, 256], runs: 1, videoFrames: 3 },
});
