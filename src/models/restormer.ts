// Restormer (Zamir et al. 2022): a four-level U-Net of transformer blocks whose
// attention runs across channels (MDTA: a C/heads × C/heads attention map per head, so the cost
// is linear in the number of pixels) and whose feed-forward part is a gated depthwise-conv
// network (GDFN). The restored image is the input plus the predicted residual.
//
// Differences from the original: none in the computation. Inputs are checked up front (a 5-D
// input must have one frame; other sizes than multiples of 8 are mirror-padded, see pad.ts), and
// `outChannels` must equal `inpChannels` unless `dualPixelTask` is set (the residual add would
// fail otherwise). With the `tlc` option the attention statistics are taken over a local window
// around each pixel instead of the whole map (the test-time local converter; see tlc-ops.ts).
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { getParam } from '../nn/params.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import { Bool, NonNegInt, oneOf, PositiveInt, PositiveNumber, strict } from '../config/codecs.ts';
import type { Problem } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import * as t from 'io-ts';
import { conv2dLayer, layerNorm2dLayer } from '../nn/layers.ts';
import { layerNorm } from '../nn/norm.ts';
import { gelu } from '../nn/activations.ts';
import { pixelShuffle, pixelUnshuffle } from '../nn/shuffle.ts';
import { ones } from '../nn/init.ts';
import { chain } from '../nn/chain.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';
import { coversMap, localTransposedAttention, tlcOption, tlcWindow, type Window } from './tlc-ops.ts';

const quad = <C extends t.Mixed>(c: C, name: string) => t.tuple([c, c, c, c], name);

const options = strict(
  {
    inpChannels: PositiveInt,
    outChannels: PositiveInt,
    dim: PositiveInt,
    // Blocks per level: encoder/decoder levels 1..3 and the latent level.
    numBlocks: quad(NonNegInt, 'four non-negative integers'),
    numRefinementBlocks: NonNegInt,
    // Attention heads per level (level 1 also for the decoder-1 and refinement blocks).
    heads: quad(PositiveInt, 'four positive integers'),
    ffnExpansionFactor: PositiveNumber,
    // Bias in the convolutions of the blocks, channel reductions, skip and output (the patch
    // embedding never has one).
    bias: Bool,
    layerNormType: oneOf('WithBias', 'BiasFree'),
    // Adds a 1×1 skip from the embedded input and drops the input residual (dual-pixel defocus).
    dualPixelTask: Bool,
  },
  // Test-time local converter: attention over a window 1.5x the training crop's feature size at
  // each level.
  { tlc: tlcOption },
);
export type RestormerOptions = t.TypeOf<typeof options>;
type LayerNormType = RestormerOptions['layerNormType'];

type Fn = (p: Params, x: Tensor) => Tensor;

/** LayerNorm over channels, eps 1e-5; parameters under `<scope>.body`. */
function norm(s: Scope, c: number, type: LayerNormType): Fn {
  const body = s.child('body');
  if (type === 'WithBias') return layerNorm2dLayer(body, { channels: c, eps: 1e-5 });
  // BiasFree scales by the standard deviation but does not subtract the mean.
  const w = body.param('weight', [c], 'plain', ones);
  return (p, x) => layerNorm(x, getParam(p, w), null, 1e-5, false);
}

/** Unit L2 norm along `axis`, as F.normalize (the norm is clamped below at 1e-12). */
function l2Normalize(x: Tensor, axis: number): Tensor {
  return tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), axis, true)), 1e-12));
}

/**
 * Multi-Dconv head transposed attention: attention between channels, per head; `window`: TLC's
 * window, null for attention over the whole map.
 */
function mdta(s: Scope, dim: number, heads: number, bias: boolean, window: Window | null): Fn {
  const ch = dim / heads;
  const temperature = s.param('temperature', [heads, 1, 1], 'plain', ones);
  const qkv = conv2dLayer(s.child('qkv'), { inChannels: dim, outChannels: 3 * dim, kernelSize: 1, bias });
  const dw = conv2dLayer(s.child('qkv_dwconv'), { inChannels: 3 * dim, outChannels: 3 * dim, kernelSize: 3, padding: 1, groups: 3 * dim, bias });
  const projectOut = conv2dLayer(s.child('project_out'), { inChannels: dim, outChannels: dim, kernelSize: 1, bias });
  return (p, x) => {
    const [b, h, w] = x.shape as [number, number, number, number];
    if (window !== null && !coversMap(x, window)) {
      const [q, k, v] = tf.split(dw(p, qkv(p, x)), 3, -1) as [Tensor, Tensor, Tensor];
      return projectOut(p, localTransposedAttention(q, k, v, getParam(p, temperature), heads, window));
    }
    // Channels are ordered (head, c) as in the original's rearrange; here each head becomes a
    // [pixels, c] matrix.
    const toHeads = (t: Tensor): Tensor => t.reshape([b, h * w, heads, ch]).transpose([0, 2, 1, 3]);
    const [q, k, v] = tf.split(dw(p, qkv(p, x)), 3, -1).map(toHeads) as [Tensor, Tensor, Tensor];
    // attn[c1, c2] = Σ_pixels q̂[·, c1] k̂[·, c2], scaled per head.
    const logits = tf.matMul(l2Normalize(q, 2), l2Normalize(k, 2), true, false).mul(getParam(p, temperature).reshape([1, heads, 1, 1]));
    const attn = tf.softmax(logits);
    // out[c, n] = Σ_c2 attn[c, c2] v[c2, n], written as v · attnᵀ in [pixels, c] layout.
    const out = tf.matMul(v, attn, false, true).transpose([0, 2, 1, 3]).reshape([b, h, w, dim]);
    return projectOut(p, out);
  };
}

/** Gated-Dconv feed-forward network: GELU(x1) · x2 after a depthwise 3×3. */
function gdfn(s: Scope, dim: number, factor: number, bias: boolean): Fn {
  // Python's int(dim * factor): truncation of the same double product.
  const hidden = Math.trunc(dim * factor);
  const projectIn = conv2dLayer(s.child('project_in'), { inChannels: dim, outChannels: 2 * hidden, kernelSize: 1, bias });
  const dw = conv2dLayer(s.child('dwconv'), { inChannels: 2 * hidden, outChannels: 2 * hidden, kernelSize: 3, padding: 1, groups: 2 * hidden, bias });
  const projectOut = conv2dLayer(s.child('project_out'), { inChannels: hidden, outChannels: dim, kernelSize: 1, bias });
  return (p, x) => {
    const [x1, x2] = tf.split(dw(p, projectIn(p, x)), 2, -1) as [Tensor, Tensor];
    return projectOut(p, tf.mul(gelu(x1), x2));
  };
}

function transformerBlock(s: Scope, dim: number, heads: number, o: RestormerOptions, window: Window | null): Fn {
  const norm1 = norm(s.child('norm1'), dim, o.layerNormType);
  const attn = mdta(s.child('attn'), dim, heads, o.bias, window);
  const norm2 = norm(s.child('norm2'), dim, o.layerNormType);
  const ffn = gdfn(s.child('ffn'), dim, o.ffnExpansionFactor, o.bias);
  // Each half in its own scope, so its intermediates are freed when it returns instead of at the
  // end of the model's tidy (what the backward pass reads is kept by the tape).
  return (p, x) => {
    const y = tf.tidy(() => tf.add(x, attn(p, norm1(p, x))));
    const out = tf.tidy(() => tf.add(y, ffn(p, norm2(p, y))));
    y.dispose();
    return out;
  };
}

/** `level`: the blocks' stride-2 level (their map is 1/2^level of the input). */
function blocks(s: Scope, n: number, dim: number, heads: number, o: RestormerOptions, level: number): Fn {
  // The network runs on multiples of 8 (three levels).
  const window = o.tlc === undefined ? null : tlcWindow(o.tlc, 8, level);
  const list = Array.from({ length: n }, (_, i) => transformerBlock(s.child(i), dim, heads, o, window));
  return (p, x) => chain(x, ...list.map((blk) => (h: Tensor) => blk(p, h)));
}

/** conv3×3 (C→C/2, no bias) + PixelUnshuffle(2): half the size, twice the channels. */
function downsample(s: Scope, c: number): Fn {
  const conv = conv2dLayer(s.child('body').child(0), { inChannels: c, outChannels: c / 2, kernelSize: 3, padding: 1, bias: false });
  return (p, x) => pixelUnshuffle(conv(p, x), 2);
}

/** conv3×3 (C→2C, no bias) + PixelShuffle(2): twice the size, half the channels. */
function upsample(s: Scope, c: number): Fn {
  const conv = conv2dLayer(s.child('body').child(0), { inChannels: c, outChannels: 2 * c, kernelSize: 3, padding: 1, bias: false });
  return (p, x) => pixelShuffle(conv(p, x), 2);
}

function check(o: RestormerOptions): Problem[] {
  const problems: Problem[] = [];
  const hidden = Math.trunc(o.dim * o.ffnExpansionFactor);
  if (hidden < 1) problems.push({ path: 'ffnExpansionFactor', message: `expected at least 1 hidden channel (trunc(dim × factor)), got ${hidden} with dim ${o.dim} and factor ${o.ffnExpansionFactor}` });
  // The downsampling convs halve the channels before PixelUnshuffle.
  if (o.dim % 2 !== 0) problems.push({ path: 'dim', message: `expected an even number, got ${o.dim}` });
  o.heads.forEach((h, i) => {
    const width = o.dim * 2 ** i;
    if (width % h !== 0) problems.push({ path: `heads.${i}`, message: `expected a divisor of the level-${i + 1} width ${width}, got ${h}` });
  });
  if (!o.dualPixelTask && o.inpChannels !== o.outChannels) {
    problems.push({ path: 'outChannels', message: `expected inpChannels (${o.inpChannels}) for the input residual (or set dualPixelTask), got ${o.outChannels}` });
  }
  return problems;
}

function buildRestormer(o: RestormerOptions, store: ParamStore): Model {
  const { dim, numBlocks: nb, heads, bias } = o;
  const r = store.root();
  // The original's OverlapPatchEmbed is built without its bias argument, so it has no bias.
  const patchEmbed = conv2dLayer(r.child('patch_embed').child('proj'), { inChannels: o.inpChannels, outChannels: dim, kernelSize: 3, padding: 1, bias: false });
  const enc1 = blocks(r.child('encoder_level1'), nb[0], dim, heads[0], o, 0);
  const down12 = downsample(r.child('down1_2'), dim);
  const enc2 = blocks(r.child('encoder_level2'), nb[1], 2 * dim, heads[1], o, 1);
  const down23 = downsample(r.child('down2_3'), 2 * dim);
  const enc3 = blocks(r.child('encoder_level3'), nb[2], 4 * dim, heads[2], o, 2);
  const down34 = downsample(r.child('down3_4'), 4 * dim);
  const latent = blocks(r.child('latent'), nb[3], 8 * dim, heads[3], o, 3);
  const up43 = upsample(r.child('up4_3'), 8 * dim);
  const reduce3 = conv2dLayer(r.child('reduce_chan_level3'), { inChannels: 8 * dim, outChannels: 4 * dim, kernelSize: 1, bias });
  const dec3 = blocks(r.child('decoder_level3'), nb[2], 4 * dim, heads[2], o, 2);
  const up32 = upsample(r.child('up3_2'), 4 * dim);
  const reduce2 = conv2dLayer(r.child('reduce_chan_level2'), { inChannels: 4 * dim, outChannels: 2 * dim, kernelSize: 1, bias });
  const dec2 = blocks(r.child('decoder_level2'), nb[1], 2 * dim, heads[1], o, 1);
  const up21 = upsample(r.child('up2_1'), 2 * dim);
  // Level 1 keeps the concatenated 2·dim channels (no reduction).
  const dec1 = blocks(r.child('decoder_level1'), nb[0], 2 * dim, heads[0], o, 0);
  const refinement = blocks(r.child('refinement'), o.numRefinementBlocks, 2 * dim, heads[0], o, 0);
  const skip = o.dualPixelTask ? conv2dLayer(r.child('skip_conv'), { inChannels: dim, outChannels: 2 * dim, kernelSize: 1, bias }) : null;
  const output = conv2dLayer(r.child('output'), { inChannels: 2 * dim, outChannels: o.outChannels, kernelSize: 3, padding: 1, bias });

  const apply = (p: Params, input: ModelInput): Tensor => {
    if (Array.isArray(input)) throw new Error('Restormer: expected one image tensor [B, H, W, C], got a list');
    let img = input;
    if (img.rank === 5) {
      if (img.shape[1] !== 1) throw new Error(`Restormer: a clip input must have exactly one frame, got shape ${JSON.stringify(img.shape)}`);
      img = img.squeeze([1]);
    }
    if (img.rank !== 4) throw new Error(`Restormer: input must be [B, H, W, C] or [B, 1, H, W, C], got shape ${JSON.stringify(input.shape)}`);
    const [, h, w, c] = img.shape as [number, number, number, number];
    if (c !== o.inpChannels) throw new Error(`Restormer: input has ${c} channels, the model was built for ${o.inpChannels}`);
    if (h % 8 !== 0 || w % 8 !== 0) throw new Error(`Restormer: H and W must be multiples of 8 (three 2× downsamplings, no padding), got ${h}x${w}`);
    const e0 = patchEmbed(p, img);
    const e1 = enc1(p, e0);
    const e2 = enc2(p, down12(p, e1));
    const e3 = enc3(p, down23(p, e2));
    const lat = latent(p, down34(p, e3));
    const d3 = dec3(p, reduce3(p, tf.concat([up43(p, lat), e3], -1)));
    const d2 = dec2(p, reduce2(p, tf.concat([up32(p, d3), e2], -1)));
    const d1 = refinement(p, dec1(p, tf.concat([up21(p, d2), e1], -1)));
    if (skip !== null) return output(p, tf.add(d1, skip(p, e0)));
    return tf.add(output(p, d1), img);
  };
  return makeModel('Restormer', store, apply);
}

/**
 * Model component Restormer (Zamir et al. 2022): a transformer U-Net with transposed (channel)
 * attention; any H and W (mirror-padded to multiples of 8).
 */
export const restormer = defineModel({
  type: 'restormer',
  codec: options,
  defaults: { inpChannels: 3, outChannels: 3, dim: 48, numBlocks: [4, 6, 6, 8], numRefinementBlocks: 4, heads: [1, 2, 4, 8], ffnExpansionFactor: 2.66, bias: false, layerNormType: 'WithBias', dualPixelTask: false },
  check,
  // Three 2x downsamplings.
  sizeMultiple: 8,
  original: { className: 'Restormer', names: { layerNormType: 'LayerNorm_type' }, extra: ['tlc'] },
  build: buildRestormer,
  describe: 'Restormer (Zamir et al. 2022): transformer U-Net with transposed attention',
});
