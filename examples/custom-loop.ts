// A custom training loop, composed by hand from the library's pieces: live objects instead of
// an experiment value, and the hooks chosen and ordered explicitly, plus one of our own.
//
//   npx tsx examples/custom-loop.ts [--iterations 60] [--work-dir work_dirs/custom-loop]
import { parseArgs } from 'node:util';
import { lastValueFrom, tap } from 'rxjs';
import { models, strategies, buildComponent, train, trainSetup, hooks, type Strategy } from 'simdeblur';
import { syntheticDataset } from 'simdeblur/data';
import { adam, multiStep } from 'simdeblur/optim';
import { charbonnier, l1 } from 'simdeblur/losses';

const { checkpoints, jsonlLog, progress, stopOnNaN, validate } = hooks;

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '60' }, 'work-dir': { type: 'string', default: 'work_dirs/custom-loop' } } });
const iterations = Number(values.iterations);
const seed = 7;

// Released when the module's top level finishes (model, optimiser state).
await using setup = trainSetup({
  experiment: { note: 'built by hand in examples/custom-loop.ts', iterations, seed },
  name: 'custom-loop',
  seed,
  workDir: values['work-dir']!,
  model: models.dbn.create({ numFrames: 5, inChannels: 3, innerChannels: 8 }, seed),
  strategy: buildComponent<Strategy>('strategy', strategies.singleScale()),
  // Two terms: the weights and names show up in the logs.
  loss: [
    { name: 'charbonnier', weight: 1, fn: charbonnier({ reduction: 'mean' }) },
    { name: 'l1', weight: 0.5, fn: l1() },
  ],
  optimizer: adam({ betas: [0.9, 0.999] }),
  lr: multiStep({ milestones: [Math.floor(iterations * 0.75)], gamma: 0.5 })(2e-3),
  lrUnit: 'iteration',
  train: syntheticDataset({ videos: 4, samplesPerVideo: 4, height: 32, width: 32, seed: 1 }, 'train'),
  val: syntheticDataset({ videos: 2, samplesPerVideo: 2, height: 32, width: 32, seed: 2 }, 'val'),
  batchSize: 4,
  valBatchSize: 2,
  run: { unit: 'iteration', length: iterations },
});

let best = -Infinity;
const last = await lastValueFrom(
  train(setup).pipe(
    // Periods count the run's unit, here iterations.
    validate({ every: Math.max(1, Math.floor(iterations / 2)) }),
    // Our own hook: remember the best validation PSNR.
    tap((ev) => {
      if (ev.type === 'validation') best = Math.max(best, ev.psnr);
    }),
    checkpoints({ every: iterations, keepLast: 1, keepBest: false }),
    stopOnNaN(),
    jsonlLog({ every: 10 }),
    progress({ every: 10 }),
  ),
);
console.log(JSON.stringify({ end: last.type, iteration: last.iteration, bestPsnr: best }));
