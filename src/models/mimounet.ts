// MIMO-UNet and MIMO-UNet+ (Cho et al. 2021): a three-level U-Net that takes the
// image at full, ½ and ¼ resolution (shallow convolution modules, SCM, merged into the encoder
// by feature attention modules, FAM), exchanges encoder features across scales (AFF), and
// predicts a residual at every scale. Returns `[¼, ½, full]`, each output plus its own input
// scale, in the original's order (coarse to fine).
//
// Differences from the original: MIMO-UNet+ flattens a 5-D input `[B, N, H, W, C]` to
// `[B·N, H, W, C]` like MIMO-UNet (the original's MIMOUNetPlus does not, and fails on it).
// Inputs are checked up front (3 channels; H and W multiples of 4).
// MIMO-UNet+'s Dropout2d masks, in training mode only, come from a seeded stream owned by the
// model (derived from the build seed, advanced once per training call).
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { chain } from '../nn/chain.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import { NonNegInt, strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import type * as t from 'io-ts';
import { conv2dLayer, convTranspose2dLayer } from '../nn/layers.ts';
import { interpolate } from '../nn/interpolate.ts';
import { Rng } from '../util/rng.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';
import { relu } from '../nn/activations.ts';

const options = strict({
  // ResBlocks per encoder/decoder stage: 8 for MIMO-UNet, 20 for MIMO-UNet+.
  numRes: NonNegInt,
});
export type MimoUnetOptions = t.TypeOf<typeof options>;

type Fn = (p: Params, x: Tensor) => Tensor;

const BASE = 32;

interface BasicConvOptions {
  readonly k: number;
  readonly stride?: number;
  readonly relu: boolean;
  readonly transpose?: boolean;
}

/** BasicConv: conv (or 2× transposed conv) under `<scope>.main.0`, optional ReLU; no norm. */
function basicConv(s: Scope, cin: number, cout: number, o: BasicConvOptions): Fn {
  const at = s.child('main').child(0);
  const stride = o.stride ?? 1;
  const conv = o.transpose
    ? convTranspose2dLayer(at, { inChannels: cin, outChannels: cout, kernelSize: o.k, stride, padding: o.k / 2 - 1 })
    : conv2dLayer(at, { inChannels: cin, outChannels: cout, kernelSize: o.k, stride, padding: Math.floor(o.k / 2) });
  return o.relu ? (p, x) => relu(conv(p, x)) : conv;
}

/** `x + conv3(conv3(x) ReLU)`. */
function resBlock(s: Scope, c: number): Fn {
  const a = basicConv(s.child('main').child(0), c, c, { k: 3, relu: true });
  const b = basicConv(s.child('main').child(1), c, c, { k: 3, relu: false });
  // A scope per block: its intermediates are freed when it returns (the tape keeps what the
  // backward pass reads).
  return (p, x) => tf.tidy(() => tf.add(x, b(p, a(p, x))));
}

/** EBlock / DBlock: `numRes` ResBlocks under `<scope>.layers`. */
function resStage(s: Scope, c: number, n: number): Fn {
  const list = Array.from({ length: n }, (_, i) => resBlock(s.child('layers').child(i), c));
  return (p, x) => chain(x, ...list.map((blk) => (h: Tensor) => blk(p, h)));
}

/** Shallow convolution module: features of a downscaled image, concatenated after it. */
function scm(s: Scope, planes: number): Fn {
  const m = s.child('main');
  const main = [
    basicConv(m.child(0), 3, planes / 4, { k: 3, relu: true }),
    basicConv(m.child(1), planes / 4, planes / 2, { k: 1, relu: true }),
    basicConv(m.child(2), planes / 2, planes / 2, { k: 3, relu: true }),
    basicConv(m.child(3), planes / 2, planes - 3, { k: 1, relu: true }),
  ];
  const conv = basicConv(s.child('conv'), planes, planes, { k: 1, relu: false });
  return (p, x) => conv(p, tf.concat([x, main.reduce((h, f) => f(p, h), x)], -1));
}

/** Feature attention module: `x1 + conv3(x1 · x2)`. */
function fam(s: Scope, c: number): (p: Params, x1: Tensor, x2: Tensor) => Tensor {
  const merge = basicConv(s.child('merge'), c, c, { k: 3, relu: false });
  return (p, x1, x2) => tf.add(x1, merge(p, tf.mul(x1, x2)));
}

/** Asymmetric feature fusion of the three encoder scales (already resampled to one size). */
function aff(s: Scope, cin: number, cout: number): (p: Params, xs: Tensor[]) => Tensor {
  const c0 = basicConv(s.child('conv').child(0), cin, cout, { k: 1, relu: true });
  const c1 = basicConv(s.child('conv').child(1), cout, cout, { k: 3, relu: false });
  return (p, xs) => c1(p, c0(p, tf.concat(xs, -1)));
}

const half = (x: Tensor): Tensor => interpolate(x, { scaleFactor: 0.5, mode: 'nearest' });
const twice = (x: Tensor): Tensor => interpolate(x, { scaleFactor: 2, mode: 'nearest' });

/** Dropout2d: zeroes whole channels per sample with probability `rate`, scales the rest. */
function dropout2d(x: Tensor, rate: number, rng: Rng): Tensor {
  const [b, , , c] = x.shape as [number, number, number, number];
  const mask = new Float32Array(b * c);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < rate ? 0 : 1 / (1 - rate);
  return tf.mul(x, tf.tensor(mask, [b, 1, 1, c], 'float32'));
}

function build(name: string, opts: MimoUnetOptions, dropoutRate: number, store: ParamStore): Model {
  const { numRes } = opts;
  const b = BASE;
  const r = store.root();
  const enc = [0, 1, 2].map((i) => resStage(r.child('Encoder').child(i), b * 2 ** i, numRes));
  const fe = r.child('feat_extract');
  const featExtract = [
    basicConv(fe.child(0), 3, b, { k: 3, relu: true }),
    basicConv(fe.child(1), b, 2 * b, { k: 3, stride: 2, relu: true }),
    basicConv(fe.child(2), 2 * b, 4 * b, { k: 3, stride: 2, relu: true }),
    basicConv(fe.child(3), 4 * b, 2 * b, { k: 4, stride: 2, relu: true, transpose: true }),
    basicConv(fe.child(4), 2 * b, b, { k: 4, stride: 2, relu: true, transpose: true }),
    basicConv(fe.child(5), b, 3, { k: 3, relu: false }),
  ] as const;
  const dec = [4, 2, 1].map((m, i) => resStage(r.child('Decoder').child(i), b * m, numRes));
  const convs = [
    basicConv(r.child('Convs').child(0), 4 * b, 2 * b, { k: 1, relu: true }),
    basicConv(r.child('Convs').child(1), 2 * b, b, { k: 1, relu: true }),
  ] as const;
  const convsOut = [
    basicConv(r.child('ConvsOut').child(0), 4 * b, 3, { k: 3, relu: false }),
    basicConv(r.child('ConvsOut').child(1), 2 * b, 3, { k: 3, relu: false }),
  ] as const;
  const affs = [aff(r.child('AFFs').child(0), 7 * b, b), aff(r.child('AFFs').child(1), 7 * b, 2 * b)] as const;
  const fam1 = fam(r.child('FAM1'), 4 * b);
  const fam2 = fam(r.child('FAM2'), 2 * b);
  const scm1 = scm(r.child('SCM1'), 4 * b);
  const scm2 = scm(r.child('SCM2'), 2 * b);
  const rng = Rng.derive(store.seed, `${name}:dropout`);

  const apply = (p: Params, input: ModelInput, { training }: { readonly training: boolean }): Tensor[] => {
    if (Array.isArray(input)) throw new Error(`${name}: expected one image tensor [B, H, W, C], got a list`);
    // Frames of a clip are restored independently.
    const x = input.rank === 5 ? input.reshape([input.shape[0]! * input.shape[1]!, ...input.shape.slice(2)]) : input;
    if (x.rank !== 4) throw new Error(`${name}: input must be [B, H, W, C] or [B, N, H, W, C], got shape ${JSON.stringify(input.shape)}`);
    const [, h, w, c] = x.shape as [number, number, number, number];
    if (c !== 3) throw new Error(`${name}: input must have 3 channels, got ${c}`);
    if (h % 4 !== 0 || w % 4 !== 0) throw new Error(`${name}: H and W must be multiples of 4, got ${h}x${w}`);
    const drop = training && dropoutRate > 0 ? (t: Tensor): Tensor => dropout2d(t, dropoutRate, rng) : (t: Tensor): Tensor => t;
    const x2 = half(x);
    const x4 = half(x2);
    const z2 = scm2(p, x2);
    const z4 = scm1(p, x4);
    const res1 = enc[0]!(p, featExtract[0](p, x));
    const res2 = enc[1]!(p, fam2(p, featExtract[1](p, res1), z2));
    let z = enc[2]!(p, fam1(p, featExtract[2](p, res2), z4));
    const z42 = twice(z);
    const fused2 = drop(affs[1](p, [half(res1), res2, z42]));
    const fused1 = drop(affs[0](p, [res1, twice(res2), twice(z42)]));
    z = dec[0]!(p, z);
    const o4 = tf.add(convsOut[0](p, z), x4);
    z = dec[1]!(p, convs[0](p, tf.concat([featExtract[3](p, z), fused2], -1)));
    const o2 = tf.add(convsOut[1](p, z), x2);
    z = dec[2]!(p, convs[1](p, tf.concat([featExtract[4](p, z), fused1], -1)));
    const o1 = tf.add(featExtract[5](p, z), x);
    return [o4, o2, o1];
  };
  return makeModel(name, store, apply);
}

function buildMimoUnet(o: MimoUnetOptions, store: ParamStore): Model {
  return build('MIMOUNet', o, 0, store);
}

/** MIMO-UNet+: the same network, with Dropout2d(0.1) after the AFFs. */
function buildMimoUnetPlus(o: MimoUnetOptions, store: ParamStore): Model {
  return build('MIMOUNetPlus', o, 0.1, store);
}

/**
 * Model component MIMO-UNet (Cho et al. 2021): a multi-input multi-output U-Net returning restored
 * images at [¼, ½, full] resolution; train it with the `mimo` strategy.
 */
export const mimoUnet = defineModel({
  type: 'mimoUnet',
  sizeMultiple: 4,
  inference: () => ({ strategy: { type: 'mimo' } }),
  codec: options,
  defaults: { numRes: 8 },
  original: { className: 'MIMOUNet' },
  build: buildMimoUnet,
  describe: 'MIMO-UNet (Cho et al. 2021): outputs [1/4, 1/2, full]; use strategy mimo',
});

/**
 * Model component MIMO-UNet+ (Cho et al. 2021): the larger MIMO-UNet variant; train it with the `mimo`
 * strategy.
 */
export const mimoUnetPlus = defineModel({
  type: 'mimoUnetPlus',
  sizeMultiple: 4,
  inference: () => ({ strategy: { type: 'mimo' } }),
  codec: options,
  defaults: { numRes: 20 },
  original: { className: 'MIMOUNetPlus' },
  build: buildMimoUnetPlus,
  describe: 'MIMO-UNet+ (Cho et al. 2021): the larger MIMO-UNet; use strategy mimo',
});
