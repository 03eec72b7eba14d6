// Multi-scale training (SRN, MSCNN; the original's MultiScalePlainCNN): the input and the
// ground truth become pyramids [x, x/2, x/4, ...] by nearest-neighbour downsampling, the
// model maps the input pyramid to an output pyramid, and the loss sums over scales with equal
// weight. Metrics use the finest output.
import type { Tensor4D } from '../../runtime/index.ts';
import { interpolate } from '../../nn/interpolate.ts';
import { flattenFrames, type Strategy } from '../strategy.ts';

export function pyramid(x: Tensor4D, levels: number): Tensor4D[] {
  const out = [x];
  for (let s = 1; s < levels; s++) out.push(interpolate(x, { scaleFactor: 1 / 2 ** s, mode: 'nearest' }));
  return out;
}

export function multiScale(opts: { numScales: number }): Strategy {
  const n = opts.numScales;
  if (!Number.isInteger(n) || n < 1) throw new Error(`multiScale: numScales must be a positive integer, got ${n}`);
  return {
    name: 'multiScale',
    sizeMultiple: 2 ** (n - 1),
    forward(model, params, input, gt, training) {
      const x = flattenFrames(input);
      const target = flattenFrames(gt);
      const [h, w] = [x.shape[1], x.shape[2]];
      if (h % 2 ** (n - 1) !== 0 || w % 2 ** (n - 1) !== 0) throw new Error(`multiScale: input ${h}x${w} must be divisible by ${2 ** (n - 1)} for ${n} scales`);
      const outs = model.apply(params, pyramid(x, n), { training });
      if (!Array.isArray(outs) || outs.length !== n) throw new Error(`multiScale: model ${model.name} must return ${n} outputs (finest first), got ${Array.isArray(outs) ? outs.length : 'one tensor'}`);
      const gts = pyramid(target, n);
      return outs.map((o, s) => ({ out: o as Tensor4D, gt: gts[s]! }));
    },
  };
}
