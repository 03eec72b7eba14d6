// PWC-Net (Sun et al. 2018) as re-implemented in sniklaus/pytorch-pwc, the flow network inside
// CDVD-TSP. Parameter names follow that implementation's module attributes
// (`moduleExtractor.moduleOne.0.weight`, `moduleSix.moduleUpfeat.weight`, ...), so its published
// weights load under the caller's prefix (`flow_net.moduleNetwork.` in CDVD-TSP).
//
// Network(first, second) returns the flow at a quarter of the input size, in units of 1/20 px;
// `estimateFlow` wraps it as CDVD-TSP does (resize to multiples of 64, upsample, rescale).
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import type { Params, Scope } from '../nn/params.ts';
import { conv2dLayer, convTranspose2dLayer } from '../nn/layers.ts';
import { leakyRelu } from '../nn/activations.ts';
import { interpolate } from '../nn/interpolate.ts';
import { pwcCorrelation } from '../nn/ops/correlation.ts';
import { PWC_BACKWARP, warp } from '../nn/ops/warp.ts';

type Layer = (p: Params, x: Tensor) => Tensor4D;

const lrelu = (x: Tensor): Tensor => leakyRelu(x, 0.1);

/** Extractor level names and widths, finest (H/2) first. */
const LEVEL_NAMES = ['moduleOne', 'moduleTwo', 'moduleThr', 'moduleFou', 'moduleFiv', 'moduleSix'] as const;
const EXTRACTOR_WIDTHS = [16, 32, 64, 96, 128, 196];
/** Dense-block widths; a decoder's final feature has its input width + 448 channels. */
const DENSE_WIDTHS = [128, 128, 96, 64, 32];
const DENSE = DENSE_WIDTHS.reduce((a, b) => a + b, 0);
/** Decoder input widths, by level: the 81-channel cost volume (+ f1 + flow + upsampled feature). */
const DECODER_IN: Record<number, number> = { 6: 81, 5: 81 + 128 + 4, 4: 81 + 96 + 4, 3: 81 + 64 + 4, 2: 81 + 32 + 4 };
/** Scale from the upsampled flow (1/20 px at the coarser level) to pixels at this level. */
const BACKWARP_SCALE: Record<number, number> = { 5: 0.625, 4: 1.25, 3: 2.5, 2: 5.0 };

function extractor(scope: Scope): (p: Params, x: Tensor) => Tensor[] {
  let cin = 3;
  const levels = LEVEL_NAMES.map((name, i) => {
    const s = scope.child(name);
    const cout = EXTRACTOR_WIDTHS[i]!;
    const convs = [
      conv2dLayer(s.child(0), { inChannels: cin, outChannels: cout, kernelSize: 3, stride: 2, padding: 1 }),
      conv2dLayer(s.child(2), { inChannels: cout, outChannels: cout, kernelSize: 3, padding: 1 }),
      conv2dLayer(s.child(4), { inChannels: cout, outChannels: cout, kernelSize: 3, padding: 1 }),
    ];
    cin = cout;
    return convs;
  });
  return (p, x) => {
    const out: Tensor[] = [];
    let h = x;
    for (const convs of levels) {
      for (const c of convs) h = lrelu(c(p, h));
      out.push(h);
    }
    return out;
  };
}

interface Estimate {
  readonly flow: Tensor;
  readonly feat: Tensor;
}

function decoder(scope: Scope, level: number): (p: Params, f1: Tensor, f2: Tensor, prev: Estimate | null) => Estimate {
  const cur = DECODER_IN[level]!;
  const up =
    level < 6
      ? {
          flow: convTranspose2dLayer(scope.child('moduleUpflow'), { inChannels: 2, outChannels: 2, kernelSize: 4, stride: 2, padding: 1 }),
          feat: convTranspose2dLayer(scope.child('moduleUpfeat'), { inChannels: DECODER_IN[level + 1]! + DENSE, outChannels: 2, kernelSize: 4, stride: 2, padding: 1 }),
          scale: BACKWARP_SCALE[level]!,
        }
      : null;
  let width = cur;
  const dense: Layer[] = DENSE_WIDTHS.map((cout, i) => {
    const conv = conv2dLayer(scope.child(LEVEL_NAMES[i]!).child(0), { inChannels: width, outChannels: cout, kernelSize: 3, padding: 1 });
    width += cout;
    return conv;
  });
  const toFlow = conv2dLayer(scope.child('moduleSix').child(0), { inChannels: width, outChannels: 2, kernelSize: 3, padding: 1 });
  return (p, f1, f2, prev) => {
    let feat: Tensor;
    if (prev === null || up === null) {
      if (prev !== null || up !== null) throw new Error(`PWC-Net decoder ${level}: previous estimate ${prev === null ? 'missing' : 'unexpected'}`);
      feat = lrelu(pwcCorrelation(f1, f2));
    } else {
      const flow = up.flow(p, prev.flow);
      const featUp = up.feat(p, prev.feat);
      const volume = lrelu(pwcCorrelation(f1, warp(f2, flow.mul(up.scale), PWC_BACKWARP)));
      feat = tf.concat([volume, f1, flow, featUp], 3);
    }
    for (const conv of dense) feat = tf.concat([lrelu(conv(p, feat)), feat], 3);
    return { flow: toFlow(p, feat), feat };
  };
}

function refiner(scope: Scope): Layer {
  const s = scope.child('moduleMain');
  const widths = [DECODER_IN[2]! + DENSE, 128, 128, 128, 96, 64, 32, 2];
  const dilations = [1, 2, 4, 8, 16, 1, 1];
  const convs = dilations.map((d, i) =>
    conv2dLayer(s.child(2 * i), { inChannels: widths[i]!, outChannels: widths[i + 1]!, kernelSize: 3, padding: d, dilation: d }),
  );
  return (p, x) => {
    let h: Tensor = x;
    convs.forEach((c, i) => {
      h = i < convs.length - 1 ? lrelu(c(p, h)) : c(p, h);
    });
    return h as Tensor4D;
  };
}

/** Flow from `first` to `second` ([B, H, W, 3], H and W multiples of 64), [B, H/4, W/4, 2], 1/20 px. */
export type PwcNetwork = (p: Params, first: Tensor, second: Tensor) => Tensor4D;

/** Registers PWC-Net's parameters under `scope` (the `Network` module) and returns its forward. */
export function pwcNetwork(scope: Scope): PwcNetwork {
  const extract = extractor(scope.child('moduleExtractor'));
  const decoders = [6, 5, 4, 3, 2].map((level) => ({ level, run: decoder(scope.child(LEVEL_NAMES[level - 1]!), level) }));
  const refine = refiner(scope.child('moduleRefiner'));
  return (p, first, second) => {
    const [b, h, w] = first.shape as [number, number, number, number];
    if (h % 64 !== 0 || w % 64 !== 0) throw new Error(`PWC-Net: H and W must be multiples of 64, got ${h}x${w}`);
    // Both images through the extractor as one batch.
    const levels = extract(p, tf.concat([first, second], 0));
    let est: Estimate | null = null;
    for (const { level, run } of decoders) {
      const f = levels[level - 1]!;
      const [, lh, lw, lc] = f.shape as [number, number, number, number];
      const f1 = f.slice([0, 0, 0, 0], [b, lh, lw, lc]);
      const f2 = f.slice([b, 0, 0, 0], [b, lh, lw, lc]);
      est = run(p, f1, f2, est);
    }
    const last = est as Estimate;
    return tf.add(last.flow, refine(p, last.feat)) as Tensor4D;
  };
}

/**
 * CDVD-TSP's `Flow_PWC.estimate_flow`: bilinearly resize both frames to the next multiples of 64,
 * run PWC-Net, upsample its output bilinearly to H×W, multiply by 20 and rescale each component
 * by the resize ratio. Returns the pixel flow `first → second`, [B, H, W, 2] (x, y).
 */
export function estimateFlow(net: PwcNetwork, p: Params, first: Tensor, second: Tensor): Tensor4D {
  if (first.rank !== 4 || first.shape[3] !== 3) throw new Error(`estimateFlow: frames must be [B, H, W, 3], got ${JSON.stringify(first.shape)}`);
  if (!first.shape.every((d, i) => d === second.shape[i])) throw new Error(`estimateFlow: frame shapes differ: ${JSON.stringify(first.shape)} vs ${JSON.stringify(second.shape)}`);
  const [, h, w] = first.shape as [number, number, number, number];
  const hp = Math.ceil(h / 64) * 64;
  const wp = Math.ceil(w / 64) * 64;
  return tf.tidy(() => {
    const resize = (x: Tensor): Tensor => (h === hp && w === wp ? x : interpolate(x, { size: [hp, wp], mode: 'bilinear', alignCorners: false }));
    const raw = net(p, resize(first), resize(second));
    const up = interpolate(raw, { size: [h, w], mode: 'bilinear', alignCorners: false }).mul(20);
    return up.mul(tf.tensor1d([w / wp, h / hp])) as Tensor4D;
  });
}
