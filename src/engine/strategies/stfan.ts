// STFAN training (the original's STFANRNNArch): the cell runs frame by frame and the batch is
// optimised after every frame; the next frame starts from the restored frame and the fused
// features of this one, without their gradient. Evaluation runs the whole clip at once.
import type { Tensor } from '../../runtime/index.ts';
import type { Model } from '../../models/model.ts';
import type { StfanModel } from '../../models/stfan.ts';
import { flattenFrames, frameAt, type Strategy } from '../strategy.ts';

function asStfan(model: Model): StfanModel {
  if (typeof (model as Partial<StfanModel>).cell !== 'function') throw new Error(`stfanRecurrent: model ${model.name} has no recurrent cell (use model type 'stfan')`);
  return model as StfanModel;
}

function checkClips(input: Tensor, gt: Tensor): number {
  if (input.rank !== 5) throw new Error(`stfanRecurrent: input must be a clip [B, T, H, W, 3], got shape [${input.shape.join(',')}]`);
  if (gt.shape.join(',') !== input.shape.join(',')) throw new Error(`stfanRecurrent: ground truth [${gt.shape.join(',')}] must have the input's shape [${input.shape.join(',')}] (one sharp frame per blurry frame: sampling n_n)`);
  return input.shape[1]!;
}

export const stfanRecurrent: Strategy = {
  name: 'stfanRecurrent',
  forward(model, params, input, gt) {
    checkClips(input, gt);
    return [{ out: flattenFrames(asStfan(model).apply(params, input, { training: false }) as Tensor), gt: flattenFrames(gt) }];
  },
  recurrence: {
    steps: checkClips,
    step(model, params, input, gt, i, carry) {
      const blur = frameAt(input, i);
      const [lastOutput, lastFeature] = i === 0 ? [blur, null] : (carry as [Tensor, Tensor]);
      const r = asStfan(model).cell(params, { blur, lastBlur: frameAt(input, Math.max(0, i - 1)), lastOutput, lastFeature });
      return { pairs: [{ out: r.output, gt: frameAt(gt, i) }], carry: [r.output, r.feature] };
    },
  },
};
