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
import { dblrnet } from '../src/models/dblrnet.ts';
import { strcnn } from '../src/models/strcnn.ts';
import { ifirnn } from '../src/models/ifirnn.ts';
import { estrnn } from '../src/models/estrnn.ts';
import { mscnn } from '../src/models/mscnn.ts';
import { srn } from '../src/models/srn.ts';
import { mimoUnet } from '../src/models/mimounet.ts';
import { restormer } from '../src/models/restormer.ts';
import { nafnet } from '../src/models/nafnet.ts';
import { edvr } from '../src/models/edvr.ts';
import { cdvdTsp } from '../src/models/cdvd-tsp.ts';
import { stfan } from '../src/models/stfan.ts';
import { pvdnet } from '../src/models/pvdnet.ts';
import { withoutFlowWarning } from './helpers/fixtures.ts';
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
  dblrnet: { build: () => dblrnet.create({ innerChannels: 8 }, 1), strategy: singleScale, frames: 5, gt: 1 },
  strcnn: { build: () => strcnn.create({ innerChannels: 8, encoderBlocks: 1, decoderBlocks: 1 }, 1), strategy: singleScale, frames: 6, gt: 2 },
  ifirnn: { build: () => ifirnn.create({ innerChannels: 4, intraIters: 1 }, 1), strategy: singleScale, frames: 3, gt: 'all' },
  estrnn: { build: () => estrnn.create({ nFeatures: 4, nBlocks: 1, pastFrames: 1, futureFrames: 1 }, 1), strategy: singleScale, frames: 4, gt: 2 },
  mscnn: { build: () => mscnn.create({ numFeats: 8, numResblocks: 1 }, 1), strategy: multiScale({ numScales: 3 }), frames: 1, gt: 1 },
  srn: { build: () => srn.create({ innerChannels: 8 }, 1), strategy: multiScale({ numScales: 3 }), frames: 1, gt: 1 },
  mimoUnet: { build: () => mimoUnet.create({ numRes: 1 }, 1), strategy: mimo({ fftWeight: 0.1 }), frames: 1, gt: 1 },
  restormer: { build: () => restormer.create({ dim: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 1, 2, 2] }, 1), strategy: singleScale, frames: 1, gt: 1 },
  nafnet: { build: () => nafnet.create({ imgChannels: 3, width: 8, middleBlkNum: 1, encBlkNums: [1, 1], decBlkNums: [1, 1] }, 1), strategy: singleScale, frames: 1, gt: 1 },
  edvr: { build: () => edvr.create({ numFeat: 8, numFrame: 3, deformableGroups: 2, numExtractBlock: 1, numReconstructBlock: 1, centerFrameIdx: 1, hrIn: true, withPredeblur: true, withTsa: true }, 1), strategy: singleScale, frames: 3, gt: 1 },
  stfan: { build: () => stfan.create({}, 1), strategy: stfanRecurrent, frames: 3, gt: 'all', lr: 1e-4 },
  pvdnet: { build: () => withoutFlowWarning(() => pvdnet.create({}, 1)), strategy: pvdnetRecurrent, frames: 4, gt: 'all', size: 64, iterations: 10 },
  cdvdTsp: { build: () => withoutFlowWarning(() => cdvdTsp.create({ nResblock: 1, nFeat: 4, isMaskFilter: true }, 1)), strategy: singleScale, frames: 5, gt: 1, size: 64, iterations: 10 },
};

for (const [name, c] of Object.entries(cases)) {
  test(`${name} trains through the engine: the loss falls and a step leaks no tensors`, async () => {
    const size = c.size ?? 32;
    const data = (seed: number) => syntheticDataset({ videos: 2, samplesPerVideo: 2, numFrames: c.frames, gtFrames: c.gt, height: size, width: size, seed }, 'train');
    await using setup = smallSetup({ model: c.build(), strategy: c.strategy, train: data(3), val: undefined, run: { unit: 'iteration', length: c.iterations ?? 16 }, lr: () => c.lr ?? 2e-3 });
    const steps = (await lastValueFrom(train(setup).pipe(toArray()))).filter((e): e is StepEvent => e.type === 'step').map((e) => e.loss);
    const k = 4;
    const first = steps.slice(0, k).reduce((a, b) => a + b) / k;
    const last = steps.slice(-k).reduce((a, b) => a + b) / k;
    assert.ok(last < first, `${name}: loss did not fall (${steps.map((v) => v.toFixed(4)).join(', ')})`);
    const batch = (await epochBatches(setup.train, { batchSize: 2, shuffle: false, seed: 0, dropLast: true }, 0).next()).value!;
    const before = tf.memory().numTensors;
    trainStep(setup, batch, 1e-3, Rng.seeded(1));
    assert.equal(tf.memory().numTensors, before);
  });
}
