// SRN, scale-recurrent network (Tao et al. 2018), the original's `SRN`: one encoder-
// decoder, shared by all pyramid levels, run coarse to fine; each level sees its blurry image
// next to the previous (coarser) estimate upsampled ×2, and a ConvLSTM at the bottleneck carries
// state from level to level. All convolutions are 5×5. Takes the pyramid `[full, ½, ¼, ...]`
// and returns the restored pyramid in the same order (fine to coarse); no input residual.
//
// Differences from the original:
// - `withLstm` is honoured: false removes the ConvLSTM (the bottleneck features go straight to
//   the decoder). The original ignores the flag and always uses the LSTM.
// - `lstmOutput` chooses what the decoder reads from the LSTM: 'hidden' (the paper's h, the
//   default here) or 'cell' (the cell state c, which the original decodes by mistake; models
//   built from the original's class and arguments get 'cell', so its weights load and
//   reproduce its outputs).
// - The image has inChannels/2 channels (the original hard-codes a 3-channel output, so only
//   inChannels 6 works there), and the pyramid is checked up front.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import { Bool, oneOf, PositiveInt, strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import type * as t from 'io-ts';
import { conv2dLayer, convTranspose2dLayer } from '../nn/layers.ts';
import { convLstmCellLayer, convLstmZeroState } from '../nn/convlstm.ts';
import type { ConvLstmState } from '../nn/convlstm.ts';
import { interpolate } from '../nn/interpolate.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';
import { relu } from '../nn/activations.ts';

const options = strict({
  // Channels of the network input: the image and the previous estimate, concatenated.
  inChannels: PositiveInt,
  innerChannels: PositiveInt,
  numLevels: PositiveInt,
  withLstm: Bool,
  // What the decoder reads from the ConvLSTM: the hidden state (the paper's) or the cell state.
  lstmOutput: oneOf('hidden', 'cell'),
});
export type SrnOptions = t.TypeOf<typeof options>;

type Fn = (p: Params, x: Tensor) => Tensor;

const K = 5;

function conv(s: Scope, cin: number, cout: number, stride = 1): Fn {
  return conv2dLayer(s, { inChannels: cin, outChannels: cout, kernelSize: K, stride, padding: 2 });
}

/** Three `x + conv2(ReLU(conv1(x)))` blocks under `<scope>.resblocks`. */
function resblocks(s: Scope, c: number): Fn {
  const list = [0, 1, 2].map((i) => {
    const rb = s.child('resblocks').child(i);
    const c1 = conv(rb.child('conv1'), c, c);
    const c2 = conv(rb.child('conv2'), c, c);
    return (p: Params, x: Tensor): Tensor => tf.add(x, c2(p, relu(c1(p, x))));
  });
  return (p, x) => list.reduce((h, f) => f(p, h), x);
}

/** Encoder block: stride-2 conv + ReLU, then resblocks. */
function eBlock(s: Scope, cin: number, cout: number): Fn {
  const down = conv(s.child('down_conv'), cin, cout, 2);
  const rbs = resblocks(s, cout);
  return (p, x) => rbs(p, relu(down(p, x)));
}

/** Decoder block: resblocks, then 4×4 stride-2 transposed conv + ReLU. */
function dBlock(s: Scope, cin: number, cout: number): Fn {
  const rbs = resblocks(s, cin);
  const up = convTranspose2dLayer(s.child('up_conv'), { inChannels: cin, outChannels: cout, kernelSize: 4, stride: 2, padding: 1 });
  return (p, x) => relu(up(p, rbs(p, x)));
}

/** Checks the pyramid: `numLevels` images, each exactly half the previous, coarsest H, W % 4 == 0. */
function checkPyramid(input: ModelInput, o: SrnOptions, imgChannels: number): Tensor[] {
  const mult = 4 * 2 ** (o.numLevels - 1);
  const what = `a list of ${o.numLevels} images [B, H/2^s, W/2^s, ${imgChannels}] (finest first, H and W multiples of ${mult})`;
  if (!Array.isArray(input)) throw new Error(`SRN: expected ${what}, got one tensor of shape ${JSON.stringify(input.shape)}`);
  if (input.length !== o.numLevels) throw new Error(`SRN: expected ${what}, got ${input.length} levels`);
  input.forEach((t, s) => {
    if (t.rank !== 4) throw new Error(`SRN: pyramid level ${s} must be [B, H, W, C], got shape ${JSON.stringify(t.shape)}`);
    if (t.shape[3] !== imgChannels) throw new Error(`SRN: pyramid level ${s} has ${t.shape[3]} channels, the model was built for ${imgChannels}`);
    if (s > 0) {
      const prev = input[s - 1]!.shape;
      if (t.shape[0] !== prev[0] || t.shape[1]! * 2 !== prev[1] || t.shape[2]! * 2 !== prev[2]) {
        throw new Error(`SRN: pyramid level ${s} must be exactly half of level ${s - 1} (${JSON.stringify(prev)}), got ${JSON.stringify(t.shape)}`);
      }
    }
  });
  const [, h, w] = input[input.length - 1]!.shape;
  if (h! % 4 !== 0 || w! % 4 !== 0) throw new Error(`SRN: the coarsest level must have H and W multiples of 4 (two stride-2 encoders), got ${h}x${w}; expected ${what}`);
  return input;
}

function buildSrn(o: SrnOptions, store: ParamStore): Model {
  const c = o.innerChannels;
  const img = o.inChannels / 2;
  const r = store.root();
  const inConv = conv(r.child('in_block').child('in_conv'), o.inChannels, c);
  const inRes = resblocks(r.child('in_block'), c);
  const eblock1 = eBlock(r.child('eblock1'), c, 2 * c);
  const eblock2 = eBlock(r.child('eblock2'), 2 * c, 4 * c);
  const lstm = o.withLstm ? convLstmCellLayer(r.child('conv_lstm'), { inputChannels: 4 * c, hiddenChannels: 4 * c, kernelSize: K }) : null;
  const dblock1 = dBlock(r.child('dblock1'), 4 * c, 2 * c);
  const dblock2 = dBlock(r.child('dblock2'), 2 * c, c);
  const outRes = resblocks(r.child('out_block'), c);
  const outConv = conv(r.child('out_block').child('out_conv'), c, img);

  const apply = (p: Params, input: ModelInput): Tensor[] => {
    const pyramid = checkPyramid(input, o, img);
    const last = o.numLevels - 1;
    const [b, hc, wc] = pyramid[last]!.shape as [number, number, number, number];
    let state: ConvLstmState | null = lstm === null ? null : convLstmZeroState(b, hc / 4, wc / 4, 4 * c);
    const outs: Tensor[] = new Array<Tensor>(o.numLevels);
    for (let s = last; s >= 0; s--) {
      const x = pyramid[s]!;
      const prev = s === last ? x : interpolate(outs[s + 1]!, { scaleFactor: 2, mode: 'nearest' });
      const e0 = inRes(p, relu(inConv(p, tf.concat([x, prev], -1))));
      const e1 = eblock1(p, e0);
      const e2 = eblock2(p, e1);
      let bottleneck = e2;
      if (lstm !== null && state !== null) {
        state = lstm(p, e2, state);
        bottleneck = o.lstmOutput === 'cell' ? state.c : state.h;
      }
      const d1 = dblock1(p, bottleneck);
      const d2 = dblock2(p, tf.add(d1, e1));
      outs[s] = outConv(p, outRes(p, tf.add(d2, e0)));
      if (state !== null && s > 0) {
        const up = (t: Tensor): Tensor => interpolate(t, { scaleFactor: 2, mode: 'bilinear', alignCorners: false });
        state = { h: up(state.h), c: up(state.c) };
      }
    }
    return outs;
  };
  return makeModel('SRN', store, apply);
}

/**
 * Model component SRN (Tao et al. 2018): a scale-recurrent encoder-decoder run coarse to fine on an
 * image pyramid; train it with the `multiScale` strategy.
 */
export const srn = defineModel({
  type: 'srn',
  // The coarsest level goes through two stride-2 encoders.
  sizeMultiple: (o) => 4 * 2 ** (o.numLevels - 1),
  // Pyramids in and out, one scale per level.
  inference: (o) => ({ strategy: { type: 'multiScale', numScales: o.numLevels } }),
  codec: options,
  // The original constructor's, with the paper's LSTM output.
  defaults: { inChannels: 6, innerChannels: 32, numLevels: 3, withLstm: true, lstmOutput: 'hidden' },
  // The input is the image next to the previous estimate, both of inChannels/2 channels.
  check: (p) => (p.inChannels % 2 === 0 ? [] : [{ path: 'inChannels', message: `expected an even number (image + previous estimate), got ${p.inChannels}` }]),
  // The original always builds the LSTM, whatever with_lstm says.
  original: { className: 'SRN', fixed: { lstmOutput: 'cell' }, ignored: ['with_lstm'] },
  build: buildSrn,
  describe: "SRN (Tao et al. 2018): scale-recurrent network; use strategy multiScale; lstmOutput 'cell' loads the original's weights",
});
