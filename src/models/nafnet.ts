// NAFNet (Chen et al. 2022): a U-Net of NAFBlocks (LayerNorm, gated depthwise
// convolutions and simplified channel attention, no nonlinear activations), predicting a
// residual added to the input. The input is zero-padded on the right/bottom to a multiple of
// 2^levels and the output cropped back, as the original does.
//
// Differences from the original: none in the computation (dropout is 0 there and is not
// implemented here). A 5-D input must have exactly one frame. With the `tlc` option the channel
// attention pools over a local window instead of the whole map (the test-time local converter,
// as the original's NAFNetLocal; see tlc-ops.ts).
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { getParam } from '../nn/params.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import { arrayOf, NonNegInt, PositiveInt, strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import type * as t from 'io-ts';
import { conv2dLayer, layerNorm2dLayer } from '../nn/layers.ts';
import { pixelShuffle } from '../nn/shuffle.ts';
import { channelAttention, scaledResidual, simpleGate } from '../nn/gates.ts';
import { zeros } from '../nn/init.ts';
import { chain } from '../nn/chain.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';
import { localChannelAttention, tlcOption, tlcWindow, type Window } from './tlc-ops.ts';

const options = strict(
  {
    imgChannels: PositiveInt,
    width: PositiveInt,
    middleBlkNum: NonNegInt,
    encBlkNums: arrayOf(NonNegInt),
    decBlkNums: arrayOf(NonNegInt),
  },
  // Test-time local converter: the channel attention's mean over a window 1.5x the training
  // crop's feature size at its level.
  { tlc: tlcOption },
);
export type NafnetOptions = t.TypeOf<typeof options>;

type Fn = (p: Params, x: Tensor) => Tensor;

/** NAFBlock(c) with DW_Expand = FFN_Expand = 2; `window`: TLC's pooling window, null for the global mean. */
function nafBlock(s: Scope, c: number, window: Window | null): Fn {
  const dw = 2 * c;
  const ffn = 2 * c;
  const conv1 = conv2dLayer(s.child('conv1'), { inChannels: c, outChannels: dw, kernelSize: 1 });
  const conv2 = conv2dLayer(s.child('conv2'), { inChannels: dw, outChannels: dw, kernelSize: 3, padding: 1, groups: dw });
  const conv3 = conv2dLayer(s.child('conv3'), { inChannels: dw / 2, outChannels: c, kernelSize: 1 });
  // `sca` is nn.Sequential(AdaptiveAvgPool2d(1), Conv2d): the conv is index 1. Registered as a
  // conv layer (names, init, layout); applied by the fused channelAttention op.
  conv2dLayer(s.child('sca').child(1), { inChannels: dw / 2, outChannels: dw / 2, kernelSize: 1 });
  const scaWeight = s.child('sca').child(1).full('weight');
  const scaBias = s.child('sca').child(1).full('bias');
  const conv4 = conv2dLayer(s.child('conv4'), { inChannels: c, outChannels: ffn, kernelSize: 1 });
  const conv5 = conv2dLayer(s.child('conv5'), { inChannels: ffn / 2, outChannels: c, kernelSize: 1 });
  const norm1 = layerNorm2dLayer(s.child('norm1'), { channels: c, eps: 1e-6 });
  const norm2 = layerNorm2dLayer(s.child('norm2'), { channels: c, eps: 1e-6 });
  // (1, c, 1, 1) in PyTorch, kept so for loading; read as a per-channel vector here.
  const beta = s.param('beta', [1, c, 1, 1], 'plain', zeros);
  const gamma = s.param('gamma', [1, c, 1, 1], 'plain', zeros);
  const attention = (p: Params, x: Tensor): Tensor =>
    window === null ? channelAttention(x, getParam(p, scaWeight), getParam(p, scaBias)) : localChannelAttention(x, getParam(p, scaWeight), getParam(p, scaBias), window);
  // Intermediates are freed as soon as the next step has read them (src/nn/chain.ts).
  return (p, inp) => {
    const y = chain(inp, (h) => norm1(p, h), (h) => conv1(p, h), (h) => conv2(p, h), simpleGate, (h) => attention(p, h), (h) => conv3(p, h), (h) => scaledResidual(inp, h, getParam(p, beta)));
    const out = chain(y, (h) => norm2(p, h), (h) => conv4(p, h), simpleGate, (h) => conv5(p, h), (h) => scaledResidual(y, h, getParam(p, gamma)));
    if (out !== y) y.dispose();
    return out;
  };
}

function blocks(s: Scope, n: number, c: number, window: Window | null): Fn {
  const list = Array.from({ length: n }, (_, i) => nafBlock(s.child(i), c, window));
  return (p, x) => chain(x, ...list.map((b) => (h: Tensor) => b(p, h)));
}

function buildNafnet(opts: NafnetOptions, store: ParamStore): Model {
  const { imgChannels, width, middleBlkNum, encBlkNums, decBlkNums, tlc } = opts;
  const root = store.root();
  const padder = 2 ** encBlkNums.length;
  // Encoder i and decoder L-1-i work at level i (1/2^i of the padded input), the middle at L.
  const windowAt = (level: number): Window | null => (tlc === undefined ? null : tlcWindow(tlc, padder, level));
  const intro = conv2dLayer(root.child('intro'), { inChannels: imgChannels, outChannels: width, kernelSize: 3, padding: 1 });
  const encoders: Fn[] = [];
  const downs: Fn[] = [];
  let chan = width;
  encBlkNums.forEach((n, i) => {
    encoders.push(blocks(root.child('encoders').child(i), n, chan, windowAt(i)));
    downs.push(conv2dLayer(root.child('downs').child(i), { inChannels: chan, outChannels: 2 * chan, kernelSize: 2, stride: 2 }));
    chan *= 2;
  });
  const middle = blocks(root.child('middle_blks'), middleBlkNum, chan, windowAt(encBlkNums.length));
  const ups: Fn[] = [];
  const decoders: Fn[] = [];
  decBlkNums.forEach((n, i) => {
    const conv = conv2dLayer(root.child('ups').child(i).child(0), { inChannels: chan, outChannels: 2 * chan, kernelSize: 1, bias: false });
    ups.push((p, x) => pixelShuffle(conv(p, x), 2));
    chan /= 2;
    decoders.push(blocks(root.child('decoders').child(i), n, chan, windowAt(decBlkNums.length - 1 - i)));
  });
  // The original builds `ending` after the stages; creation order does not affect names.
  const ending = conv2dLayer(root.child('ending'), { inChannels: width, outChannels: imgChannels, kernelSize: 3, padding: 1 });

  const apply = (p: Params, input: ModelInput): Tensor => {
    if (Array.isArray(input)) throw new Error('NAFNet: expected one image tensor [B, H, W, C], got a list');
    let img = input;
    if (img.rank === 5) {
      if (img.shape[1] !== 1) throw new Error(`NAFNet: a clip input must have exactly one frame, got shape ${JSON.stringify(img.shape)}`);
      img = img.squeeze([1]);
    }
    if (img.rank !== 4) throw new Error(`NAFNet: input must be [B, H, W, C] or [B, 1, H, W, C], got shape ${JSON.stringify(input.shape)}`);
    const [b, h, w, c] = img.shape as [number, number, number, number];
    if (c !== imgChannels) throw new Error(`NAFNet: input has ${c} channels, the model was built for ${imgChannels}`);
    const padH = (padder - (h % padder)) % padder;
    const padW = (padder - (w % padder)) % padder;
    const inp = padH === 0 && padW === 0 ? img : tf.pad(img, [[0, 0], [0, padH], [0, padW], [0, 0]]);
    // Each level's output is kept as its skip; everything else is freed once read.
    let x: Tensor = intro(p, inp);
    const skips: Tensor[] = [];
    encoders.forEach((enc, i) => {
      const e = enc(p, x);
      if (e !== x) x.dispose();
      skips.push(e);
      x = downs[i]!(p, e);
    });
    const m = middle(p, x);
    if (m !== x) x.dispose();
    x = m;
    decoders.forEach((dec, i) => {
      const skip = skips[skips.length - 1 - i]!;
      const d = chain(x, (h) => ups[i]!(p, h), (h) => tf.add(h, skip), (h) => dec(p, h));
      x.dispose();
      skip.dispose();
      x = d;
    });
    const out = chain(x, (h) => ending(p, h), (h) => tf.add(h, inp));
    x.dispose();
    return padH === 0 && padW === 0 ? out : tf.slice(out, [0, 0, 0, 0], [b, h, w, c]);
  };
  return makeModel('NAFNet', store, apply);
}

/**
 * Model component NAFNet (Chen et al. 2022), a nonlinear-activation-free U-Net for image deblurring;
 * preset `gopro` is the paper's GoPro configuration.
 */
export const nafnet = defineModel({
  type: 'nafnet',
  codec: options,
  defaults: { imgChannels: 3, width: 16, middleBlkNum: 1, encBlkNums: [], decBlkNums: [] },
  // Decoder stages are zipped with the reversed encoder skips, so the stage counts must agree.
  check: (p) =>
    p.encBlkNums.length === p.decBlkNums.length
      ? []
      : [{ path: 'decBlkNums', message: `expected ${p.encBlkNums.length} stages like encBlkNums, got ${p.decBlkNums.length}` }],
  original: { className: 'NAFNet', names: { imgChannels: 'img_channel' }, extra: ['tlc'] },
  // It pads itself (with zeros, as the original) to its levels' multiple; tiles line up with it.
  inference: (o) => ({ align: 2 ** o.encBlkNums.length }),
  // The GoPro configuration of the paper (NAFNet-GoPro-width64).
  presets: { gopro: { width: 64, middleBlkNum: 1, encBlkNums: [1, 1, 1, 28], decBlkNums: [1, 1, 1, 1] } },
  build: buildNafnet,
  describe: 'NAFNet image deblurring (Chen et al. 2022); preset gopro: width 64, encBlkNums [1,1,1,28], decBlkNums [1,1,1,1]',
});
