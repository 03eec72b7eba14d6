// ESTRNN, "Efficient Spatio-Temporal Recurrent Neural Network for Video Deblurring"
// (Zhong et al. 2020). An RNN cell built from residual dense blocks turns each
// frame, with the hidden state, into quarter-resolution features `h_t` (5n channels) and a new
// hidden state; global spatio-temporal attention (GSA) fuses the features of `past` frames,
// the centre frame and `future` frames, and a reconstructor (two stride-2 transposed
// convolutions and a 5×5 convolution) restores the centre frame. Input `[B, N, H, W, 3]`, output
// `[B, N−past−future, H, W, 3]` (always 5-D, as the original concatenates the frames). No
// residual to the input, no normalisation.
//
// Differences from the original: none in the computation (the original's training wrapper
// shifts the output by −0.5; that belongs to the wrapper, not to this network). Any H and W:
// sizes that are not multiples of 4 are mirror-padded and the output cropped back (the
// original's hidden state is int(H/4)×int(W/4), and other sizes crash in a concatenation).
// Clips are checked up front for at least past+1+future frames (the original returns nothing
// to stack otherwise).
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { getParam } from '../nn/params.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import * as t from 'io-ts';
import { NonNegInt, PositiveInt, strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import { conv2dLayer, convTranspose2dLayer, linearLayer } from '../nn/layers.ts';
import { constant } from '../nn/init.ts';
import { gelu, relu } from '../nn/activations.ts';
import { Rng } from '../util/rng.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';

/** The original's activation factory names (matched case-insensitively, as there). */
export const ESTRNN_ACTIVATIONS = ['relu', 'relu6', 'leakyrelu', 'prelu', 'rrelu', 'selu', 'celu', 'elu', 'gelu', 'tanh'] as const;
export type EstrnnActivation = (typeof ESTRNN_ACTIVATIONS)[number];

const isActivation = (u: unknown): u is string => typeof u === 'string' && ESTRNN_ACTIVATIONS.some((a) => a === u.toLowerCase());
// The original's factory lowercases the name, so any case is accepted ('GELU').
const Activation = new t.Type<string, string, unknown>(
  `one of ${ESTRNN_ACTIVATIONS.join(', ')} (any case)`,
  isActivation,
  (u, c) => (isActivation(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const options = strict({
  // n, the cell's base width.
  nFeatures: PositiveInt,
  // Residual dense blocks in the cell's trunk.
  nBlocks: PositiveInt,
  // Frames after the restored one that it attends to.
  futureFrames: NonNegInt,
  // Frames before the restored one that it attends to.
  pastFrames: NonNegInt,
  activation: Activation,
});
export type EstrnnOptions = t.TypeOf<typeof options>;

type Fn = (p: Params, x: Tensor, training: boolean) => Tensor;

// RReLU's slope range, as the original's factory sets it; eval mode uses the mean slope.
const RRELU_LOWER = 0.1;
const RRELU_UPPER = 0.3;

/**
 * One activation module at `s` (only PReLU has a parameter: `weight` [1], init 0.25). RReLU
 * draws its training-mode slopes from the model's seeded stream.
 */
export function estrnnActivation(s: Scope, name: EstrnnActivation, rng: Rng): Fn {
  switch (name) {
    case 'relu':
      return (_p, x) => relu(x);
    case 'relu6':
      return (_p, x) => tf.relu6(x);
    case 'leakyrelu':
      return (_p, x) => tf.leakyRelu(x, 0.1);
    case 'prelu': {
      const w = s.param('weight', [1], 'plain', constant(0.25));
      return (p, x) => tf.prelu(x, getParam(p, w));
    }
    case 'rrelu':
      return (_p, x, training) => {
        if (!training) return tf.leakyRelu(x, (RRELU_LOWER + RRELU_UPPER) / 2);
        const slope = tf.tensor(rng.uniformArray(x.size, RRELU_LOWER, RRELU_UPPER), x.shape);
        return tf.where(tf.greaterEqual(x, 0), x, tf.mul(x, slope));
      };
    case 'selu':
      return (_p, x) => tf.selu(x);
    // CELU with PyTorch's default alpha = 1 is ELU.
    case 'celu':
    case 'elu':
      return (_p, x) => tf.elu(x);
    case 'gelu':
      return (_p, x) => gelu(x);
    case 'tanh':
      return (_p, x) => tf.tanh(x);
  }
}

interface Ctx {
  readonly act: EstrnnActivation;
  readonly rng: Rng;
}

const conv = (s: Scope, cin: number, cout: number, k: number, stride = 1): Fn => {
  const f = conv2dLayer(s, { inChannels: cin, outChannels: cout, kernelSize: k, stride, padding: (k - 1) / 2 });
  return (p, x) => f(p, x);
};

const seq = (fns: readonly Fn[]): Fn => (p, x, t) => fns.reduce((h, f) => f(p, h, t), x);

/** Residual dense block: L dense layers `cat(x, act(conv3×3(x)))`, conv1×1 back to `cin`, `+ x`. */
function rdb(s: Scope, cin: number, growth: number, layers: number, ctx: Ctx): Fn {
  const dense: Fn[] = [];
  let ch = cin;
  for (let i = 0; i < layers; i++) {
    const ls = s.child('dense_layers').child(i);
    const c = conv(ls.child('conv'), ch, growth, 3);
    const a = estrnnActivation(ls.child('act'), ctx.act, ctx.rng);
    dense.push((p, x, t) => tf.concat([x, a(p, c(p, x, t), t)], -1));
    ch += growth;
  }
  const fuse = conv(s.child('conv1x1'), ch, cin, 1);
  const body = seq(dense);
  return (p, x, t) => tf.add(fuse(p, body(p, x, t), t), x);
}

/** K chained RDBs, all their outputs concatenated, conv1×1 then conv3×3 (no activations). */
function rdNet(s: Scope, cin: number, growth: number, layers: number, blocks: number, ctx: Ctx): Fn {
  const list = Array.from({ length: blocks }, (_, i) => rdb(s.child('RDBs').child(i), cin, growth, layers, ctx));
  const c1 = conv(s.child('conv1x1'), blocks * cin, cin, 1);
  const c3 = conv(s.child('conv3x3'), cin, cin, 3);
  return (p, x, t) => {
    const outs: Tensor[] = [];
    let h = x;
    for (const b of list) {
      h = b(p, h, t);
      outs.push(h);
    }
    return c3(p, c1(p, tf.concat(outs, -1), t), t);
  };
}

/** RDB then a stride-2 conv5×5 doubling the channels. */
function rdbDown(s: Scope, cin: number, growth: number, ctx: Ctx): Fn {
  return seq([rdb(s.child('rdb'), cin, growth, 3, ctx), conv(s.child('down_sampling'), cin, 2 * cin, 5, 2)]);
}

interface Cell {
  (p: Params, x: Tensor, hidden: Tensor, training: boolean): { h: Tensor; hidden: Tensor };
}

function rdbCell(s: Scope, n: number, blocks: number, ctx: Ctx): Cell {
  const fb = seq([conv(s.child('F_B0'), 3, n, 5), rdbDown(s.child('F_B1'), n, n, ctx), rdbDown(s.child('F_B2'), 2 * n, Math.floor((n * 3) / 2), ctx)]);
  const fr = rdNet(s.child('F_R'), 5 * n, 2 * n, 3, blocks, ctx);
  const fh = seq([conv(s.child('F_h').child(0), 5 * n, n, 3), rdb(s.child('F_h').child(1), n, n, 3, ctx), conv(s.child('F_h').child(2), n, n, 3)]);
  return (p, x, hidden, t) => {
    const h = fr(p, tf.concat([fb(p, x, t), hidden], -1), t);
    return { h, hidden: fh(p, h, t) };
  };
}

/** GSA over `past + 1 + future` features (5n channels each); the reference is index `past`. */
function gsa(s: Scope, n: number, past: number, future: number, ctx: Ctx): (p: Params, hs: readonly Tensor[], training: boolean) => Tensor {
  const c = 5 * n;
  const ff0 = linearLayer(s.child('F_f').child(0), { inFeatures: 2 * c, outFeatures: 4 * c });
  const ffAct = estrnnActivation(s.child('F_f').child(1), ctx.act, ctx.rng);
  const ff2 = linearLayer(s.child('F_f').child(2), { inFeatures: 4 * c, outFeatures: 2 * c });
  const fp = seq([conv(s.child('F_p').child(0), 2 * c, 4 * c, 1), conv(s.child('F_p').child(1), 4 * c, 2 * c, 1)]);
  const condense = conv(s.child('condense'), 2 * c, c, 1);
  const frames = past + 1 + future;
  const fusion = conv(s.child('fusion'), frames * c, frames * c, 1);
  return (p, hs, t) => {
    const ref = hs[past]!;
    const parts: Tensor[] = [];
    hs.forEach((hi, i) => {
      if (i === past) return;
      const cor = tf.concat([ref, hi], -1);
      const pooled = tf.mean(cor, [1, 2]);
      const w = tf.sigmoid(ff2(p, ffAct(p, ff0(p, pooled), t)));
      parts.push(condense(p, tf.mul(w.reshape([w.shape[0]!, 1, 1, 2 * c]), fp(p, cor, t)), t));
    });
    parts.push(ref);
    return fusion(p, tf.concat(parts, -1), t);
  };
}

function buildEstrnn(opts: EstrnnOptions, store: ParamStore): Model {
  const { nFeatures: n, nBlocks, futureFrames: future, pastFrames: past } = opts;
  const act = opts.activation.toLowerCase() as EstrnnActivation;
  const ctx: Ctx = { act, rng: Rng.derive(store.seed, 'estrnn.rrelu') };
  const root = store.root();
  const cell = rdbCell(root.child('cell'), n, nBlocks, ctx);
  const frames = past + 1 + future;
  const rs = root.child('recons').child('model');
  const recons = seq([
    convTranspose2dLayer(rs.child(0), { inChannels: 5 * n * frames, outChannels: 2 * n, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 }),
    convTranspose2dLayer(rs.child(1), { inChannels: 2 * n, outChannels: n, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 }),
    conv(rs.child(2), n, 3, 5),
  ]);
  const fusion = gsa(root.child('fusion'), n, past, future, ctx);

  const apply = (p: Params, input: ModelInput, { training }: { readonly training: boolean }): Tensor => {
    if (Array.isArray(input)) throw new Error('ESTRNN: expected one clip tensor [B, T, H, W, C], got a list');
    if (input.rank !== 5) throw new Error(`ESTRNN: input must be a clip [B, T, H, W, C], got shape ${JSON.stringify(input.shape)}`);
    const [b, t, h, w, ch] = input.shape as [number, number, number, number, number];
    if (ch !== 3) throw new Error(`ESTRNN: input has ${ch} channels, expected 3 (RGB)`);
    if (t < frames) throw new Error(`ESTRNN: input has ${t} frames, needs at least pastFrames + 1 + futureFrames = ${frames}`);
    let hidden: Tensor = tf.zeros([b, h / 4, w / 4, n]);
    const hs: Tensor[] = [];
    for (let i = 0; i < t; i++) {
      const r = cell(p, input.slice([0, i, 0, 0, 0], [b, 1, h, w, ch]).reshape([b, h, w, ch]), hidden, training);
      hs.push(r.h);
      hidden = r.hidden;
    }
    const outputs: Tensor[] = [];
    for (let i = past; i < t - future; i++) outputs.push(recons(p, fusion(p, hs.slice(i - past, i + future + 1), training), training));
    return tf.stack(outputs, 1);
  };
  return makeModel('ESTRNN', store, apply);
}

/**
 * Model component ESTRNN, "Efficient Spatio-Temporal Recurrent Neural Network for Video Deblurring"
 * (Zhong et al. 2020): residual-dense-block RNN cells with global spatio-temporal attention, N frames
 * to N−past−future.
 */
export const estrnn = defineModel({
  type: 'estrnn',
  // Recurrent over a clip of any length: one run over the whole video, state carried through.
  inference: () => ({ sampling: { sampling: 'strcnn', numFrames: 12 }, wholeVideo: true }),
  codec: options,
  defaults: { nFeatures: 16, nBlocks: 15, futureFrames: 2, pastFrames: 2, activation: 'gelu' },
  original: { className: 'ESTRNN' },
  build: buildEstrnn,
  // The hidden state is at a quarter of the frame size.
  sizeMultiple: 4,
  describe: 'ESTRNN (Zhong et al. 2020): RDB cells with global spatio-temporal attention; N frames to N−past−future',
});
