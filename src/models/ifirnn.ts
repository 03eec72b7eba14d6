// IFIRNN, "Recurrent Neural Networks with Intra-Frame Iterations for Video Deblurring"
// (Nah et al. 2019); the default is the paper's C2H3 (two cells, three intra-frame
// iterations). A cell extracts quarter-resolution features from the frame (three linear
// convolutions), joins them with the hidden state, runs six residual blocks and produces a new
// hidden state; in its output cell's last iteration it also decodes the restored frame. The
// hidden state is carried across frames. Input `[B, N, H, W, C]`, output `[B, N, H, W, 3]`
// (always 5-D, as the original stacks the frames). No residual to the input, no BatchNorm.
//
// Differences from the original: none in the computation. The frame features `F_B(x)` of a
// cell are computed once per frame and reused by its intra-frame iterations (the original
// recomputes the same value each time). Shapes are checked up front (`intraIters` ≥ 1, which
// the original needs too but does not check). Any H and W: sizes that are not multiples of 4
// (quarter-resolution features) are mirror-padded and the output cropped back.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import { Bool, PositiveInt, strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import type * as t from 'io-ts';
import { conv2dLayer, convTranspose2dLayer } from '../nn/layers.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';
import { relu } from '../nn/activations.ts';

const options = strict({
  inChannels: PositiveInt,
  // Feature width c; the recurrent trunk runs at 8c channels.
  innerChannels: PositiveInt,
  // Two cells (a state-only first cell and an output cell) instead of one.
  dualCell: Bool,
  // Iterations of the output cell per frame.
  intraIters: PositiveInt,
});
export type IfirnnOptions = t.TypeOf<typeof options>;

type Fn = (p: Params, x: Tensor) => Tensor;

const conv3x3 = (s: Scope, cin: number, cout: number, stride = 1): Fn =>
  conv2dLayer(s, { inChannels: cin, outChannels: cout, kernelSize: 3, stride, padding: 1 });

const seq = (fns: readonly Fn[]): Fn => (p, x) => fns.reduce((h, f) => f(p, h), x);

/** `x + conv2(ReLU(conv1(x)))`. */
function basicBlock(s: Scope, c: number): Fn {
  const c1 = conv3x3(s.child('conv1'), c, c);
  const c2 = conv3x3(s.child('conv2'), c, c);
  return (p, x) => tf.add(c2(p, relu(c1(p, x))), x);
}

interface Cell {
  /** Frame features `[B, H/4, W/4, 4c]`. */
  readonly features: Fn;
  /** Hidden state (or null before the first step) to (trunk features, new hidden state). */
  step(p: Params, feats: Tensor, hidden: Tensor | null): { trunk: Tensor; hidden: Tensor };
  /** Restored frame from the trunk features; null for a state-only cell. */
  readonly decode: Fn | null;
}

function rnnCell(s: Scope, cin: number, c: number, withOutput: boolean): Cell {
  const features = seq([conv3x3(s.child('F_B').child(0), cin, c), conv3x3(s.child('F_B').child(1), c, 2 * c, 2), conv3x3(s.child('F_B').child(2), 2 * c, 4 * c, 2)]);
  const trunk = seq(Array.from({ length: 6 }, (_, i) => basicBlock(s.child('F_R').child(i), 8 * c)));
  const decode = withOutput
    ? seq([
        convTranspose2dLayer(s.child('F_L').child(0), { inChannels: 8 * c, outChannels: 4 * c, kernelSize: 4, stride: 2, padding: 1 }),
        convTranspose2dLayer(s.child('F_L').child(1), { inChannels: 4 * c, outChannels: c, kernelSize: 4, stride: 2, padding: 1 }),
        conv3x3(s.child('F_L').child(2), c, 3),
      ])
    : null;
  const newHidden = seq([conv3x3(s.child('F_H').child(0), 8 * c, 4 * c), basicBlock(s.child('F_H').child(1), 4 * c), conv3x3(s.child('F_H').child(2), 4 * c, 4 * c)]);
  return {
    features,
    decode,
    step: (p, feats, hidden) => {
      // Without a hidden state the original joins the features with themselves.
      const t = trunk(p, tf.concat([feats, hidden ?? feats], -1));
      return { trunk: t, hidden: newHidden(p, t) };
    },
  };
}

function buildIfirnn(opts: IfirnnOptions, store: ParamStore): Model {
  const { inChannels, innerChannels: c, dualCell, intraIters } = opts;
  const cells = store.root().child('rnncells');
  const first = rnnCell(cells.child(0), inChannels, c, !dualCell);
  const iter = dualCell ? rnnCell(cells.child(1), inChannels, c, true) : first;
  const decode = iter.decode;
  if (decode === null) throw new Error('IFIRNN: internal error, the iterated cell has no output head');

  const apply = (p: Params, input: ModelInput): Tensor => {
    if (Array.isArray(input)) throw new Error('IFIRNN: expected one clip tensor [B, T, H, W, C], got a list');
    if (input.rank !== 5) throw new Error(`IFIRNN: input must be a clip [B, T, H, W, C], got shape ${JSON.stringify(input.shape)}`);
    const [b, n, h, w, ch] = input.shape as [number, number, number, number, number];
    if (ch !== inChannels) throw new Error(`IFIRNN: input has ${ch} channels, the model was built for ${inChannels}`);
    const outputs: Tensor[] = [];
    let hidden: Tensor | null = null;
    for (let t = 0; t < n; t++) {
      const x = input.slice([0, t, 0, 0, 0], [b, 1, h, w, ch]).reshape([b, h, w, ch]);
      const firstFeats = first.features(p, x);
      hidden = first.step(p, firstFeats, hidden).hidden;
      const feats = iter === first ? firstFeats : iter.features(p, x);
      let trunk: Tensor | null = null;
      for (let j = 0; j < intraIters; j++) {
        const r = iter.step(p, feats, hidden);
        trunk = r.trunk;
        hidden = r.hidden;
      }
      outputs.push(decode(p, trunk!));
    }
    return tf.stack(outputs, 1);
  };
  return makeModel('IFIRNN', store, apply);
}

/**
 * Model component IFIRNN, "Recurrent Neural Networks with Intra-Frame Iterations for Video Deblurring"
 * (Nah et al. 2019): an RNN iterated within each frame, N frames to N (default C2H3).
 */
export const ifirnn = defineModel({
  type: 'ifirnn',
  // Recurrent over a clip of any length: one run over the whole video, state carried through.
  inference: () => ({ sampling: { sampling: 'n_n', numFrames: 12 }, wholeVideo: true }),
  codec: options,
  // in_channels and inner_channels have no default in the original; these are its DVD configuration.
  defaults: { inChannels: 3, innerChannels: 16, dualCell: true, intraIters: 3 },
  original: { className: 'IFIRNN' },
  build: buildIfirnn,
  sizeMultiple: 4,
  describe: 'IFIRNN (Nah et al. 2019): intra-frame iterative RNN; N frames to N',
});
