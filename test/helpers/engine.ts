// A small, fast training setup for engine tests: DBN(5, 3, 8) on 32x32 synthetic clips.
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { dbn } from '../../src/models/dbn.ts';
import { adam } from '../../src/optim/adam.ts';
import { charbonnier } from '../../src/losses/index.ts';
import { singleScale } from '../../src/engine/strategy.ts';
import { trainSetup, type TrainSetup, type TrainSetupParts } from '../../src/engine/setup.ts';
import { datasets, experiment, losses, models, optim } from '../../src/index.ts';

// Removed when the test process exits, passed or failed: training runs leave checkpoints of
// up to hundreds of MB each, and a suite run would otherwise fill the temporary folder.
const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'simdeblur-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function smallSetup(overrides: Partial<TrainSetupParts> = {}): TrainSetup {
  const seed = overrides.seed ?? 1;
  return trainSetup({
    experiment: { name: 'engine-test', seed },
    name: 'engine-test',
    seed,
    workDir: overrides.workDir ?? tempDir(),
    // Built only when not given, so an override leaves nothing behind.
    model: overrides.model ?? dbn.create({ numFrames: 5, inChannels: 3, innerChannels: 8 }, seed),
    strategy: singleScale,
    loss: [{ name: 'charbonnier', weight: 1, fn: charbonnier({ reduction: 'mean' }) }],
    optimizer: adam(),
    lr: () => 2e-3,
    lrUnit: 'epoch',
    train: syntheticDataset({ videos: 2, samplesPerVideo: 4, numFrames: 5, height: 32, width: 32, seed: 11 }, 'train'),
    val: syntheticDataset({ videos: 2, samplesPerVideo: 2, numFrames: 5, height: 32, width: 32, seed: 99 }, 'val'),
    batchSize: 2,
    valBatchSize: 2,
    run: { unit: 'iteration', length: 8 },
    ...overrides,
  });
}

/**
 * A small experiment value (tiny DBN on synthesised clips, validation and a checkpoint every 3
 * iterations) for runs through fit(); extend it with `experiment({ ...tinyExperiment(6), ... })`.
 */
export const tinyExperiment = (iterations: number, name = 'fit-test') =>
  experiment({
    name,
    seed: 3,
    data: {
      train: datasets.synthetic({ videos: 2, samplesPerVideo: 4, height: 32, width: 32, seed: 11 }),
      val: datasets.synthetic({ videos: 2, samplesPerVideo: 1, height: 32, width: 32, seed: 12 }),
      batchSize: 2,
    },
    model: models.dbn({ innerChannels: 8 }),
    loss: losses.charbonnier({ reduction: 'mean' }),
    optimizer: optim.adam({ lr: 2e-3 }),
    run: { iterations },
    validation: { every: 3 },
    checkpoint: { every: 3, keepLast: 2 },
    log: { every: 2 },
  });
