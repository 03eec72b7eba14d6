// MSCNN / DeepDeblur (Nah et al. 2017), the original's `MSResNet`: one residual network
// per pyramid level, coarse to fine; each finer level sees its blurry input concatenated with
// the coarser level's output, upsampled ×2 by a convolution + PixelShuffle. Inputs are shifted
// by −0.5 and outputs back by +0.5 (no other mean shift). Takes the pyramid
// `[full, ½, ¼, ...]` and returns the restored pyramid in the same order (fine to coarse).
//
// Differences from the original: `inChannels` and `outChannels` are honoured (the original
// ignores them and hard-codes 3): the coarsest network takes `inChannels`,
// the finer ones `inChannels + outChannels`, and all produce `outChannels`. With 3 and 3 the
// model is the original's. The pyramid is checked up front (number of levels, channels, each
// level exactly half the size of the previous one).
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { chain } from '../nn/chain.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import { NonNegInt, PositiveInt, strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import type * as t from 'io-ts';
import { conv2dLayer } from '../nn/layers.ts';
import { pixelShuffle } from '../nn/shuffle.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';
import { relu } from '../nn/activations.ts';

const options = strict({
  inChannels: PositiveInt,
  numFeats: PositiveInt,
  outChannels: PositiveInt,
  numResblocks: NonNegInt,
  kernelSize: PositiveInt,
  numScales: PositiveInt,
});
export type MscnnOptions = t.TypeOf<typeof options>;

type Fn = (p: Params, x: Tensor) => Tensor;

function conv(s: Scope, cin: number, cout: number, k: number): Fn {
  return conv2dLayer(s, { inChannels: cin, outChannels: cout, kernelSize: k, padding: Math.floor(k / 2) });
}

/** `x + conv(ReLU(conv(x)))`, the convs at `body.0` and `body.2`. */
function resBlock(s: Scope, c: number, k: number): Fn {
  const a = conv(s.child('body').child(0), c, c, k);
  const b = conv(s.child('body').child(2), c, c, k);
  // A scope per block: its intermediates are freed when it returns (the tape keeps what the
  // backward pass reads).
  return (p, x) => tf.tidy(() => tf.add(x, b(p, relu(a(p, x)))));
}

/** One level's network: conv in, resblocks, conv out, all under `body.<i>`. */
function resNet(s: Scope, cin: number, cout: number, o: MscnnOptions): Fn {
  const body = s.child('body');
  const head = conv(body.child(0), cin, o.numFeats, o.kernelSize);
  const blocks = Array.from({ length: o.numResblocks }, (_, i) => resBlock(body.child(i + 1), o.numFeats, o.kernelSize));
  const tail = conv(body.child(o.numResblocks + 1), o.numFeats, cout, o.kernelSize);
  return (p, x) => chain(x, (h) => head(p, h), ...blocks.map((blk) => (h: Tensor) => blk(p, h)), (h) => tail(p, h));
}

/** conv (C→4C) + PixelShuffle(2): a coarse output brought to the next finer size. */
function upConv(s: Scope, c: number, k: number): Fn {
  const c0 = conv(s.child('uppath').child(0), c, 4 * c, k);
  return (p, x) => pixelShuffle(c0(p, x), 2);
}

/** Checks the pyramid: `numScales` images `[B, H/2^s, W/2^s, inChannels]`. */
function checkPyramid(input: ModelInput, o: MscnnOptions): Tensor[] {
  const what = `a list of ${o.numScales} images [B, H/2^s, W/2^s, ${o.inChannels}] (finest first)`;
  if (!Array.isArray(input)) throw new Error(`MSResNet: expected ${what}, got one tensor of shape ${JSON.stringify(input.shape)}`);
  if (input.length !== o.numScales) throw new Error(`MSResNet: expected ${what}, got ${input.length} levels`);
  input.forEach((t, s) => {
    if (t.rank !== 4) throw new Error(`MSResNet: pyramid level ${s} must be [B, H, W, C], got shape ${JSON.stringify(t.shape)}`);
    if (t.shape[3] !== o.inChannels) throw new Error(`MSResNet: pyramid level ${s} has ${t.shape[3]} channels, the model was built for ${o.inChannels}`);
    if (s === 0) return;
    const prev = input[s - 1]!.shape;
    if (t.shape[0] !== prev[0] || t.shape[1]! * 2 !== prev[1] || t.shape[2]! * 2 !== prev[2]) {
      throw new Error(
        `MSResNet: pyramid level ${s} must be exactly half of level ${s - 1} (${JSON.stringify(prev)}), got ${JSON.stringify(t.shape)}; ` +
          `the finest H and W must be multiples of ${2 ** (o.numScales - 1)}`,
      );
    }
  });
  return input;
}

function buildMscnn(o: MscnnOptions, store: ParamStore): Model {
  const r = store.root();
  const last = o.numScales - 1;
  // Index 0 of the original's conv_end_models is an empty slot: the finest level has none.
  const bodies = Array.from({ length: o.numScales }, (_, s) => resNet(r.child('body_models').child(s), s === last ? o.inChannels : o.inChannels + o.outChannels, o.outChannels, o));
  const ups = Array.from({ length: o.numScales }, (_, s) => (s === 0 ? null : upConv(r.child('conv_end_models').child(s), o.outChannels, o.kernelSize)));

  const apply = (p: Params, input: ModelInput): Tensor[] => {
    const pyramid = checkPyramid(input, o).map((t) => tf.sub(t, 0.5));
    const outs: Tensor[] = new Array<Tensor>(o.numScales);
    for (let s = last; s >= 0; s--) {
      const x = s === last ? pyramid[s]! : tf.concat([pyramid[s]!, ups[s + 1]!(p, outs[s + 1]!)], -1);
      outs[s] = bodies[s]!(p, x);
    }
    return outs.map((t) => tf.add(t, 0.5));
  };
  return makeModel('MSResNet', store, apply);
}

/**
 * Model component MSCNN / DeepDeblur MSResNet (Nah et al. 2017): a coarse-to-fine multi-scale residual
 * network on an image pyramid; train it with the `multiScale` strategy.
 */
export const mscnn = defineModel({
  type: 'mscnn',
  sizeMultiple: (o) => 2 ** (o.numScales - 1),
  inference: (o) => ({ strategy: { type: 'multiScale', numScales: o.numScales } }),
  codec: options,
  // The original requires in_channels (and ignores it); 3 is the only value it supports.
  defaults: { inChannels: 3, numFeats: 64, outChannels: 3, numResblocks: 19, kernelSize: 5, numScales: 3 },
  // Padding k//2 keeps the size only for odd kernels.
  check: (p) => (p.kernelSize % 2 === 1 ? [] : [{ path: 'kernelSize', message: `expected an odd number, got ${p.kernelSize}` }]),
  // The original always uses 3 channels in and out, whatever its arguments say.
  original: { className: 'MSResNet', ignored: ['in_channels', 'out_channels'] },
  build: buildMscnn,
  describe: 'MSCNN / DeepDeblur MSResNet (Nah et al. 2017): coarse-to-fine pyramid; use strategy multiScale',
});
