// EDVR (Wang et al. 2019), BasicSR version: per-frame feature pyramids (optionally
// from a pre-deblurring module), Pyramid-Cascading-Deformable alignment of every frame to the
// centre frame with modulated deformable convolutions, Temporal-Spatial-Attention fusion, a
// residual reconstruction trunk with two ×2 pixel-shuffle upsamplings, and the centre frame
// added back (bilinearly ×4 upsampled unless the input is already high-resolution).
//
// Differences from the original:
// - All frames are aligned in one batched pass (the original loops over frames); each frame's
//   computation is unchanged.
// - Inputs are checked up front (rank, frame count, channels) and take any H and W: sizes
//   that are not multiples of 16 with hrIn, else of 4 (which the original needs), are
//   mirror-padded and the output cropped back. The spec check rejects hrIn without the
//   pre-deblurring module (the original builds it and then fails on mismatched sizes) and
//   numOutCh ≠ numInCh (the output is added to the centre frame).
// - The pre-deblurring module's first convolution takes numInCh channels (the original
//   hard-codes 3, so other values crash there).
// - No warning is logged when the mean |offset| exceeds 50 (the original's warning call
//   crashes); reading the value back would cost a sync per alignment.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { getParam } from '../nn/params.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import type { Problem } from '../config/codecs.ts';
import { Bool, NonNegInt, PositiveInt, strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import type * as t from 'io-ts';
import { conv2dLayer } from '../nn/layers.ts';
import { conv2d } from '../nn/conv.ts';
import { leakyRelu, relu, sigmoid } from '../nn/activations.ts';
import { pixelShuffle } from '../nn/shuffle.ts';
import { interpolate } from '../nn/interpolate.ts';
import { avgPool2d, maxPool2d } from '../nn/pool.ts';
import { normal, uniform, zeros } from '../nn/init.ts';
import { deformConv2d } from '../nn/ops/deform-conv.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';

const options = strict({
  numInCh: PositiveInt,
  numOutCh: PositiveInt,
  numFeat: PositiveInt,
  numFrame: PositiveInt,
  deformableGroups: PositiveInt,
  numExtractBlock: NonNegInt,
  numReconstructBlock: NonNegInt,
  centerFrameIdx: NonNegInt,
  // Input frames are high-resolution: features are extracted at 1/4 size and the output keeps
  // the input size (otherwise the output is 4× the input, as for super-resolution).
  hrIn: Bool,
  withPredeblur: Bool,
  withTsa: Bool,
});
export type EdvrOptions = t.TypeOf<typeof options>;

type Fn = (p: Params, x: Tensor) => Tensor;

const lrelu = (x: Tensor): Tensor => leakyRelu(x, 0.1);
const up2 = (x: Tensor): Tensor => interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners: false });
const cat = (ts: Tensor[]): Tensor => tf.concat(ts, 3);

function conv(s: Scope, cin: number, cout: number, k: number, stride = 1): Fn {
  return conv2dLayer(s, { inChannels: cin, outChannels: cout, kernelSize: k, stride, padding: (k - 1) / 2 });
}

/** ResidualBlockNoBN: x + conv(ReLU(conv(x))); weights kaiming-normal (fan_in, gain √2) × 0.1, biases 0. */
function residualBlock(s: Scope, c: number): Fn {
  const std = 0.1 * Math.sqrt(2 / (9 * c));
  const layer = (name: string): Fn => {
    const w = s.child(name).param('weight', [3, 3, c, c], 'conv', normal(0, std));
    const b = s.child(name).param('bias', [c], 'plain', zeros);
    return (p, x) => conv2d(x, getParam(p, w), getParam(p, b), { padding: 1 });
  };
  const conv1 = layer('conv1');
  const conv2 = layer('conv2');
  return (p, x) => tf.add(x, conv2(p, relu(conv1(p, x))));
}

function residualBlocks(s: Scope, n: number, c: number): Fn {
  const list = Array.from({ length: n }, (_, i) => residualBlock(s.child(i), c));
  return (p, x) => list.reduce((h, blk) => blk(p, h), x);
}

/**
 * DCNv2Pack (3×3, padding 1): `conv_offset` (zero-initialised) maps the offset features to
 * 3·G·9 channels, split into Δ (the first 2·G·9, torchvision's (Δy, Δx) pairs) and the mask
 * logits (the last G·9). Main weight U(±1/√(9C)), bias 0.
 */
function dcnPack(s: Scope, c: number, groups: number): (p: Params, x: Tensor, offsetFeat: Tensor) => Tensor {
  const taps = 9;
  const offW = s.child('conv_offset').param('weight', [3, 3, c, 3 * groups * taps], 'conv', zeros);
  const offB = s.child('conv_offset').param('bias', [3 * groups * taps], 'plain', zeros);
  const bound = 1 / Math.sqrt(c * taps);
  const w = s.param('weight', [3, 3, c, c], 'conv', uniform(-bound, bound));
  const b = s.param('bias', [c], 'plain', zeros);
  return (p, x, offsetFeat) => {
    const out = conv2d(offsetFeat, getParam(p, offW), getParam(p, offB), { padding: 1 });
    const [bs, h, wd] = out.shape;
    const offset = tf.slice(out, [0, 0, 0, 0], [bs, h, wd, 2 * groups * taps]);
    const mask = sigmoid(tf.slice(out, [0, 0, 0, 2 * groups * taps], [bs, h, wd, groups * taps]));
    return deformConv2d(x, offset, mask, getParam(p, w), getParam(p, b), { padding: 1, deformableGroups: groups });
  };
}

type Pyramid = readonly [Tensor, Tensor, Tensor];

/** Pyramid, cascading and deformable alignment of neighbour pyramids to reference pyramids (same batch). */
function pcdAlign(s: Scope, c: number, groups: number): (p: Params, nbr: Pyramid, ref: Pyramid) => Tensor {
  const lvl = (name: string, l: number): Scope => s.child(name).child(`l${l}`);
  const offset1 = [3, 2, 1].map((l) => conv(lvl('offset_conv1', l), 2 * c, c, 3));
  const offset2 = [3, 2, 1].map((l) => conv(lvl('offset_conv2', l), l === 3 ? c : 2 * c, c, 3));
  const offset3 = [2, 1].map((l) => conv(lvl('offset_conv3', l), c, c, 3));
  const dcn = [3, 2, 1].map((l) => dcnPack(lvl('dcn_pack', l), c, groups));
  const featConv = [2, 1].map((l) => conv(lvl('feat_conv', l), 2 * c, c, 3));
  const casOffset1 = conv(s.child('cas_offset_conv1'), 2 * c, c, 3);
  const casOffset2 = conv(s.child('cas_offset_conv2'), c, c, 3);
  const casDcn = dcnPack(s.child('cas_dcnpack'), c, groups);
  return (p, nbr, ref) => {
    let upOffset: Tensor | null = null;
    let upFeat: Tensor | null = null;
    let feat: Tensor | null = null;
    // Index 0 is level 3 (coarsest), 2 is level 1.
    for (let i = 0; i < 3; i++) {
      const level = 3 - i;
      const n = nbr[level - 1]!;
      let offset = lrelu(offset1[i]!(p, cat([n, ref[level - 1]!])));
      if (upOffset === null) offset = lrelu(offset2[i]!(p, offset));
      else offset = lrelu(offset3[i - 1]!(p, lrelu(offset2[i]!(p, cat([offset, upOffset])))));
      feat = dcn[i]!(p, n, offset);
      if (upFeat !== null) feat = featConv[i - 1]!(p, cat([feat, upFeat]));
      if (level > 1) {
        feat = lrelu(feat);
        // Offsets are in pixels, so they double with the resolution.
        upOffset = tf.mul(up2(offset), 2);
        upFeat = up2(feat);
      }
    }
    const f = feat!;
    const offset = lrelu(casOffset2(p, lrelu(casOffset1(p, cat([f, ref[0]])))));
    return lrelu(casDcn(p, f, offset));
  };
}

/** avg_pool2d(3, stride 2, padding 1), padding counted in the average (PyTorch's default). */
const avgPool3s2 = (x: Tensor): Tensor => avgPool2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 2);
const maxPool3s2 = (x: Tensor): Tensor => maxPool2d(x, 3, 2, 1);
const pools = (x: Tensor): Tensor => cat([maxPool3s2(x), avgPool3s2(x)]);

/** TSA fusion of aligned features `[B, T, h, w, C]` to `[B, h, w, C]`. */
function tsaFusion(s: Scope, c: number, t: number, centre: number): (p: Params, aligned: Tensor) => Tensor {
  const c1 = (name: string, cin: number): Fn => conv(s.child(name), cin, c, 1);
  const c3 = (name: string, cin: number): Fn => conv(s.child(name), cin, c, 3);
  const temporal1 = c3('temporal_attn1', c);
  const temporal2 = c3('temporal_attn2', c);
  const featFusion = c1('feat_fusion', t * c);
  const sa1 = c1('spatial_attn1', t * c);
  const sa2 = c1('spatial_attn2', 2 * c);
  const sa3 = c3('spatial_attn3', c);
  const sa4 = c1('spatial_attn4', c);
  const sa5 = c3('spatial_attn5', c);
  const saL1 = c1('spatial_attn_l1', c);
  const saL2 = c3('spatial_attn_l2', 2 * c);
  const saL3 = c3('spatial_attn_l3', c);
  const saAdd1 = c1('spatial_attn_add1', c);
  const saAdd2 = c1('spatial_attn_add2', c);
  return (p, aligned) => {
    const [b, , h, w] = aligned.shape as [number, number, number, number, number];
    const ref = tf.slice(aligned, [0, centre, 0, 0, 0], [b, 1, h, w, c]).reshape([b, h, w, c]);
    const embRef = temporal1(p, ref);
    const emb = temporal2(p, aligned.reshape([b * t, h, w, c])).reshape([b, t, h, w, c]);
    // Per-frame, per-pixel correlation with the reference embedding.
    const prob = sigmoid(tf.sum(tf.mul(emb, embRef.reshape([b, 1, h, w, c])), 4, true));
    // Frame-major channels (t·C + c), as the original's view(b, -1, h, w).
    const weighted = tf.mul(aligned, prob).transpose([0, 2, 3, 1, 4]).reshape([b, h, w, t * c]);
    const feat = lrelu(featFusion(p, weighted));
    let attn = lrelu(sa1(p, weighted));
    attn = lrelu(sa2(p, pools(attn)));
    let level = lrelu(saL1(p, attn));
    level = lrelu(saL2(p, pools(level)));
    level = up2(lrelu(saL3(p, level)));
    attn = tf.add(lrelu(sa3(p, attn)), level);
    attn = lrelu(sa4(p, attn));
    attn = sa5(p, up2(attn));
    const attnAdd = saAdd2(p, lrelu(saAdd1(p, attn)));
    return tf.add(tf.mul(tf.mul(feat, sigmoid(attn)), 2), attnAdd);
  };
}

/** Pre-deblurring module: a small three-level residual U-Net (with two extra stride-2 convs for hrIn). */
function predeblur(s: Scope, cin: number, c: number, hrIn: boolean): Fn {
  const first = conv(s.child('conv_first'), cin, c, 3);
  const hr1 = hrIn ? conv(s.child('stride_conv_hr1'), c, c, 3, 2) : null;
  const hr2 = hrIn ? conv(s.child('stride_conv_hr2'), c, c, 3, 2) : null;
  const l2 = conv(s.child('stride_conv_l2'), c, c, 3, 2);
  const l3 = conv(s.child('stride_conv_l3'), c, c, 3, 2);
  const rbL3 = residualBlock(s.child('resblock_l3'), c);
  const rbL21 = residualBlock(s.child('resblock_l2_1'), c);
  const rbL22 = residualBlock(s.child('resblock_l2_2'), c);
  const rbL1 = Array.from({ length: 5 }, (_, i) => residualBlock(s.child('resblock_l1').child(i), c));
  return (p, x) => {
    let f1 = lrelu(first(p, x));
    if (hr1 !== null && hr2 !== null) f1 = lrelu(hr2(p, lrelu(hr1(p, f1))));
    const f2 = lrelu(l2(p, f1));
    const f3 = up2(rbL3(p, lrelu(l3(p, f2))));
    const f2u = up2(rbL22(p, tf.add(rbL21(p, f2), f3)));
    f1 = tf.add(rbL1[1]!(p, rbL1[0]!(p, f1)), f2u);
    return rbL1[4]!(p, rbL1[3]!(p, rbL1[2]!(p, f1)));
  };
}

/** L1 features with the pre-deblurring module (1/4 size with hrIn) and a 1×1 conv. */
function predeblurFeatures(s: Scope, cin: number, c: number, hrIn: boolean): Fn {
  const pre = predeblur(s.child('predeblur'), cin, c, hrIn);
  const conv1x1 = conv(s.child('conv_1x1'), c, c, 1);
  return (p, x) => conv1x1(p, pre(p, x));
}

/** L1 features without it: LReLU(conv3×3). */
function plainFeatures(s: Scope, cin: number, c: number): Fn {
  const convFirst = conv(s.child('conv_first'), cin, c, 3);
  return (p, x) => lrelu(convFirst(p, x));
}

/** Fusion without TSA: a 1×1 conv over the frame-major concatenation of the aligned features. */
function concatFusion(s: Scope, c: number, t: number): (p: Params, aligned: Tensor) => Tensor {
  const fuse = conv(s, t * c, c, 1);
  return (p, a) => {
    const [b, , h, w] = a.shape as [number, number, number, number, number];
    return fuse(p, a.transpose([0, 2, 3, 1, 4]).reshape([b, h, w, t * c]));
  };
}

function check(o: EdvrOptions): Problem[] {
  const problems: Problem[] = [];
  if (o.centerFrameIdx >= o.numFrame) problems.push({ path: 'centerFrameIdx', message: `expected a frame index below numFrame (${o.numFrame}), got ${o.centerFrameIdx}` });
  if (o.numFeat % o.deformableGroups !== 0) problems.push({ path: 'deformableGroups', message: `expected a divisor of numFeat (${o.numFeat}), got ${o.deformableGroups}` });
  if (o.numOutCh !== o.numInCh) problems.push({ path: 'numOutCh', message: `expected ${o.numInCh} like numInCh (the output is added to the centre frame), got ${o.numOutCh}` });
  if (o.hrIn && !o.withPredeblur) problems.push({ path: 'withPredeblur', message: 'expected true with hrIn (only the pre-deblurring module reduces the feature size by 4), got false' });
  return problems;
}

function buildEdvr(opts: EdvrOptions, store: ParamStore): Model {
  const { numInCh: cin, numOutCh: cout, numFeat: c, numFrame: t, centerFrameIdx: centre, hrIn } = opts;
  const s = store.root();
  const first = opts.withPredeblur ? predeblurFeatures(s, cin, c, hrIn) : plainFeatures(s, cin, c);
  const extract = residualBlocks(s.child('feature_extraction'), opts.numExtractBlock, c);
  const l2a = conv(s.child('conv_l2_1'), c, c, 3, 2);
  const l2b = conv(s.child('conv_l2_2'), c, c, 3);
  const l3a = conv(s.child('conv_l3_1'), c, c, 3, 2);
  const l3b = conv(s.child('conv_l3_2'), c, c, 3);
  const align = pcdAlign(s.child('pcd_align'), c, opts.deformableGroups);
  const fusion = opts.withTsa ? tsaFusion(s.child('fusion'), c, t, centre) : concatFusion(s.child('fusion'), c, t);
  const reconstruct = residualBlocks(s.child('reconstruction'), opts.numReconstructBlock, c);
  const upconv1 = conv(s.child('upconv1'), c, 4 * c, 3);
  const upconv2 = conv(s.child('upconv2'), c, 64 * 4, 3);
  const convHr = conv(s.child('conv_hr'), 64, 64, 3);
  const convLast = conv(s.child('conv_last'), 64, cout, 3);

  const apply = (p: Params, input: ModelInput): Tensor => {
    if (Array.isArray(input)) throw new Error('EDVR: expected one clip tensor [B, T, H, W, C], got a list');
    if (input.rank !== 5) throw new Error(`EDVR: input must be a clip [B, T, H, W, C], got shape ${JSON.stringify(input.shape)}`);
    const [b, tt, h, w, ch] = input.shape as [number, number, number, number, number];
    if (tt !== t) throw new Error(`EDVR: input has ${tt} frames, the model was built for ${t}`);
    if (ch !== cin) throw new Error(`EDVR: input has ${ch} channels, the model was built for ${cin}`);
    const centreFrame = tf.slice(input, [0, centre, 0, 0, 0], [b, 1, h, w, ch]).reshape([b, h, w, ch]);
    const f1 = extract(p, first(p, input.reshape([b * t, h, w, ch])));
    const f2 = lrelu(l2b(p, lrelu(l2a(p, f1))));
    const f3 = lrelu(l3b(p, lrelu(l3a(p, f2))));
    const nbr: Pyramid = [f1, f2, f3];
    // The reference pyramid repeated for every frame, so all frames align in one batch.
    const ref = nbr.map((f) => {
      const [, fh, fw, fc] = f.shape as [number, number, number, number];
      // Rank 3: tfjs has no tile gradient for rank 5.
      const n = fh * fw * fc;
      return tf.tile(tf.slice(f.reshape([b, t, n]), [0, centre, 0], [b, 1, n]), [1, t, 1]).reshape([b * t, fh, fw, fc]);
    }) as unknown as Pyramid;
    const aligned = align(p, nbr, ref);
    const [, ah, aw] = aligned.shape as [number, number, number, number];
    const feat = fusion(p, aligned.reshape([b, t, ah, aw, c]));
    let out = reconstruct(p, feat);
    out = lrelu(pixelShuffle(upconv1(p, out), 2));
    out = lrelu(pixelShuffle(upconv2(p, out), 2));
    out = convLast(p, lrelu(convHr(p, out)));
    const base = hrIn ? centreFrame : interpolate(centreFrame, { scaleFactor: 4, mode: 'bilinear', alignCorners: false });
    return tf.add(out, base);
  };
  return makeModel('EDVR', store, apply);
}

/**
 * Model component EDVR (Wang et al. 2019, BasicSR version): PCD alignment with deformable convolutions
 * and TSA fusion; preset `deblur` takes high-resolution input with pre-deblurring.
 */
export const edvr = defineModel({
  type: 'edvr',
  codec: options,
  defaults: {
    numInCh: 3,
    numOutCh: 3,
    numFeat: 64,
    numFrame: 5,
    deformableGroups: 8,
    numExtractBlock: 5,
    numReconstructBlock: 10,
    centerFrameIdx: 2,
    hrIn: false,
    withPredeblur: false,
    withTsa: true,
  },
  check,
  original: { className: 'EDVR' },
  // The deblurring configurations (edvr_dvd, edvr_l_dvd): sharp frames at the input size.
  presets: { deblur: { hrIn: true, withPredeblur: true, withTsa: true } },
  build: buildEdvr,
  // Two stride-2 pyramid levels, and with hrIn the pre-deblurring module's two more.
  sizeMultiple: (o) => (o.hrIn ? 16 : 4),
  describe: 'EDVR (Wang et al. 2019): PCD alignment with deformable convolutions, TSA fusion; preset deblur: hrIn with pre-deblurring',
});
