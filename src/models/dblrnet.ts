// DBLRNet, the generator of "Adversarial Spatio-Temporal Learning for Video Deblurring"
// (Zhang et al. 2018). Two 3×3×3 convolutions (temporally unpadded, so each output
// time step sees 5 input frames) fuse the clip, then 15 residual blocks (conv-BN-ReLU-conv-BN)
// with a long skip, and three convolutions reconstruct the frame. No residual to the input.
//
// Differences from the original: the original flattens the 3-D features
// into channels, which only works when the clip has exactly 5 frames (any other count crashes
// in the first 2-D convolution). Here each of the T−4 temporal outputs of the 3-D stage goes
// through the 2-D stages on its own (time folded into the batch), so a clip of T ≥ 5 frames
// gives T−4 restored frames: `[B, H, W, 3]` for T = 5 (identical to the original) and
// `[B, T−4, H, W, 3]` otherwise. The input must have `numFrames` frames (the original ignores
// that argument), and shapes are checked up front.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { chain } from '../nn/chain.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import { PositiveInt, strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import type * as t from 'io-ts';
import { batchNormLayer, conv2dLayer } from '../nn/layers.ts';
import { conv3dLayer } from '../nn/conv3d.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';
import { relu } from '../nn/activations.ts';

const options = strict({
  // Frames per input clip; at least 5 (the 3-D stage consumes 4).
  numFrames: PositiveInt,
  inChannels: PositiveInt,
  innerChannels: PositiveInt,
});
export type DblrnetOptions = t.TypeOf<typeof options>;

/** Residual blocks in the 2-D trunk (fixed in the original). */
const LAYER_COUNT = 15;
/** Input frames consumed by the two temporally unpadded 3×3×3 convolutions. */
const TEMPORAL_SHRINK = 4;

type Fn = (p: Params, x: Tensor, training: boolean) => Tensor;

/** `x + BN(conv(ReLU(BN(conv(x)))))`; `convs.{0,1,3,4}` as in the original nn.Sequential. */
function resBlock(s: Scope, c: number): Fn {
  const conv = (i: number) => conv2dLayer(s.child(i), { inChannels: c, outChannels: c, kernelSize: 3, padding: 1 });
  const c1 = conv(0);
  const bn1 = batchNormLayer(s.child(1), { channels: c });
  const c2 = conv(3);
  const bn2 = batchNormLayer(s.child(4), { channels: c });
  // A scope per block: its intermediates are freed when it returns (the tape keeps what the
  // backward pass reads).
  return (p, x, training) => tf.tidy(() => tf.add(bn2(p, c2(p, relu(bn1(p, c1(p, x), training))), training), x));
}

function buildDblrnet(opts: DblrnetOptions, store: ParamStore): Model {
  const { numFrames, inChannels, innerChannels: c } = opts;
  const root = store.root();
  const lIn = root.child('L_in');
  const in0 = conv3dLayer(lIn.child(0), { inChannels, outChannels: 16, kernelSize: 3, padding: [0, 1, 1] });
  const in2 = conv3dLayer(lIn.child(2), { inChannels: 16, outChannels: c, kernelSize: 3, padding: [0, 1, 1] });
  const ln = Array.from({ length: LAYER_COUNT }, (_, i) => resBlock(root.child('Ln').child(i).child('convs'), c));
  const lOut = root.child('L_out');
  const out0 = conv2dLayer(lOut.child(0), { inChannels: c, outChannels: 4 * c, kernelSize: 3, padding: 1 });
  const out2 = conv2dLayer(lOut.child(2), { inChannels: 4 * c, outChannels: 4 * c, kernelSize: 3, padding: 1 });
  const out4 = conv2dLayer(lOut.child(4), { inChannels: 4 * c, outChannels: 3, kernelSize: 3, padding: 1 });

  const apply = (p: Params, input: ModelInput, { training }: { readonly training: boolean }): Tensor => {
    if (Array.isArray(input)) throw new Error('DBLRNet: expected one clip tensor [B, T, H, W, C], got a list');
    if (input.rank !== 5) throw new Error(`DBLRNet: input must be a clip [B, T, H, W, C], got shape ${JSON.stringify(input.shape)}`);
    const [b, t, h, w, ch] = input.shape as [number, number, number, number, number];
    if (t !== numFrames) throw new Error(`DBLRNet: input has ${t} frames, the model was built for ${numFrames}`);
    if (ch !== inChannels) throw new Error(`DBLRNet: input has ${ch} channels, the model was built for ${inChannels}`);
    const m = t - TEMPORAL_SHRINK;
    const l2 = relu(in2(p, relu(in0(p, input)))).reshape([b * m, h, w, c]);
    const trunk = chain(l2, ...ln.map((blk) => (h: Tensor) => blk(p, h, training)));
    const y = out4(p, relu(out2(p, relu(out0(p, tf.add(trunk, l2))))));
    return m === 1 ? y : y.reshape([b, m, h, w, 3]);
  };
  return makeModel('DBLRNet', store, apply);
}

/**
 * Model component DBLRNet, the generator of "Adversarial Spatio-Temporal Learning for Video
 * Deblurring" (Zhang et al. 2018): 3-D convolutions then residual blocks, T ≥ 5 input frames to T−4
 * output frames.
 */
export const dblrnet = defineModel({
  type: 'dblrnet',
  codec: options,
  // The original's constructor has no defaults; these are its DVD configuration.
  defaults: { numFrames: 5, inChannels: 3, innerChannels: 64 },
  check: (p) =>
    p.numFrames > TEMPORAL_SHRINK
      ? []
      : [{ path: 'numFrames', message: `expected at least ${TEMPORAL_SHRINK + 1} (two 3-frame temporal convolutions without padding), got ${p.numFrames}` }],
  original: { className: 'DBLRNet' },
  build: buildDblrnet,
  describe: 'DBLRNet (Zhang et al. 2018): 3-D convolutions then residual blocks; T ≥ 5 frames to T−4',
});
