// DBN, "Deep Video Deblurring" (Su et al. 2017): an encoder-decoder over the
// channel-stacked input frames with three skip connections, restoring the centre frame as a
// residual. Every block is conv (or transposed conv) + BatchNorm(eps 1e-3) + ReLU, except the
// last, which has no ReLU.
//
// Differences from the original: none in the computation. Input is checked up front (frame
// and channel counts) instead of failing inside a reshape or an add. Any H and W: sizes that
// are not multiples of 8 (three stride-2 levels) are mirror-padded and the output cropped back.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import { Bool, PositiveInt, strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import type * as t from 'io-ts';
import { batchNormLayer, conv2dLayer, convTranspose2dLayer } from '../nn/layers.ts';
import { relu as reluOp } from '../nn/activations.ts';
import { chain } from '../nn/chain.ts';
import { zeros } from '../nn/init.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';

const options = strict({
  numFrames: PositiveInt,
  inChannels: PositiveInt,
  innerChannels: PositiveInt,
  // Start as the identity (not in the original): the last BatchNorm's scale starts at 0, so the
  // output starts as the centre frame and no steps go into learning to copy it.
  zeroInitResidual: Bool,
});
export type DbnOptions = t.TypeOf<typeof options>;

type Block = (p: Params, x: Tensor, training: boolean) => Tensor;

// `<name>.0` is the conv, `<name>.1` the BatchNorm, as in the original nn.Sequential.
function block(scope: Scope, conv: 'conv' | 'convT', cin: number, cout: number, k: number, stride: number, pad: number, relu: boolean, zeroScale = false): Block {
  const c =
    conv === 'conv'
      ? conv2dLayer(scope.child(0), { inChannels: cin, outChannels: cout, kernelSize: k, stride, padding: pad })
      : convTranspose2dLayer(scope.child(0), { inChannels: cin, outChannels: cout, kernelSize: k, stride, padding: pad });
  const bn = batchNormLayer(scope.child(1), { channels: cout, eps: 1e-3, ...(zeroScale ? { weightInit: zeros } : {}) });
  return (p, x, training) => chain(x, (h) => c(p, h), (h) => bn(p, h, training), ...(relu ? [reluOp] : []));
}

function buildDbn(opts: DbnOptions, store: ParamStore): Model {
  const { numFrames: n, inChannels: cin, innerChannels: c } = opts;
  const k = n * cin;
  const s = store.root();
  const b = (name: string, cinb: number, cout: number, kk = 3, stride = 1, pad = 1, relu = true, zeroScale = false): Block =>
    block(s.child(name), 'conv', cinb, cout, kk, stride, pad, relu, zeroScale);
  const up = (name: string, cinb: number, cout: number): Block => block(s.child(name), 'convT', cinb, cout, 4, 2, 1, true);

  const F0 = b('F0', k, c, 5, 1, 2);
  const D1 = b('D1', c, c, 3, 2, 1);
  const F1 = [b('F1_1', c, 2 * c), b('F1_2', 2 * c, 2 * c)];
  const D2 = b('D2', 2 * c, 4 * c, 3, 2, 1);
  const F2 = [b('F2_1', 4 * c, 4 * c), b('F2_2', 4 * c, 4 * c), b('F2_3', 4 * c, 4 * c)];
  const D3 = b('D3', 4 * c, 8 * c, 3, 2, 1);
  const F3 = [b('F3_1', 8 * c, 8 * c), b('F3_2', 8 * c, 8 * c), b('F3_3', 8 * c, 8 * c)];
  const U1 = up('U1', 8 * c, 4 * c);
  const F4 = [b('F4_1', 4 * c, 4 * c), b('F4_2', 4 * c, 4 * c), b('F4_3', 4 * c, 4 * c)];
  const U2 = up('U2', 4 * c, 2 * c);
  const F5 = [b('F5_1', 2 * c, 2 * c), b('F5_2', 2 * c, c)];
  const U3 = up('U3', c, c);
  const F6 = [b('F6_1', c, k), b('F6_2', k, 3, 3, 1, 1, false, opts.zeroInitResidual)];

  // Each intermediate is freed once the next block has read it (skips are chain inputs, kept).
  const seq = (blocks: Block[], p: Params, x: Tensor, t: boolean): Tensor => chain(x, ...blocks.map((blk) => (h: Tensor) => blk(p, h, t)));
  // An upsampling block's output plus the skip, then ReLU.
  const merge = (u: Block, skip: Tensor): Block => (p, x, t) => chain(x, (h) => u(p, h, t), (h) => tf.add(h, skip), reluOp);

  const apply = (p: Params, input: ModelInput, { training }: { readonly training: boolean }): Tensor => {
    if (Array.isArray(input)) throw new Error('DBN: expected one clip tensor [B, T, H, W, C], got a list');
    if (input.rank !== 5) throw new Error(`DBN: input must be a clip [B, T, H, W, C], got shape ${JSON.stringify(input.shape)}`);
    const [bs, t, h, w, ch] = input.shape as [number, number, number, number, number];
    if (t !== n) throw new Error(`DBN: input has ${t} frames, the model was built for ${n}`);
    if (ch !== cin) throw new Error(`DBN: input has ${ch} channels, the model was built for ${cin}`);
    const centre = input.slice([0, Math.floor(n / 2), 0, 0, 0], [bs, 1, h, w, ch]).reshape([bs, h, w, ch]);
    // Frame-major channels (frame0 RGB, frame1 RGB, ...), as the original's reshape gives.
    const f0 = chain(input, (v) => v.transpose([0, 2, 3, 1, 4]), (v) => v.reshape([bs, h, w, t * ch]), (v) => F0(p, v, training));
    const f1 = seq([D1, ...F1], p, f0, training);
    const f2 = seq([D2, ...F2], p, f1, training);
    const f3 = seq([D3, ...F3], p, f2, training);
    const f4 = seq([merge(U1, f2), ...F4], p, f3, training);
    tf.dispose([f3, f2]);
    const f5 = seq([merge(U2, f1), ...F5], p, f4, training);
    tf.dispose([f4, f1]);
    const f6 = seq([merge(U3, f0), ...F6], p, f5, training);
    tf.dispose([f5, f0]);
    return tf.add(f6, centre);
  };
  return makeModel('DBN', store, apply);
}

/**
 * Model component DBN, "Deep Video Deblurring" (Su et al. 2017): an encoder-decoder over the
 * channel-stacked `numFrames` input frames, restoring the centre frame as a residual.
 */
export const dbn = defineModel({
  type: 'dbn',
  codec: options,
  defaults: { numFrames: 5, inChannels: 3, innerChannels: 64, zeroInitResidual: false },
  // The 3-channel residual is added to the centre frame, which broadcasts only for 1 or 3 channels.
  check: (p) => (p.inChannels === 1 || p.inChannels === 3 ? [] : [{ path: 'inChannels', message: `expected 1 or 3, got ${p.inChannels}` }]),
  original: { className: 'DBN', extra: ['zeroInitResidual'] },
  build: buildDbn,
  sizeMultiple: 8,
  describe: 'DBN video deblurring (Su et al. 2017), numFrames input frames to the centre frame',
});
