// MIMO-UNet training: the model returns [¼, ½, full] restorations; each is compared with the
// ground truth downsampled bilinearly to its size, in the image domain and — as the paper
// means it — in the 2-D frequency domain (rfft2, real and imaginary parts), the latter with
// weight `fftWeight` (0.1 in the paper; the original SimDeblur effectively used 1.0 with a
// 1-D FFT along the height). Metrics use the full-resolution output.
import type { Tensor4D } from '../../runtime/index.ts';
import { interpolate } from '../../nn/interpolate.ts';
import { flattenFrames, type Pair, type Strategy } from '../strategy.ts';
import { rfft2 } from './fft.ts';

export function mimo(opts: { fftWeight: number }): Strategy {
  if (!(opts.fftWeight >= 0)) throw new Error(`mimo: fftWeight must be >= 0, got ${opts.fftWeight}`);
  return {
    name: 'mimo',
    forward(model, params, input, gt, training) {
      const outs = model.apply(params, input, { training });
      if (!Array.isArray(outs) || outs.length !== 3) throw new Error(`mimo: model ${model.name} must return [quarter, half, full] outputs`);
      const [o4, o2, o1] = outs as [Tensor4D, Tensor4D, Tensor4D];
      const g1 = flattenFrames(gt);
      const g2 = interpolate(g1, { scaleFactor: 0.5, mode: 'bilinear', alignCorners: false });
      const g4 = interpolate(g1, { scaleFactor: 0.25, mode: 'bilinear', alignCorners: false });
      const spatial: Pair[] = [
        { out: o1, gt: g1 },
        { out: o2, gt: g2 },
        { out: o4, gt: g4 },
      ];
      const frequency: Pair[] = opts.fftWeight === 0 ? [] : spatial.map((p) => ({ out: rfft2(p.out), gt: rfft2(p.gt), weight: opts.fftWeight }));
      return [...spatial, ...frequency];
    },
  };
}
