// LiteFlowNet (Hui et al. 2018) as in the sniklaus/pytorch-liteflownet re-implementation that
// PVDNet uses as its "BIMNet". Parameter names follow that version's module
// attributes (`moduleFeatures.moduleOne.0.weight`, `moduleMatching.0.moduleUpflow.weight`, ...),
// under the caller's prefix (`BIMNet.` in PVDNet). This version subtracts no mean from the
// images and takes the plain Euclidean norm in the regularisation step.
//
// Levels 6 → 2 (features at H/32 … H/2) each run three stages on the running flow:
// matching (cost volume → flow increment), sub-pixel refinement (features + flow → increment),
// and regularisation (a feature-driven, locally weighted average of the flow). The output is
// the level-2 flow × 20, [B, H/2, W/2, 2] (x, y).
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { getParam } from '../nn/params.ts';
import type { Params, Scope } from '../nn/params.ts';
import { conv2d, convTranspose2d } from '../nn/conv.ts';
import { conv2dLayer } from '../nn/layers.ts';
import { leakyRelu } from '../nn/activations.ts';
import { interpolate } from '../nn/interpolate.ts';
import { torchDefault } from '../nn/init.ts';
import { liteFlowNetCorrelation } from '../nn/ops/correlation.ts';
import { noGrad } from '../nn/ops/no-grad.ts';
import { LITEFLOWNET_BACKWARP, warp } from '../nn/ops/warp.ts';

type Layer = (p: Params, x: Tensor) => Tensor;
type Level = 2 | 3 | 4 | 5 | 6;

const LEVELS: readonly Level[] = [6, 5, 4, 3, 2];
const lrelu = (x: Tensor): Tensor => leakyRelu(x, 0.1);
/** Flow scale from the running flow to pixels at each level. */
const BACKWARP: Record<Level, number> = { 2: 10, 3: 5, 4: 2.5, 5: 1.25, 6: 0.625 };
/** Kernel size of the flow and distance convolutions (and of the regularisation window). */
const KERNEL: Record<Level, number> = { 2: 7, 3: 5, 4: 5, 5: 3, 6: 3 };
/** Feature width at each level. */
const FEATURES: Record<Level, number> = { 2: 32, 3: 64, 4: 96, 5: 128, 6: 192 };
const SUBPIXEL_IN: Record<Level, number> = { 2: 130, 3: 130, 4: 194, 5: 258, 6: 386 };
const REGULARIZATION_IN: Record<Level, number> = { 2: 131, 3: 131, 4: 131, 5: 131, 6: 195 };

const chain = (layers: Layer[]): Layer => (p, x) => layers.reduce((h, f) => f(p, h), x);
const activated = (conv: Layer): Layer => (p, x) => lrelu(conv(p, x));

/** `widths` [c0, c1, ...]: 3×3 convs c0→c1→..., at Sequential indices 0, 2, 4, ... */
function convStack(scope: Scope, widths: readonly number[], activateLast: boolean): { layers: Layer[]; next: number } {
  const layers = widths.slice(1).map((cout, i) => {
    const conv = conv2dLayer(scope.child(2 * i), { inChannels: widths[i]!, outChannels: cout, kernelSize: 3, padding: 1 });
    return i < widths.length - 2 || activateLast ? activated(conv) : conv;
  });
  return { layers, next: 2 * (widths.length - 1) };
}

/**
 * ConvTranspose2d(C, C, 4, stride 2, padding 1, groups C, bias False): weight `[4, 4, 1, C]`
 * (our convT layout of PyTorch's `[C, 1, 4, 4]`), run as a dense transposed convolution with a
 * block-diagonal kernel.
 */
function depthwiseUpsample(scope: Scope, channels: number): Layer {
  const w = scope.param('weight', [4, 4, 1, channels], 'convT', torchDefault(16));
  return (p, x) =>
    tf.tidy(() => {
      const dense = getParam(p, w).mul(tf.eye(channels).reshape([1, 1, channels, channels]));
      return convTranspose2d(x, dense, null, { stride: 2, padding: 1 });
    });
}

/** Per-level feature transform of the matching and sub-pixel stages: 1×1 conv 32→64 at level 2 only. */
function levelFeatures(scope: Scope, level: Level): Layer {
  if (level !== 2) return (_p, x) => x;
  return activated(conv2dLayer(scope.child('moduleFeat').child(0), { inChannels: 32, outChannels: 64, kernelSize: 1 }));
}

/** The 3-conv head ending in a K×K conv to 2 channels, after an input of `cin` channels. */
function flowHead(scope: Scope, cin: number, level: Level): Layer {
  const s = scope.child('moduleMain');
  const { layers, next } = convStack(s, [cin, 128, 64, 32], true);
  const k = KERNEL[level];
  return chain([...layers, conv2dLayer(s.child(next), { inChannels: 32, outChannels: 2, kernelSize: k, padding: (k - 1) / 2 })]);
}

type Stage = (p: Params, img1: Tensor, img2: Tensor, f1: Tensor, f2: Tensor, flow: Tensor | null) => Tensor;

function matching(scope: Scope, level: Level): Stage {
  const feat = levelFeatures(scope, level);
  const upflow = level < 6 ? depthwiseUpsample(scope.child('moduleUpflow'), 2) : null;
  const upcorr = level < 4 ? depthwiseUpsample(scope.child('moduleUpcorr'), 49) : null;
  const main = flowHead(scope, 49, level);
  return (p, _img1, _img2, f1In, f2In, flowIn) => {
    const f1 = feat(p, f1In);
    let f2 = feat(p, f2In);
    let flow: Tensor | null = null;
    if (flowIn !== null) {
      if (upflow === null) throw new Error(`LiteFlowNet level ${level}: unexpected incoming flow`);
      flow = upflow(p, flowIn);
      f2 = warp(f2, flow.mul(BACKWARP[level]), LITEFLOWNET_BACKWARP);
    }
    const corr = upcorr === null ? lrelu(liteFlowNetCorrelation(f1, f2, 1)) : upcorr(p, lrelu(liteFlowNetCorrelation(f1, f2, 2)));
    const delta = main(p, corr);
    return flow === null ? delta : tf.add(flow, delta);
  };
}

function subpixel(scope: Scope, level: Level): Stage {
  const feat = levelFeatures(scope, level);
  const main = flowHead(scope, SUBPIXEL_IN[level], level);
  return (p, _img1, _img2, f1In, f2In, flow) => {
    if (flow === null) throw new Error(`LiteFlowNet level ${level}: sub-pixel refinement needs a flow`);
    const f1 = feat(p, f1In);
    const f2 = warp(feat(p, f2In), flow.mul(BACKWARP[level]), LITEFLOWNET_BACKWARP);
    return tf.add(flow, main(p, tf.concat([f1, f2, flow], 3)));
  };
}

/** F.unfold of a one-channel map with a k×k window and zero padding (k − 1)/2: [B, H, W, k²], channel ky·k + kx. */
function unfold1(x: Tensor, k: number): Tensor {
  return tf.tidy(() => {
    const eye = tf.eye(k * k).reshape([k, k, 1, k * k]);
    return conv2d(x, eye, null, { padding: (k - 1) / 2 });
  });
}

function regularization(scope: Scope, level: Level): Stage {
  const k = KERNEL[level];
  const pad = (k - 1) / 2;
  const feat: Layer =
    level >= 5 ? (_p, x) => x : activated(conv2dLayer(scope.child('moduleFeat').child(0), { inChannels: FEATURES[level], outChannels: 128, kernelSize: 1 }));
  const main = chain(convStack(scope.child('moduleMain'), [REGULARIZATION_IN[level], 128, 128, 64, 64, 32, 32], true).layers);
  const sd = scope.child('moduleDist');
  const dist: Layer =
    level >= 5
      ? conv2dLayer(sd.child(0), { inChannels: 32, outChannels: k * k, kernelSize: k, padding: pad })
      : chain([
          conv2dLayer(sd.child(0), { inChannels: 32, outChannels: k * k, kernelSize: [k, 1], padding: [pad, 0] }),
          conv2dLayer(sd.child(1), { inChannels: k * k, outChannels: k * k, kernelSize: [1, k], padding: [0, pad] }),
        ]);
  const scaleX = conv2dLayer(scope.child('moduleScaleX'), { inChannels: k * k, outChannels: 1, kernelSize: 1 });
  const scaleY = conv2dLayer(scope.child('moduleScaleY'), { inChannels: k * k, outChannels: 1, kernelSize: 1 });
  return (p, img1, img2, f1, _f2, flow) => {
    if (flow === null) throw new Error(`LiteFlowNet level ${level}: regularisation needs a flow`);
    // Brightness error of the warped second image (detached, as in the original).
    const diff = noGrad((a, b, fl) => tf.sub(a!, warp(b!, fl!.mul(BACKWARP[level]), LITEFLOWNET_BACKWARP)).square().sum(3, true).sqrt(), img1, img2, flow);
    const centred = tf.sub(flow, flow.mean([1, 2], true));
    const negSq = tf.neg(tf.square(dist(p, main(p, tf.concat([diff, centred, feat(p, f1)], 3)))));
    const weights = tf.exp(tf.sub(negSq, negSq.max(3, true)));
    const divisor = tf.reciprocal(weights.sum(3, true));
    const [fx, fy] = tf.split(flow, 2, 3) as [Tensor, Tensor];
    const x = scaleX(p, weights.mul(unfold1(fx, k))).mul(divisor);
    const y = scaleY(p, weights.mul(unfold1(fy, k))).mul(divisor);
    return tf.concat([x, y], 3);
  };
}

function features(scope: Scope): (p: Params, x: Tensor) => Tensor[] {
  const conv = (s: Scope, cin: number, cout: number, k: number, stride: number): Layer =>
    activated(conv2dLayer(s, { inChannels: cin, outChannels: cout, kernelSize: k, stride, padding: (k - 1) / 2 }));
  const level = (name: string, cin: number, cout: number, extra: number, k = 3, stride = 2): Layer => {
    const s = scope.child(name);
    return chain([conv(s.child(0), cin, cout, k, stride), ...Array.from({ length: extra }, (_, i) => conv(s.child(2 * (i + 1)), cout, cout, 3, 1))]);
  };
  const levels = [
    level('moduleOne', 3, 32, 0, 7, 1),
    level('moduleTwo', 32, 32, 2),
    level('moduleThr', 32, 64, 1),
    level('moduleFou', 64, 96, 1),
    level('moduleFiv', 96, 128, 0),
    level('moduleSix', 128, 192, 0),
  ];
  return (p, x) => {
    const out: Tensor[] = [];
    let h = x;
    for (const l of levels) {
      h = l(p, h);
      out.push(h);
    }
    return out;
  };
}

/** Flow from `first` to `second` ([B, H, W, 3] in [0, 1]; H, W multiples of 32, at least 64): [B, H/2, W/2, 2] pixels. */
export type LiteFlowNet = (p: Params, first: Tensor, second: Tensor) => Tensor4D;

/** Registers LiteFlowNet's parameters under `scope` and returns its forward. */
export function liteFlowNet(scope: Scope): LiteFlowNet {
  const extract = features(scope.child('moduleFeatures'));
  const stages = LEVELS.map((level) => ({
    level,
    run: [
      matching(scope.child('moduleMatching').child(level - 2), level),
      subpixel(scope.child('moduleSubpixel').child(level - 2), level),
      regularization(scope.child('moduleRegularization').child(level - 2), level),
    ],
  }));
  return (p, first, second) => {
    if (first.rank !== 4 || first.shape[3] !== 3) throw new Error(`LiteFlowNet: images must be [B, H, W, 3], got ${JSON.stringify(first.shape)}`);
    if (!first.shape.every((d, i) => d === second.shape[i])) throw new Error(`LiteFlowNet: image shapes differ: ${JSON.stringify(first.shape)} vs ${JSON.stringify(second.shape)}`);
    const [b, h, w] = first.shape as [number, number, number, number];
    if (h % 32 !== 0 || w % 32 !== 0 || h < 64 || w < 64) throw new Error(`LiteFlowNet: H and W must be multiples of 32 and at least 64, got ${h}x${w}`);
    return tf.tidy(() => {
      // Both images through the feature pyramid as one batch.
      const feats = extract(p, tf.concat([first, second], 0));
      const half = (t: Tensor, i: 0 | 1): Tensor => {
        const [, lh, lw, lc] = t.shape as [number, number, number, number];
        return t.slice([i * b, 0, 0, 0], [b, lh, lw, lc]);
      };
      // Image pyramid: each level resized from the previous one to the feature size.
      const images: Tensor[] = [tf.concat([first, second], 0)];
      for (let i = 1; i < feats.length; i++) {
        const [, lh, lw] = feats[i]!.shape as [number, number, number, number];
        images.push(interpolate(images[i - 1]!, { size: [lh, lw], mode: 'bilinear', alignCorners: false }));
      }
      let flow: Tensor | null = null;
      for (const { level, run } of stages) {
        const f = feats[level - 1]!;
        const img = images[level - 1]!;
        const args = [half(img, 0), half(img, 1), half(f, 0), half(f, 1)] as const;
        for (const stage of run) flow = stage(p, ...args, flow);
      }
      return (flow as Tensor).mul(20) as Tensor4D;
    });
  };
}
