// How long a training step waits for data: DBN (full size) trained on 1280x720 PNG frames
// through the parallel loader, batch 8 x 5 frames x 256², with the recipes' augmentation.
// The wait is the time between asking the loader for the next batch and getting it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dbn } from '../models/dbn.ts';
import { adam } from '../optim/adam.ts';
import { charbonnier } from '../losses/index.ts';
import { singleScale } from '../engine/strategy.ts';
import { trainStep } from '../engine/step.ts';
import { trainSetup, type TrainSetupParts } from '../engine/setup.ts';
import { openParallelLoader } from '../data/parallel-loader.ts';
import { Rng } from '../util/rng.ts';
import { goproBenchSource, makeFrames } from './loader.ts';
import { round } from './conv.ts';

export async function* dataWaitRows(opts: { workers?: number; steps?: number; batchSize?: number } = {}): AsyncGenerator<Record<string, unknown>> {
  const workers = opts.workers ?? 2;
  const steps = opts.steps ?? 3;
  const batchSize = opts.batchSize ?? 8;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'simdeblur-datawait-'));
  const loader = await (async () => {
    await makeFrames(root, 4 + batchSize * 2);
    return openParallelLoader(goproBenchSource(root, 5, 256), { workers });
  })();
  // Only the parts a training step reads, plus the loader, so that disposing the setup releases all.
  const setup = trainSetup({
    model: dbn.create({ numFrames: 5, inChannels: 3, innerChannels: 64 }, 0),
    strategy: singleScale,
    loss: [{ name: 'charbonnier', weight: 1, fn: charbonnier() }],
    optimizer: adam(),
    close: () => loader.close(),
  } as unknown as TrainSetupParts);
  try {
    let waited = 0;
    let stepped = 0;
    let done = -1; // the first step warms up and is not counted
    for (let epoch = 0; done < steps; epoch++) {
      const batches = loader.batches({ batchSize, shuffle: true, seed: 0, dropLast: true }, epoch);
      let t0 = performance.now();
      for await (const batch of batches) {
        const t1 = performance.now();
        trainStep(setup, batch, 1e-4, Rng.seeded(epoch));
        const t2 = performance.now();
        if (done >= 0) {
          waited += t1 - t0;
          stepped += t2 - t1;
        }
        if (++done >= steps) break;
        t0 = performance.now();
      }
    }
    yield {
      bench: 'data-wait',
      model: 'dbn',
      workers,
      batch: [batchSize, 5, 256, 256, 3],
      frames: '1280x720 png',
      steps,
      stepS: round(stepped / steps / 1000, 3),
      waitS: round(waited / steps / 1000, 4),
      overheadPct: round((100 * waited) / stepped, 2),
    };
  } finally {
    await setup.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
