// Optimiser step time: one Adam update of a model's parameters (gradients given), the part of
// a training step after the backward pass. Many small tensors make it dispatch-bound (DBN(16)),
// large ones memory-bound (NAFNet-GoPro).
import { tf } from '../runtime/index.ts';
import type { Model } from '../models/model.ts';
import { dbn } from '../models/dbn.ts';
import { adam } from '../optim/adam.ts';
import { modelBenchCases } from './models.ts';
import { median } from './timing.ts';
import { round } from './conv.ts';

export interface OptimBenchRow {
  readonly bench: 'optim';
  readonly optimizer: 'adam';
  readonly model: string;
  readonly tensors: number;
  readonly params: number;
  /** Median ms per `step` over `runs` timings of `steps` steps each. */
  readonly ms: number;
}

/** A full-size model of the models suite (both are bare models). */
function fullSize(name: string): () => Model {
  const c = modelBenchCases.find((m) => m.name === name);
  if (!c) throw new Error(`optim bench: no model bench case '${name}'`);
  return () => {
    const built = c.build();
    return 'run' in built ? built.model : built;
  };
}

const cases: ReadonlyArray<readonly [string, () => Model]> = [
  // The quickstart's DBN: many small tensors.
  ['DBN(16)', () => dbn.create({ numFrames: 5, inChannels: 3, innerChannels: 16 }, 0)],
  ['DBN', fullSize('dbn')],
  ['NAFNet-GoPro', fullSize('nafnet-w64')],
];

export function* optimBenchRows(opts: { runs?: number; steps?: number } = {}): Generator<OptimBenchRow> {
  const runs = opts.runs ?? 3;
  const steps = opts.steps ?? 10;
  for (const [name, build] of cases) {
    const model = build();
    const params = Object.values(model.params);
    const grads = Object.fromEntries(Object.entries(model.params).map(([k, p], i) => [k, tf.randomNormal(p.shape, 0, 1e-3, 'float32', i + 1)]));
    const opt = adam({ betas: [0.9, 0.99] });
    try {
      const sync = () => params[0]!.dataSync();
      opt.step(model.params, grads, 1e-4); // creates the moments
      sync();
      const times: number[] = [];
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        for (let s = 0; s < steps; s++) opt.step(model.params, grads, 1e-4);
        sync();
        times.push((performance.now() - t0) / steps);
      }
      yield { bench: 'optim', optimizer: 'adam', model: name, tensors: params.length, params: params.reduce((a, p) => a + p.size, 0), ms: round(median(times)) };
    } finally {
      opt.dispose();
      tf.dispose(Object.values(grads));
      model.dispose();
    }
  }
}
