// Every model trains through the engine: a short run on procedural data lowers the loss, with
// the model's own training strategy, and a step leaves the tensor count unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastValueFrom, toArray } from 'rxjs';
import { tf } from '../src/runtime/index.ts';
import { train } from '../src/engine/train.ts';
import { trainStep } from '../src/engine/step.ts';
import { epochBatches } from '../src/data/loader.ts';
import { syntheticDataset } from '../src/data/synthetic.ts';
import { singleScale, type Strategy } from '../src/engine/strategy.ts';
import { multiScale } from '../src/engine/strategies/multi-scale.ts';
import { mimo } from '../src/engine/strategies/mimo.ts';
import { buildDblrnet } from '../src/models/dblrnet.ts';
import { buildStrcnn } from '../src/models/strcnn.ts';
import { buildIfirnn } from '../src/models/ifirnn.ts';
import { buildEstrnn } from '../src/models/estrnn.ts';
import { buildMscnn } from '../src/models/mscnn.ts';
import { buildSrn } from '../src/models/srn.ts';
import { buildMimoUnet } from '../src/models/mimounet.ts';
import { buildRestormer } from '../src/models/restormer.ts';
import { nafnet } from '../src/models/nafnet.ts';
import { buildEdvr } from '../src/models/edvr.ts';
import { buildCdvdTsp } from '../src/models/cdvd-tsp.ts';
import { buildStfan } from '../src/models/stfan.ts';
import { buildPvdnet, PVDNET_DEFAULTS } from '../src/models/pvdnet.ts';
import { stfanRecurrent } from '../src/engine/strategies/stfan.ts';
import { pvdnetRecurrent } from '../src/engine/strategies/pvdnet.ts';
import type { Model } from '../src/models/model.ts';
import type { StepEvent } from '../src/engine/events.ts';
import { Rng } from '../src/util/rng.ts';
import { smallSetup } from './helpers/engine.ts';

interface Case {
  readonly build: () => Model;
  readonly strategy: Strategy;
  readonly frames: number;
  readonly gt: number | 'all';
  readonly size?: number;
  readonly iterations?: number;
  /** Learning rate (default 2e-3). */
  readonly lr?: number;
}

const cases: Record<string, Case> = {
  dblrnet: { build: () => buildDblrnet({ numFrames: 5, inChannels: 3, innerChannels: 8 }, 1), strategy: singleScale, frames: 5, gt: 1 },
  strcnn: { build: () => buildStrcnn({ numFramesEncoded: 5, inChannels: 3, innerChannels: 8, encoderBlocks: 1, decoderBlocks: 1 }, 1), strategy: singleScale, frames: 6, gt: 2 },
  ifirnn: { build: () => buildIfirnn({ inChannels: 3, innerChannels: 4, dualCell: true, intraIters: 1 }, 1), strategy: singleScale, frames: 3, gt: 'all' },
  estrnn: { build: () => buildEstrnn({ nFeatures: 4, nBlocks: 1, pastFrames: 1, futureFrames: 1 }, 1), strategy: singleScale, frames: 4, gt: 2 },
  mscnn: { build: () => buildMscnn({ numFeats: 8, numResblocks: 1 }, 1), strategy: multiScale({ numScales: 3 }), frames: 1, gt: 1 },
  srn: { build: () => buildSrn({ innerChannels: 8 }, 1), strategy: multiScale({ numScales: 3 }), frames: 1, gt: 1 },
  mimoUnet: { build: () => buildMimoUnet({ numRes: 1 }, 1), strategy: mimo({ fftWeight: 0.1 }), frames: 1, gt: 1 },
  restormer: { build: () => buildRestormer({ dim: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 1, 2, 2] }, 1), strategy: singleScale, frames: 1, gt: 1 },
  nafnet: { build: () => nafnet.create({ imgChannels: 3, width: 8, middleBlkNum: 1, encBlkNums: [1, 1], decBlkNums: [1, 1] }, 1), strategy: singleScale, frames: 1, gt: 1 },
  edvr: { build: () => buildEdvr({ numInCh: 3, numOutCh: 3, numFeat: 8, numFrame: 3, deformableGroups: 2, numExtractBlock: 1, numReconstructBlock: 1, centerFrameIdx: 1, hrIn: true, withPredeblur: true, withTsa: true }, 1), strategy: singleScale, frames: 3, gt: 1 },
  stfan: { build: () => buildStfan({}, 1), strategy: stfanRecurrent, frames: 3, gt: 'all', lr: 1e-4 },
  pvdnet: { build: () => buildPvdnet({ ...PVDNET_DEFAULTS, largeModel: false }, 1), strategy: pvdnetRecurrent, frames: 4, gt: 'all', size: 64, iterations: 10 },
  cdvdTsp: { build: () => buildCdvdTsp({ inChannels: 3, nSequence: 5, outChannels: 3, nResblock: 1, nFeat: 4, isMaskFilter: true }, 1), strategy: singleScale, frames: 5, gt: 1, size: 64, iterations: 10 },
};

for (const [name, c] of Object.entries(cases)) {
  test(`${name} trains through the engine: the loss falls and a step leaks no tensors`, async () => {
    const size = c.size ?? 32;
    const data = (seed: number) => syntheticDataset({ videos: 2, samplesPerVideo: 2, numFrames: c.frames, gtFrames: c.gt, height: size, width: size, seed }, 'train');
    const setup = smallSetup({ model: c.build(), strategy: c.strategy, train: data(3), val: undefined, run: { unit: 'iteration', length: c.iterations ?? 16 }, lr: () => c.lr ?? 2e-3 });
    try {
      const steps = (await lastValueFrom(train(setup).pipe(toArray()))).filter((e): e is StepEvent => e.type === 'step').map((e) => e.loss);
      const k = 4;
      const first = steps.slice(0, k).reduce((a, b) => a + b) / k;
      const last = steps.slice(-k).reduce((a, b) => a + b) / k;
      assert.ok(last < first, `${name}: loss did not fall (${steps.map((v) => v.toFixed(4)).join(', ')})`);
      const batch = (await epochBatches(setup.train, { batchSize: 2, shuffle: false, seed: 0, dropLast: true }, 0).next()).value!;
      const before = tf.memory().numTensors;
      trainStep(setup, batch, 1e-3, Rng.seeded(1));
      assert.equal(tf.memory().numTensors, before);
    } finally {
      setup.model.dispose();
      setup.optimizer.dispose();
    }
  });
}
