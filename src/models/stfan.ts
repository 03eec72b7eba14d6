// STFAN, "Spatio-Temporal Filter Adaptive Network for Video Deblurring" (Zhou et al. 2019).
// A recurrent cell: a kernel branch looks at the current and previous blurry frames and
// the previous output and predicts two fields of per-pixel 5×5 filters; one aligns the previous
// step's features (filter-adaptive convolution, FAC), the other deblurs the current frame's
// features; a decoder turns both into the restored frame, added to the blurry input.
//
// Every `conv` is a convolution followed by LeakyReLU(0.1), the last one (img_prd) included, and
// `upconv` is a 4×4 stride-2 transposed convolution followed by LeakyReLU(0.1); resblocks are
// `x + conv(lrelu(conv(x)))`. Widths are fixed (32/64/128, FAC kernel 5): the original takes no
// constructor arguments. Parameters sit under `cell.`, as in the original STFAN wrapper.
//
// `apply` runs the cell over a clip exactly as the original STFAN module does (first step sees
// frame 0 as both previous blurry frame and previous output, and its own encoder features in place
// of the missing hidden state; no detaching). `cell` exposes one step for the per-frame
// training strategy (STFANRNNArch), which detaches the state between steps. Two stride-2 levels:
// `cell` needs H and W multiples of 4; `apply` takes any size (mirror-padded, output cropped back).
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import { strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import type * as t from 'io-ts';
import { conv2dLayer, convTranspose2dLayer } from '../nn/layers.ts';
import { leakyRelu } from '../nn/activations.ts';
import { fac } from '../nn/ops/fac.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';

// The original STFAN takes no constructor arguments (its widths are fixed).
const options = strict({});
export type StfanOptions = t.TypeOf<typeof options>;

export interface StfanCellInputs {
  /** Current blurry frame `[B, H, W, 3]`. */
  readonly blur: Tensor;
  /** Previous blurry frame (frame 0 at the first step). */
  readonly lastBlur: Tensor;
  /** Previous restored frame (frame 0 at the first step). */
  readonly lastOutput: Tensor;
  /** Previous fused features `[B, H/4, W/4, 256]`, or null at the first step. */
  readonly lastFeature: Tensor | null;
}

export interface StfanCellOutputs {
  /** Restored frame `[B, H, W, 3]`. */
  readonly output: Tensor4D;
  /** Fused features `[B, H/4, W/4, 256]`, the next step's `lastFeature`. */
  readonly feature: Tensor4D;
}

export interface StfanModel extends Model {
  /** One recurrent step; runs in its own tf.tidy. */
  cell(params: Params, inputs: StfanCellInputs): StfanCellOutputs;
}

const CH1 = 32;
const CH2 = 64;
const CH3 = 128;
/** FAC kernel size. */
const KF = 5;
const SLOPE = 0.1;
/** What H and W must be multiples of (two stride-2 levels). */
const SIZE_MULTIPLE = 4;

type Layer = (p: Params, x: Tensor) => Tensor;

/** `conv(a, b, k, s)`: `<name>.0` convolution, padding (k−1)/2, then LeakyReLU(0.1). */
function conv(scope: Scope, cin: number, cout: number, k: number, stride = 1): Layer {
  const c = conv2dLayer(scope.child(0), { inChannels: cin, outChannels: cout, kernelSize: k, stride, padding: (k - 1) / 2 });
  return (p, x) => leakyRelu(c(p, x), SLOPE);
}

/** `upconv(a, b)`: `<name>.0` ConvTranspose 4×4 stride 2 padding 1, then LeakyReLU(0.1). */
function upconv(scope: Scope, cin: number, cout: number): Layer {
  const c = convTranspose2dLayer(scope.child(0), { inChannels: cin, outChannels: cout, kernelSize: 4, stride: 2, padding: 1 });
  return (p, x) => leakyRelu(c(p, x), SLOPE);
}

/** `resnet_block(ch)`: `x + stem.2(lrelu(stem.0(x)))`, no activation after the sum. */
function resblock(scope: Scope, ch: number): Layer {
  const stem = scope.child('stem');
  const c0 = conv2dLayer(stem.child(0), { inChannels: ch, outChannels: ch, kernelSize: 3, padding: 1 });
  const c2 = conv2dLayer(stem.child(2), { inChannels: ch, outChannels: ch, kernelSize: 3, padding: 1 });
  return (p, x) => tf.add(x, c2(p, leakyRelu(c0(p, x), SLOPE)));
}

const seq =
  (...layers: Layer[]): Layer =>
  (p, x) =>
    layers.reduce((h, f) => f(p, h), x);

/** `conv → rb → rb → rb`-style stage: `<prefix>_1` conv, `<prefix>_2` and `<prefix>_3` resblocks. */
function stage(s: Scope, prefix: string, cin: number, cout: number, stride: number): Layer {
  return seq(conv(s.child(`${prefix}_1`), cin, cout, 3, stride), resblock(s.child(`${prefix}_2`), cout), resblock(s.child(`${prefix}_3`), cout));
}

/** fac_warp / fac_deblur: conv 3×3, two resblocks, 1×1 conv to CH3·KF² filter taps (all LReLU'd). */
function filterHead(s: Scope, cin: number): Layer {
  return seq(conv(s.child(0), cin, CH3, 3), resblock(s.child(1), CH3), resblock(s.child(2), CH3), conv(s.child(3), CH3, CH3 * KF * KF, 1));
}

function checkFrame(x: Tensor, what: string, like?: readonly number[]): void {
  if (x.rank !== 4) throw new Error(`STFAN cell: ${what} must be [B, H, W, 3], got shape ${JSON.stringify(x.shape)}`);
  const [, h, w, c] = x.shape as [number, number, number, number];
  if (c !== 3) throw new Error(`STFAN cell: ${what} must have 3 channels, got ${c}`);
  if (h % SIZE_MULTIPLE !== 0 || w % SIZE_MULTIPLE !== 0) throw new Error(`STFAN cell: H and W must be multiples of ${SIZE_MULTIPLE}, got ${h}x${w}`);
  if (like !== undefined && x.shape.some((d, i) => d !== like[i])) {
    throw new Error(`STFAN cell: ${what} has shape ${JSON.stringify(x.shape)}, expected ${JSON.stringify(like)} like the current frame`);
  }
}

function buildStfan(_opts: StfanOptions, store: ParamStore): StfanModel {
  const s = store.root().child('cell');

  // Deblurring branch: encoder on the current blurry frame.
  const encoder1 = stage(s, 'conv1', 3, CH1, 1);
  const encoder2 = stage(s, 'conv2', CH1, CH2, 2);
  const encoder3 = stage(s, 'conv3', CH2, CH3, 2);
  const fea = conv(s.child('fea'), 2 * CH3, CH3, 3);
  // Decoder.
  const decoder2 = seq(upconv(s.child('upconv2_u'), 2 * CH3, CH2), resblock(s.child('upconv2_2'), CH2), resblock(s.child('upconv2_1'), CH2));
  const decoder1 = seq(upconv(s.child('upconv1_u'), CH2, CH1), resblock(s.child('upconv1_2'), CH1), resblock(s.child('upconv1_1'), CH1));
  const imgPrd = conv(s.child('img_prd'), CH1, 3, 3);
  // Kernel prediction branch, on the 9-channel stack of current blur, previous blur, previous output.
  const kernel1 = stage(s, 'kconv1', 9, CH1, 1);
  const kernel2 = stage(s, 'kconv2', CH1, CH2, 2);
  const kernel3 = stage(s, 'kconv3', CH2, CH3, 2);
  const facWarp = filterHead(s.child('fac_warp'), CH3);
  const kconv4 = conv(s.child('kconv4'), CH3 * KF * KF, CH3, 1);
  const facDeblur = filterHead(s.child('fac_deblur'), 2 * CH3);

  const step = (p: Params, i: StfanCellInputs): StfanCellOutputs => {
    const k3 = kernel3(p, kernel2(p, kernel1(p, tf.concat([i.blur, i.lastBlur, i.lastOutput], 3))));
    const kernelWarp = facWarp(p, k3);
    const kernelDeblur = facDeblur(p, tf.concat([k3, kconv4(p, kernelWarp)], 3));

    const c3 = encoder3(p, encoder2(p, encoder1(p, i.blur)));
    const c3k = fac(c3, kernelDeblur, KF);
    const aligned = fac(fea(p, i.lastFeature ?? tf.concat([c3, c3], 3)), kernelWarp, KF);
    const feature = tf.concat([c3k, aligned], 3) as Tensor4D;

    const output = tf.add(imgPrd(p, decoder1(p, decoder2(p, feature))), i.blur) as Tensor4D;
    return { output, feature };
  };

  const cell = (p: Params, i: StfanCellInputs): StfanCellOutputs => {
    checkFrame(i.blur, 'blur');
    checkFrame(i.lastBlur, 'lastBlur', i.blur.shape);
    checkFrame(i.lastOutput, 'lastOutput', i.blur.shape);
    if (i.lastFeature !== null) {
      const [b, h, w] = i.blur.shape as [number, number, number, number];
      const want = [b, h / 4, w / 4, 2 * CH3];
      if (i.lastFeature.rank !== 4 || i.lastFeature.shape.some((d, j) => d !== want[j])) {
        throw new Error(`STFAN cell: lastFeature has shape ${JSON.stringify(i.lastFeature.shape)}, expected ${JSON.stringify(want)}`);
      }
    }
    const [output, feature] = tf.tidy(() => {
      const r = step(p, i);
      return [r.output, r.feature];
    }) as [Tensor4D, Tensor4D];
    return { output, feature };
  };

  const apply = (p: Params, input: ModelInput): Tensor => {
    if (Array.isArray(input)) throw new Error('STFAN: expected one clip tensor [B, T, H, W, 3], got a list');
    if (input.rank !== 5) throw new Error(`STFAN: input must be a clip [B, T, H, W, 3], got shape ${JSON.stringify(input.shape)}`);
    const [b, t, h, w, c] = input.shape as [number, number, number, number, number];
    if (c !== 3) throw new Error(`STFAN: input has ${c} channels, expected 3 (RGB)`);
    if (t < 1) throw new Error('STFAN: the clip has no frames');
    const frames = tf.unstack(input, 1);
    let lastBlur = frames[0]!;
    let lastOutput: Tensor = frames[0]!;
    let lastFeature: Tensor | null = null;
    const outputs: Tensor[] = [];
    for (const blur of frames) {
      // A scope per frame frees each step's activations early (long clips at full resolution).
      const [output, feature] = tf.tidy(() => {
        const r = step(p, { blur, lastBlur, lastOutput, lastFeature });
        return [r.output, r.feature];
      }) as [Tensor4D, Tensor4D];
      outputs.push(output);
      lastBlur = blur;
      lastOutput = output;
      lastFeature = feature;
    }
    return tf.stack(outputs, 1);
  };

  return { ...makeModel('STFAN', store, apply), cell };
}

/**
 * Model component STFAN, "Spatio-Temporal Filter Adaptive Network for Video Deblurring" (Zhou et al.
 * 2019): a recurrent cell with filter-adaptive convolutions run over the clip, N frames to N.
 */
export const stfan = defineModel({
  type: 'stfan',
  inference: () => ({ strategy: { type: 'stfanRecurrent' }, sampling: { sampling: 'video' } }),
  codec: options,
  // The original's configurations name the cell; its STFAN module runs the same cell over a clip.
  original: { className: ['STFAN', 'STFANCell'] },
  build: buildStfan,
  sizeMultiple: SIZE_MULTIPLE,
  describe: 'STFAN (Zhou et al. 2019): the STFANCell with filter-adaptive convolutions, run over the clip; N frames to N',
});
