// PVDNet, "Recurrent Video Deblurring with Blur-Invariant Motion Estimation and Pixel Volumes"
// (Son et al. 2021). Input: a clip [B, 3, H, W, 3] = [previous, current, next]
// blurry frames and the previous deblurred output [B, H, W, 3], all in [−1, 1]; output: the
// current frame deblurred, [B, H, W, 3] in [−1, 1].
//   1. BIMNet (LiteFlowNet, `BIMNet.*`) estimates the flow from the current frame to the
//      previous one on the frames cropped to multiples of 32 and mapped to [0, 1]; the flow is
//      resized bilinearly to that crop (values unscaled) and zero-padded back to H×W.
//   2. The pixel volume of the previous output around the flow-displaced positions (k×k,
//      grayscale; the current frame fills in at the border).
//   3. The backbone (`PVDNet.*`) restores the current frame from the pixel volume and the
//      three blurry frames, residually.
//
// The flow reaches the output only through the pixel volume's integer truncation, so BIMNet
// receives no gradient; it runs as one detached op (its parameters get zero gradients when
// trainable). With `fixBimnet` its parameters are buffers (non-trainable), as the original
// freezes them. Differences from the original: the flow reference frame is selectable (the
// original passes the current frame where the previous one belongs: `bimnetInput: 'current'`
// reproduces it), the pixel volume uses `pvKsize` (the original always builds a 5×5 volume),
// and the BIMNet checkpoint is a safetensors file given as `bimnetWeights`
// (`PVDNET_BIMNET_WEIGHTS` describes the accepted key forms). Unlike the original's, H and W
// need not be multiples of 4: the clip and the previous output are mirror-padded alike and the
// output cropped back.
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import { Bool, NonEmptyString, oneOf, PositiveInt, PositiveNumber, strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import type * as t from 'io-ts';
import { conv2dLayer, convTranspose2dLayer } from '../nn/layers.ts';
import { relu } from '../nn/activations.ts';
import { interpolate } from '../nn/interpolate.ts';
import { noGrad } from '../nn/ops/no-grad.ts';
import { pixelVolume } from '../nn/ops/pixel-volume.ts';
import { Rng } from '../util/rng.ts';
import { liteFlowNet } from './liteflownet.ts';
import type { LiteFlowNet } from './liteflownet.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';
import { flowNetStateDict as liteFlowNetStateDict, withFlowWeights, type FlowNetWeights } from './flow-weights.ts';

const options = strict(
  {
    // The pixel volume's window (odd); the backbone reads pvKsize² channels.
    pvKsize: PositiveInt,
    // 24 residual units at 192 channels instead of 12 at 128.
    largeModel: Bool,
    // The flow network's parameters are frozen (buffers, not trainable).
    fixBimnet: Bool,
    // Gain of the Xavier-uniform initialisation of every conv (biases 0).
    wi: PositiveNumber,
    // The frame BIMNet estimates the flow to: 'previous' (the method as published) or 'current'
    // (what the original code passes; needed to reproduce its outputs).
    bimnetInput: oneOf('previous', 'current'),
  },
  // A safetensors file with pretrained BIMNet (LiteFlowNet) weights (PyTorch layout), loaded at build.
  { bimnetWeights: NonEmptyString },
);
export type PvdnetOptions = t.TypeOf<typeof options>;

/** Prefix of the flow network's parameters: a LiteFlowNet state dict loads with this prepended. */
export const PVDNET_BIMNET_PREFIX = 'BIMNet.';

/** Where PVDNet's BIMNet weights are in a file given as `bimnetWeights` (see loadFlowWeights). */
export const PVDNET_BIMNET_WEIGHTS: FlowNetWeights = {
  model: 'PVDNet',
  network: 'BIMNet',
  option: 'bimnetWeights',
  prefix: PVDNET_BIMNET_PREFIX,
  outer: PVDNET_BIMNET_PREFIX,
  example: 'moduleFeatures.moduleOne.0.weight',
  rename: liteFlowNetStateDict,
};

/** The warning when PVDNet is built without `bimnetWeights`. */
export function pvdnetNoBimnetWarning(fixBimnet: boolean): string {
  // Trainable or not, BIMNet gets zero gradients (the flow reaches the output only through the
  // pixel volume's integer positions), so training never makes a random one useful.
  const state = fixBimnet ? 'randomly initialised and frozen (fixBimnet)' : 'randomly initialised and gets zero gradients in training';
  return `PVDNet: no bimnetWeights given — BIMNet (LiteFlowNet) is ${state}; its flow is meaningless until you load pretrained weights (model.bimnetWeights=FILE)`;
}

type Layer = (p: Params, x: Tensor) => Tensor;

const chain = (layers: Layer[]): Layer => (p, x) => layers.reduce((h, f) => f(p, h), x);
const withRelu = (f: Layer): Layer => (p, x) => relu(f(p, x));

function conv(s: Scope, cin: number, cout: number, k: number, stride = 1): Layer {
  return conv2dLayer(s, { inChannels: cin, outChannels: cout, kernelSize: k, stride, padding: (k - 1) / 2 });
}

type Backbone = (p: Params, pv: Tensor, prev: Tensor, curr: Tensor, next: Tensor) => Tensor;

/** PVDNetBackbone / PVDNetLargeBackbone (two stride-2 levels: the model's `sizeMultiple`). */
function backbone(scope: Scope, pvChannels: number, large: boolean): Backbone {
  const res = large ? 192 : 128;
  const units = large ? 24 : 12;
  const pvDec = chain([withRelu(conv(scope.child('PV_dec').child(0), pvChannels, 64, 3)), withRelu(conv(scope.child('PV_dec').child(2), 64, 64, 3))]);
  const imgDec = chain([withRelu(conv(scope.child('img_dec').child(0), 9, 32, 3)), withRelu(conv(scope.child('img_dec').child(2), 32, 32, 3))]);
  const d0 = conv(scope.child('d0'), 96, 64, 5);
  const d1 = chain([withRelu(conv(scope.child('d1').child(0), 64, 64, 5, 2)), conv(scope.child('d1').child(2), 64, 64, 5)]);
  const temp = chain([withRelu(conv(scope.child('temp').child(0), 64, 128, 5, 2)), withRelu(conv(scope.child('temp').child(2), 128, res, 5))]);
  const rbs = Array.from({ length: units }, (_, i) => {
    const s = scope.child('RBs').child(i);
    return chain([withRelu(conv(s.child(0), res, res, 3)), withRelu(conv(s.child(2), res, res, 3))]);
  });
  const rbEnd = withRelu(conv(scope.child('RB_end').child(0), res, res, 3));
  const up = (name: string, cin: number): Layer => convTranspose2dLayer(scope.child(name), { inChannels: cin, outChannels: 64, kernelSize: 4, stride: 2, padding: 1 });
  const dconv1 = up('dconv1', res);
  const dconv1End = withRelu(conv(scope.child('dconv1_end').child(1), 64, 64, 5));
  const dconv2 = up('dconv2', 64);
  const dconv2End = withRelu(conv(scope.child('dconv2_end').child(1), 64, 64, 5));
  const end = conv(scope.child('end'), 64, 3, 5);
  return (p, pv, prev, curr, next) => {
    const n0 = tf.concat([pvDec(p, pv), imgDec(p, tf.concat([curr, prev, next], 3))], 3);
    const e0 = d0(p, n0);
    const e1 = d1(p, e0);
    const t = temp(p, e1);
    let n = t;
    for (const rb of rbs) n = tf.add(n, rb(p, n));
    n = tf.add(rbEnd(p, n), t);
    n = dconv1End(p, relu(tf.add(dconv1(p, n), e1)));
    n = dconv2End(p, relu(tf.add(dconv2(p, n), e0)));
    return tf.add(curr, end(p, n));
  };
}

/**
 * Xavier-uniform (gain `wi`) for every conv / transposed-conv weight, zeros for biases, as the
 * original's `weights_init`. In our layouts ([kh, kw, in/g, out] and [kh, kw, out/g, in]) PyTorch's
 * fan_in is dims 2·0·1 and fan_out dims 3·0·1 for both kinds.
 */
function xavierInit(store: ParamStore, gain: number): void {
  tf.tidy(() => {
    for (const [name, v] of Object.entries(store.params)) {
      const kind = store.kinds[name];
      if (kind === 'conv' || kind === 'convT') {
        const [kh, kw, a, b] = v.shape as [number, number, number, number];
        const bound = gain * Math.sqrt(6 / (a * kh * kw + b * kh * kw));
        v.assign(tf.tensor(Rng.derive(store.seed, `xavier:${name}`).uniformArray(v.size, -bound, bound), v.shape));
      } else if (name.endsWith('.bias')) {
        v.assign(tf.zerosLike(v));
      }
    }
  });
}

function checkInput(input: ModelInput): { clip: Tensor; prevOut: Tensor } {
  if (!Array.isArray(input) || input.length !== 2) throw new Error('PVDNet: expected [clip [B, 3, H, W, 3], previous output [B, H, W, 3]]');
  const [clip, prevOut] = input as [Tensor, Tensor];
  if (clip.rank !== 5 || clip.shape[1] !== 3 || clip.shape[4] !== 3) throw new Error(`PVDNet: the clip must be [B, 3, H, W, 3], got ${JSON.stringify(clip.shape)}`);
  const [b, , h, w] = clip.shape as [number, number, number, number, number];
  if (prevOut.rank !== 4 || prevOut.shape[0] !== b || prevOut.shape[1] !== h || prevOut.shape[2] !== w || prevOut.shape[3] !== 3) {
    throw new Error(`PVDNet: the previous output must be [${b}, ${h}, ${w}, 3], got ${JSON.stringify(prevOut.shape)}`);
  }
  if (h < 64 || w < 64) throw new Error(`PVDNet: H and W must be at least 64 (the flow network works on 32-multiples down to 1/32), got ${h}x${w}`);
  return { clip, prevOut };
}

/** BIMNet's flow from `curr` to `ref` ([B, H, W, 3] in [−1, 1]) at H×W, detached. */
function blurInvariantFlow(net: LiteFlowNet, p: Params, names: readonly string[], curr: Tensor, ref: Tensor): Tensor {
  const [b, h, w] = curr.shape as [number, number, number, number];
  const hc = h - (h % 32);
  const wc = w - (w % 32);
  const weights = names.map((n) => {
    const t = p[n];
    if (t === undefined) throw new Error(`missing parameter '${n}'`);
    return t;
  });
  // The parameters are inputs of the detached op, so they receive (zero) gradients.
  return noGrad(
    (c, r, ...ws) => {
      const q: Record<string, Tensor> = {};
      names.forEach((n, i) => (q[n] = ws[i]!));
      const crop = (x: Tensor): Tensor => (hc === h && wc === w ? x : x.slice([0, 0, 0, 0], [b, hc, wc, 3]));
      const toUnit = (x: Tensor): Tensor => crop(x).add(1).div(2);
      const flow = interpolate(net(q, toUnit(c!), toUnit(r!)), { size: [hc, wc], mode: 'bilinear', alignCorners: false });
      return hc === h && wc === w ? flow : tf.pad(flow, [[0, 0], [0, h - hc], [0, w - wc], [0, 0]]);
    },
    curr,
    ref,
    ...weights,
  );
}

function buildPvdnet(opts: PvdnetOptions, store: ParamStore): Model {
  const root = store.root();
  const flowNet = liteFlowNet(root.child('BIMNet'));
  const net = backbone(root.child('PVDNet'), opts.pvKsize * opts.pvKsize, opts.largeModel);
  // A shape-only build (parameter counts) has no values to initialise.
  if (store.allocates) xavierInit(store, opts.wi);
  const bimnetNames = Object.keys(store.params).filter((k) => k.startsWith(PVDNET_BIMNET_PREFIX));
  const frozen: Record<string, Variable> = opts.fixBimnet ? Object.fromEntries(bimnetNames.map((k) => [k, store.params[k]!])) : {};

  const apply = (p: Params, input: ModelInput): Tensor => {
    const { clip, prevOut } = checkInput(input);
    const [prev, curr, next] = tf.unstack(clip, 1) as [Tensor, Tensor, Tensor];
    const all: Params = { ...frozen, ...p };
    const flow = blurInvariantFlow(flowNet, all, bimnetNames, curr, opts.bimnetInput === 'previous' ? prev : curr);
    const pv = pixelVolume(prevOut, flow, curr, opts.pvKsize);
    return net(all, pv, prev, curr, next);
  };
  const built = makeModel('PVDNet', store, (p, input) => apply(p, input));
  const params = Object.fromEntries(Object.entries(store.params).filter(([k]) => !(k in frozen)));
  const model = opts.fixBimnet ? { ...built, params, buffers: { ...store.buffers, ...frozen } } : built;
  // A shape-only build reads no file and has nothing to warn about.
  return store.allocates ? withFlowWeights(model, opts.bimnetWeights, PVDNET_BIMNET_WEIGHTS, pvdnetNoBimnetWarning(opts.fixBimnet)) : model;
}

/**
 * Model component PVDNet (Son et al. 2021): blur-invariant LiteFlowNet motion estimation and a pixel
 * volume, inputs and outputs in [-1, 1]; preset `deblur` is the large backbone.
 */
export const pvdnet = defineModel({
  type: 'pvdnet',
  inference: () => ({ strategy: { type: 'pvdnetRecurrent' }, sampling: { sampling: 'video' } }),
  codec: options,
  defaults: { pvKsize: 5, largeModel: false, fixBimnet: true, wi: 1, bimnetInput: 'previous' },
  check: (p) => (p.pvKsize % 2 === 1 ? [] : [{ path: 'pvKsize', message: `expected an odd number, got ${p.pvKsize}` }]),
  original: {
    className: 'PVDNet',
    names: { pvKsize: 'PV_ksize', fixBimnet: 'fix_BIMNet' },
    extra: ['bimnetWeights'],
    // A file to load BIMNet from; weights come from the checkpoint here.
    ignored: ['bimnet_ckpt_path'],
    // The original feeds BIMNet the current frame twice; its weights and outputs need that.
    fixed: { bimnetInput: 'current' },
  },
  // The deblurring configurations (pvdnet_dvd, _gopro, _reds): the large backbone.
  presets: { deblur: { largeModel: true } },
  build: buildPvdnet,
  sizeMultiple: 4,
  describe: "PVDNet (Son et al. 2021): LiteFlowNet flow and a pixel volume; inputs in [-1, 1]; preset deblur: the large backbone; bimnetInput 'current' reproduces the original",
});
