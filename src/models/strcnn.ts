// STRCNN, the spatio-temporal recurrent network of Kim et al. 2017. A cell slides
// over the clip, encoding `m` consecutive frames (stacked on channels) at half resolution
// together with the previous step's decoder feature; dynamic temporal blending (DTB) mixes the
// encoding with the previous blended feature through a learned per-pixel weight
// `clamp(|tanh(conv(h, h_prev))| + β, 0, 1)`; a decoder restores one full-resolution frame and
// the feature fed to the next step. Input `[B, N, H, W, C]` (N ≥ m), output the N−m+1
// restored frames `[B, N−m+1, H, W, 3]` (always 5-D, as the original stacks them). No residual
// to the input; BatchNorm inside the residual blocks.
//
// Differences from the original: `isDtb` is honoured. The original always
// builds and runs the DTB (and would crash with it off); here `isDtb: false` builds no DTB
// parameters and passes the encoding straight to the decoder. Shapes are checked up front
// (H and W must be even, `innerChannels` even) instead of failing inside a concatenation or
// returning a frame one pixel larger than the input.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { getParam } from '../nn/params.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import { Bool, NonNegInt, PositiveInt, strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import type * as t from 'io-ts';
import { batchNormLayer, conv2dLayer, convTranspose2dLayer } from '../nn/layers.ts';
import { zeros } from '../nn/init.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';
import { relu } from '../nn/activations.ts';

const options = strict({
  // Frames encoded per step (m).
  numFramesEncoded: PositiveInt,
  inChannels: PositiveInt,
  // Feature width c (even: the encoder output and the recurrent feature have c/2 each).
  innerChannels: PositiveInt,
  encoderBlocks: NonNegInt,
  decoderBlocks: NonNegInt,
  // Dynamic temporal blending between steps (the original's only mode).
  isDtb: Bool,
});
export type StrcnnOptions = t.TypeOf<typeof options>;

type Fn = (p: Params, x: Tensor, training: boolean) => Tensor;

const conv = (s: Scope, cin: number, cout: number, k: number, stride = 1) =>
  conv2dLayer(s, { inChannels: cin, outChannels: cout, kernelSize: k, stride, padding: (k - 1) / 2 });

/** `ReLU(BN(conv(ReLU(BN(conv(x))))) + x)`; `conv1.{0,1}`, `conv2.{0,1}` as in the original. */
function basicBlock(s: Scope, c: number): Fn {
  const c1 = conv(s.child('conv1').child(0), c, c, 3);
  const bn1 = batchNormLayer(s.child('conv1').child(1), { channels: c });
  const c2 = conv(s.child('conv2').child(0), c, c, 3);
  const bn2 = batchNormLayer(s.child('conv2').child(1), { channels: c });
  return (p, x, t) => relu(tf.add(bn2(p, c2(p, relu(bn1(p, c1(p, x), t))), t), x));
}

/** `blocks` BasicBlocks then a 3×3 conv, as one nn.Sequential named `feature_fuse`. */
function featureFuse(s: Scope, c: number, blocks: number): Fn {
  const list = Array.from({ length: blocks }, (_, i) => basicBlock(s.child(i), c));
  const last = conv(s.child(blocks), c, c, 3);
  return (p, x, t) => last(p, list.reduce((h, b) => b(p, h, t), x));
}

interface CellState {
  /** The decoder's feature for the next step, `[B, H/2, W/2, c/2]`. */
  readonly f: Tensor | null;
  /** The blended encoder feature, `[B, H/2, W/2, c]`. */
  readonly h: Tensor | null;
}

function buildStrcnn(opts: StrcnnOptions, store: ParamStore): Model {
  const { numFramesEncoded: m, inChannels, innerChannels: c, encoderBlocks, decoderBlocks, isDtb } = opts;
  const half = c / 2;
  const cell = store.root().child('strcnn_cell');

  const enc = cell.child('encoder');
  const ex0 = conv(enc.child('feature_extract').child(0), m * inChannels, c, 5);
  const ex2 = conv(enc.child('feature_extract').child(2), c, half, 3, 2);
  const encFuse = featureFuse(enc.child('feature_fuse'), c, encoderBlocks);

  let dtb: ((p: Params, h: Tensor, hPrev: Tensor) => Tensor) | null = null;
  if (isDtb) {
    const dtbConv = conv(cell.child('dtb').child('conv'), 2 * c, c, 5);
    const beta = cell.child('dtb').param('beta', [1], 'plain', zeros);
    dtb = (p, h, hPrev) => {
      const w = tf.clipByValue(tf.add(tf.abs(tf.tanh(dtbConv(p, tf.concat([h, hPrev], -1)))), getParam(p, beta)), 0, 1);
      return tf.add(tf.mul(w, h), tf.mul(tf.sub(1, w), hPrev));
    };
  }

  const dec = cell.child('decoder');
  const decFuse = featureFuse(dec.child('feature_fuse'), c, decoderBlocks);
  const fx = conv(dec.child('feature_extract').child(0), c, half, 3);
  const up = convTranspose2dLayer(dec.child('reconstruct').child(0), { inChannels: c, outChannels: c, kernelSize: 4, stride: 2, padding: 1 });
  const out = conv(dec.child('reconstruct').child(2), c, 3, 3);

  /** One step: frames `[B, H, W, m·C]` (frame-major channels) and the carried state. */
  const step = (p: Params, frames: Tensor, state: CellState, training: boolean): { l: Tensor; state: CellState } => {
    const e = relu(ex2(p, relu(ex0(p, frames))));
    const h = encFuse(p, tf.concat([e, state.f ?? tf.zerosLike(e)], -1), training);
    const hb = dtb === null ? h : dtb(p, h, state.h ?? tf.zerosLike(h));
    const feats = decFuse(p, hb, training);
    const f = relu(fx(p, feats));
    const l = out(p, relu(up(p, feats)));
    return { l, state: { f, h: hb } };
  };

  const apply = (p: Params, input: ModelInput, { training }: { readonly training: boolean }): Tensor => {
    if (Array.isArray(input)) throw new Error('STRCNN: expected one clip tensor [B, T, H, W, C], got a list');
    if (input.rank !== 5) throw new Error(`STRCNN: input must be a clip [B, T, H, W, C], got shape ${JSON.stringify(input.shape)}`);
    const [b, n, h, w, ch] = input.shape as [number, number, number, number, number];
    if (n < m) throw new Error(`STRCNN: input has ${n} frames, fewer than the ${m} encoded per step`);
    if (ch !== inChannels) throw new Error(`STRCNN: input has ${ch} channels, the model was built for ${inChannels}`);
    if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`STRCNN: H and W must be even (half-resolution features), got ${h}x${w}`);
    // All frames with channels last and frames stacked, so that a window of m frames is a
    // contiguous channel slice in the original's frame-major order.
    const stacked = input.transpose([0, 2, 3, 1, 4]).reshape([b, h, w, n * ch]);
    const outputs: Tensor[] = [];
    let state: CellState = { f: null, h: null };
    for (let i = 0; i + m <= n; i++) {
      const r = step(p, stacked.slice([0, 0, 0, i * ch], [b, h, w, m * ch]), state, training);
      outputs.push(r.l);
      state = r.state;
    }
    return tf.stack(outputs, 1);
  };
  return makeModel('STRCNN', store, apply);
}

/**
 * Model component STRCNN (Kim et al. 2017): a recurrent encoder-decoder with dynamic temporal
 * blending, N frames to N−numFramesEncoded+1.
 */
export const strcnn = defineModel({
  type: 'strcnn',
  // Half-resolution features.
  sizeMultiple: 2,
  // The cell slides over a clip of any length: one run over the whole video.
  inference: () => ({ sampling: { sampling: 'strcnn', numFrames: 12 }, wholeVideo: true }),
  codec: options,
  // The original's constructor has defaults only for is_dtb; the rest is its DVD configuration.
  defaults: { numFramesEncoded: 5, inChannels: 3, innerChannels: 32, encoderBlocks: 4, decoderBlocks: 4, isDtb: true },
  // The encoder's c/2 channels are joined with the previous step's c/2-channel feature.
  check: (p) => (p.innerChannels % 2 === 0 ? [] : [{ path: 'innerChannels', message: `expected an even number, got ${p.innerChannels}` }]),
  original: { className: 'STRCNN' },
  build: buildStrcnn,
  describe: 'STRCNN (Kim et al. 2017): recurrent encoder-decoder with dynamic temporal blending; N frames to N−numFramesEncoded+1',
});
