// PVDNet training (the original's PVDNetArch, with its loss fixed): frames are mapped to
// [-1, 1]; the model restores frame i from frames i-1..i+1 and its own previous output
// (frame 0's "previous output" is the blurry frame 0), and the batch is optimised after each
// frame. The loss compares output and ground truth both in [-1, 1] (the original compared
// [-1, 1] outputs with [0, 1] targets); metrics see [0, 1]. Frames 0 and T-1 have no
// prediction, so a clip of T frames yields T-2 results.
import { tf } from '../../runtime/index.ts';
import type { Tensor, Tensor4D } from '../../runtime/index.ts';
import type { Model, Params } from '../../models/model.ts';
import { frameAt, type Pair, type Strategy } from '../strategy.ts';

/** Frames at each end of a clip that are neighbours only (no prediction). */
const CONTEXT = 1;

const toSigned = (x: Tensor): Tensor => tf.sub(tf.mul(x, 2), 1);
const toUnit = (x: Tensor): Tensor4D => tf.div(tf.add(x, 1), 2) as Tensor4D;

function checkClips(input: Tensor, gt: Tensor): number {
  if (input.rank !== 5) throw new Error(`pvdnetRecurrent: input must be a clip [B, T, H, W, 3], got shape [${input.shape.join(',')}]`);
  if (gt.shape.join(',') !== input.shape.join(',')) throw new Error(`pvdnetRecurrent: ground truth [${gt.shape.join(',')}] must have the input's shape [${input.shape.join(',')}] (sampling n_n)`);
  const t = input.shape[1]!;
  if (t < 3) throw new Error(`pvdnetRecurrent: clips need at least 3 frames (frames 1..T-2 are restored), got ${t}`);
  return t - 2;
}

/** Restores frame `i` (1..T-2) of a [-1, 1] clip given the previous restored frame. */
function restore(model: Model, params: Params, signed: Tensor, i: number, prev: Tensor, training: boolean): Tensor4D {
  const [b, , h, w, c] = signed.shape as [number, number, number, number, number];
  const window = tf.slice(signed, [0, i - 1, 0, 0, 0], [b, 3, h, w, c]);
  return model.apply(params, [window, prev], { training }) as Tensor4D;
}

export const pvdnetRecurrent: Strategy = {
  name: 'pvdnetRecurrent',
  context: CONTEXT,
  forward(model, params, input, gt, training) {
    const n = checkClips(input, gt);
    const signed = toSigned(input);
    const outs: Tensor4D[] = [];
    let prev: Tensor = frameAt(signed, 0);
    for (let i = 1; i <= n; i++) {
      prev = restore(model, params, signed, i, prev, training);
      outs.push(toUnit(prev));
    }
    const [b, t, h, w, c] = gt.shape as [number, number, number, number, number];
    // Sample-major like the ground truth: [B, T-2, ...] flattened.
    const out = tf.reshape(tf.stack(outs, 1), [b * n, h, w, c]) as Tensor4D;
    const target = tf.reshape(tf.slice(gt, [0, 1, 0, 0, 0], [b, t - 2, h, w, c]), [b * n, h, w, c]) as Tensor4D;
    const pair: Pair = { out, gt: target, frames: [CONTEXT, t - CONTEXT] };
    return [pair];
  },
  recurrence: {
    steps: checkClips,
    step(model, params, input, gt, step, carry) {
      const signed = toSigned(input);
      const i = step + 1;
      const prev = step === 0 ? frameAt(signed, 0) : carry[0]!;
      const out = restore(model, params, signed, i, prev, true);
      return { pairs: [{ out, gt: toSigned(frameAt(gt, i)) as Tensor4D }], carry: [out] };
    },
  },
};
