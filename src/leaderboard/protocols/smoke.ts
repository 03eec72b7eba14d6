// `smoke`: the whole leaderboard machinery in about a minute, for tests and CI. Tiny networks,
// a handful of iterations on a tiny synthesised set: its numbers check that everything runs
// and is reproducible, they rank nothing. Every zoo model has a tiny configuration here, so
// `--models all` checks the whole zoo; the default is DBN and NAFNet.
import { protocol } from '../protocol.ts';

/** The `smoke` protocol. */
export const smoke = protocol({
  name: 'smoke',
  description: 'A functional check of the leaderboard (tiny networks, 4 iterations): not a comparison.',
  seed: 0,
  recipes: { benchmarks: ['dvd', 'gopro', 'reds'] },
  data: { synth: { layout: 'gopro', videos: 2, testVideos: 1, frames: 12, width: 64, height: 64, seed: 1, motion: { speed: 3, drift: 8, direction: 0 } } },
  train: { iterations: 4, batch: 2, crop: [64, 64], augment: 'flips', maxFrames: 4, schedule: { type: 'constant', stepEvery: 'iteration' }, logEvery: 2 },
  models: {
    dbn: { options: { innerChannels: 8 } },
    nafnet: { options: { width: 8, encBlkNums: [1, 1], decBlkNums: [1, 1] } },
    mscnn: { options: { numFeats: 8, numResblocks: 1 } },
    srn: { options: { innerChannels: 8 } },
    mimoUnet: { options: { numRes: 1 } },
    // MIMO-UNet+ is MIMO-UNet with more residual blocks, trained the same way.
    mimoUnetPlus: { recipe: 'mimounet-gopro.ts', options: { numRes: 1 } },
    restormer: { options: { dim: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 1, 2, 2] } },
    dblrnet: { options: { innerChannels: 8 } },
    strcnn: { options: { innerChannels: 8, encoderBlocks: 1, decoderBlocks: 1 } },
    ifirnn: { options: { innerChannels: 4, intraIters: 1 } },
    estrnn: { options: { nFeatures: 4, nBlocks: 1 } },
    edvr: { options: { numFeat: 8, deformableGroups: 2, numExtractBlock: 1, numReconstructBlock: 1 } },
    cdvdTsp: { options: { nResblock: 1, nFeat: 4 } },
    pvdnet: { options: { largeModel: false } },
  },
  defaultModels: ['dbn', 'nafnet'],
  eval: { score: { centre: 2 } },
  cost: { size: [256, 256], runs: 1, videoFrames: 3 },
});
