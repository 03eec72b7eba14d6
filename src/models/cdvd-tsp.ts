// CDVD-TSP, "Cascaded Deep Video Deblurring Using Temporal Sharpness Prior" (Pan et al. 2020).
// Five frames x0..x4 → the restored centre frame, in two stages sharing one flow
// network (PWC-Net, `flow_net.moduleNetwork.*`) and one reconstruction network (`recons_net.*`):
//   stage 1: for each of x1, x2, x3, warp both neighbours onto it, and restore it from
//            [warped prev, frame, warped next, temporal sharpness prior];
//   stage 2: the same around the restored x2, from the three stage-1 results.
// The temporal sharpness prior ("luckiness") is exp(−sqrt(Σ_c Σ_i (img_i − mid)² / 2)) of the
// (optionally 5×5 mean-filtered, detached) warped frames, zeroed where any warp read outside.
//
// Differences from the original, none in the output: the unused warped Sobel map is not
// computed; the six stage-1 flow estimates (two in stage 2) and the three stage-1
// reconstructions run as one batch each (the networks treat batch items independently); the
// flow masks are kept with one channel (the original's channels are identical copies). Input
// is checked up front, and takes any H and W: sizes that are not multiples of 4 (two stride-2
// levels in the reconstruction network) are mirror-padded and the output cropped back. As in
// the original, the flow network is trainable (no requires_grad change); its published weights
// load under `flow_net.moduleNetwork.` with their own names (`CDVD_FLOW_WEIGHTS` describes the
// file forms the option `flowWeights` accepts).
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import type { ParamStore, Params, Scope } from '../nn/params.ts';
import type { Problem } from '../config/codecs.ts';
import { Bool, NonEmptyString, PositiveInt, strict } from '../config/codecs.ts';
import { defineModel } from './define.ts';
import type * as t from 'io-ts';
import { conv2dLayer, convTranspose2dLayer } from '../nn/layers.ts';
import { conv2d } from '../nn/conv.ts';
import { relu } from '../nn/activations.ts';
import { noGrad } from '../nn/ops/no-grad.ts';
import { CDVD_WARP, warpWithMask } from '../nn/ops/warp.ts';
import { estimateFlow, pwcNetwork } from './pwcnet.ts';
import type { PwcNetwork } from './pwcnet.ts';
import { makeModel } from './model.ts';
import type { Model, ModelInput } from './model.ts';
import { flowNetStateDict as pwcStateDict, withFlowWeights, type FlowNetWeights } from './flow-weights.ts';

const options = strict(
  {
    // Must be 3 (PWC-Net reads RGB frames).
    inChannels: PositiveInt,
    // Must be 5 (the two-stage cascade).
    nSequence: PositiveInt,
    // Must equal inChannels (stage 2 feeds the stage-1 outputs back in).
    outChannels: PositiveInt,
    // Residual blocks per stage of the reconstruction network.
    nResblock: PositiveInt,
    // Base width of the reconstruction network.
    nFeat: PositiveInt,
    // 5×5 mean filter on the frames before the sharpness prior.
    isMaskFilter: Bool,
  },
  // A safetensors file with pretrained PWC-Net weights (PyTorch layout), loaded at build.
  { flowWeights: NonEmptyString },
);
export type CdvdTspOptions = t.TypeOf<typeof options>;

/** Prefix of the PWC-Net parameters: a published PWC-Net state dict loads with this prepended. */
export const CDVD_FLOW_PREFIX = 'flow_net.moduleNetwork.';

/** Where CDVD-TSP's PWC-Net weights are in a file given as `flowWeights` (see loadFlowWeights). */
export const CDVD_FLOW_WEIGHTS: FlowNetWeights = {
  model: 'CDVD-TSP',
  network: 'PWC-Net',
  option: 'flowWeights',
  prefix: CDVD_FLOW_PREFIX,
  outer: 'flow_net.',
  example: 'moduleExtractor.moduleOne.0.weight',
  rename: pwcStateDict,
};

/** The warning when CDVD-TSP is built without `flowWeights`. */
export const CDVD_NO_FLOW_WEIGHTS =
  'CDVD-TSP: no flowWeights given — PWC-Net (flow_net) is randomly initialised and trained with the rest; ' +
  'the original starts from pretrained PWC-Net weights (model.flowWeights=FILE, a PWC-Net state dict as safetensors)';

type Layer = (p: Params, x: Tensor) => Tensor;

const KERNEL = 5;

/** ResBlock: conv2(relu(conv1(x))) + x (in = out, stride 1: never a projection here). */
function resBlock(scope: Scope, ch: number): Layer {
  const c1 = conv2dLayer(scope.child('conv1'), { inChannels: ch, outChannels: ch, kernelSize: KERNEL, padding: 2 });
  const c2 = conv2dLayer(scope.child('conv2'), { inChannels: ch, outChannels: ch, kernelSize: KERNEL, padding: 2 });
  return (p, x) => tf.add(c2(p, relu(c1(p, x))), x);
}

const chain = (layers: Layer[]): Layer => (p, x) => layers.reduce((h, f) => f(p, h), x);

/** RECONS_VIDEO: a two-level encoder-decoder of 5×5 convs and ResBlocks (no input residual). */
function reconsNet(scope: Scope, inCh: number, outCh: number, f: number, r: number): Layer {
  const blocks = (s: Scope, start: number, ch: number): Layer[] => Array.from({ length: r }, (_, i) => resBlock(s.child(start + i), ch));
  const down = (s: Scope, cin: number, cout: number, stride: number): Layer => {
    const c = conv2dLayer(s.child(0).child(0), { inChannels: cin, outChannels: cout, kernelSize: KERNEL, stride, padding: 2 });
    return (p, x) => relu(c(p, x));
  };
  const up = (s: Scope, cin: number, cout: number): Layer => {
    const c = convTranspose2dLayer(s.child(r).child(0), { inChannels: cin, outChannels: cout, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 });
    return (p, x) => relu(c(p, x));
  };
  const sIn = scope.child('inBlock');
  const inBlock = chain([down(sIn, inCh, f, 1), ...blocks(sIn, 1, f)]);
  const sE1 = scope.child('encoder_first');
  const enc1 = chain([down(sE1, f, 2 * f, 2), ...blocks(sE1, 1, 2 * f)]);
  const sE2 = scope.child('encoder_second');
  const enc2 = chain([down(sE2, 2 * f, 4 * f, 2), ...blocks(sE2, 1, 4 * f)]);
  const sD2 = scope.child('decoder_second');
  const dec2 = chain([...blocks(sD2, 0, 4 * f), up(sD2, 4 * f, 2 * f)]);
  const sD1 = scope.child('decoder_first');
  const dec1 = chain([...blocks(sD1, 0, 2 * f), up(sD1, 2 * f, f)]);
  const sOut = scope.child('outBlock');
  const last = conv2dLayer(sOut.child(r), { inChannels: f, outChannels: outCh, kernelSize: KERNEL, padding: 2 });
  const outBlock = chain([...blocks(sOut, 0, f), (p, x) => last(p, x)]);
  return (p, x) => {
    const s1 = inBlock(p, x);
    const s2 = enc1(p, s1);
    const s3 = enc2(p, s2);
    const d1 = dec1(p, tf.add(dec2(p, s3), s2));
    return outBlock(p, tf.add(d1, s1));
  };
}

/**
 * The temporal sharpness prior of [prev, mid, next] with their flow masks ([B, H, W, 1], 0/1),
 * [B, H, W, 1]. Detached, as in the original.
 */
export function sharpnessPrior(prev: Tensor, mid: Tensor, next: Tensor, maskPrev: Tensor, maskNext: Tensor, meanFilter: boolean): Tensor {
  return noGrad(
    (a, m, c, ma, mc) => {
      const ch = m!.shape[3] as number;
      const blur = (x: Tensor): Tensor => (meanFilter ? conv2d(x, tf.fill([5, 5, 1, ch], 1 / 25), null, { padding: 2, groups: ch }) : x);
      const [fa, fm, fc] = [blur(a!), blur(m!), blur(c!)];
      const d = tf.add(tf.squaredDifference(fa, fm), tf.squaredDifference(fc, fm)).div(2).sum(3, true).sqrt();
      return tf.exp(tf.neg(d)).mul(ma!.mul(mc!));
    },
    prev, mid, next, maskPrev, maskNext,
  );
}

function check(o: CdvdTspOptions): Problem[] {
  const problems: Problem[] = [];
  if (o.nSequence !== 5) problems.push({ path: 'nSequence', message: `expected 5 (the two-stage cascade needs 5 frames, as in the original), got ${o.nSequence}` });
  if (o.inChannels !== 3) problems.push({ path: 'inChannels', message: `expected 3 (the PWC-Net flow network reads RGB frames), got ${o.inChannels}` });
  else if (o.outChannels !== o.inChannels) problems.push({ path: 'outChannels', message: `expected ${o.inChannels} like inChannels (stage 2 warps and re-reads the stage-1 outputs), got ${o.outChannels}` });
  return problems;
}

function buildCdvdTsp(opts: CdvdTspOptions, store: ParamStore): Model {
  const root = store.root();
  const flowNet: PwcNetwork = pwcNetwork(root.child('flow_net').child('moduleNetwork'));
  const ch = opts.inChannels;
  const recons = reconsNet(root.child('recons_net'), 3 * ch + 1, opts.outChannels, opts.nFeat, opts.nResblock);

  // tfjs cannot differentiate a split into a single piece, so one piece is returned as is.
  const split = (x: Tensor, n: number): Tensor[] => (n === 1 ? [x] : tf.split(x, n, 0));
  /** Warps each `second[i]` onto `first[i]` (batched): the warped frames and their masks. */
  const alignTo = (p: Params, first: Tensor[], second: Tensor[]): { warped: Tensor[]; masks: Tensor[] } => {
    const a = tf.concat(first, 0);
    const b = tf.concat(second, 0);
    const { output, mask } = warpWithMask(b, estimateFlow(flowNet, p, a, b), CDVD_WARP);
    return { warped: split(output, first.length), masks: split(mask, first.length) };
  };
  /** Restores each centre from its warped neighbours (batched). */
  const restore = (p: Params, prev: Tensor[], mid: Tensor[], next: Tensor[], mPrev: Tensor[], mNext: Tensor[]): Tensor[] => {
    const cat = (xs: Tensor[]): Tensor => (xs.length === 1 ? xs[0]! : tf.concat(xs, 0));
    const [a, m, c] = [cat(prev), cat(mid), cat(next)];
    const prior = sharpnessPrior(a, m, c, cat(mPrev), cat(mNext), opts.isMaskFilter);
    return split(recons(p, tf.concat([a, m, c, prior], 3)), mid.length);
  };

  const apply = (p: Params, input: ModelInput): Tensor => {
    if (Array.isArray(input)) throw new Error('CDVD-TSP: expected one clip tensor [B, T, H, W, C], got a list');
    if (input.rank !== 5) throw new Error(`CDVD-TSP: input must be a clip [B, T, H, W, C], got shape ${JSON.stringify(input.shape)}`);
    const [bs, t, h, w, c] = input.shape as [number, number, number, number, number];
    if (t !== opts.nSequence) throw new Error(`CDVD-TSP: input has ${t} frames, the model needs ${opts.nSequence}`);
    if (c !== ch) throw new Error(`CDVD-TSP: input has ${c} channels, the model was built for ${ch}`);
    const x = tf.unstack(input, 1);
    const [x0, x1, x2, x3, x4] = x as [Tensor, Tensor, Tensor, Tensor, Tensor];
    // Stage 1: neighbours of x1, x2, x3 warped onto them (flow from the centre to the neighbour).
    const s1 = alignTo(p, [x1, x1, x2, x2, x3, x3], [x0, x2, x1, x3, x2, x4]);
    const [w01, w21, w12, w32, w23, w43] = s1.warped as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const [m01, m21, m12, m32, m23, m43] = s1.masks as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const [r1, r2, r3] = restore(p, [w01, w12, w23], [x1, x2, x3], [w21, w32, w43], [m01, m12, m23], [m21, m32, m43]) as [Tensor, Tensor, Tensor];
    // Stage 2: around the restored centre.
    const s2 = alignTo(p, [r2, r2], [r1, r3]);
    const [wr12, wr32] = s2.warped as [Tensor, Tensor];
    const [mr12, mr32] = s2.masks as [Tensor, Tensor];
    const [out] = restore(p, [wr12], [r2], [wr32], [mr12], [mr32]) as [Tensor];
    if (out.shape[0] !== bs) throw new Error('CDVD-TSP: internal batch mismatch');
    return out;
  };
  const model = makeModel('CDVD_TSP', store, (p, input) => apply(p, input));
  // A shape-only build (parameter counts) reads no file and has nothing to warn about.
  return store.allocates ? withFlowWeights(model, opts.flowWeights, CDVD_FLOW_WEIGHTS, CDVD_NO_FLOW_WEIGHTS) : model;
}

/**
 * Model component CDVD-TSP (Pan et al. 2020, "Cascaded Deep Video Deblurring Using Temporal Sharpness
 * Prior"): PWC-Net flow, a temporal sharpness prior and a two-stage cascade restoring the centre of 5
 * frames.
 */
export const cdvdTsp = defineModel({
  type: 'cdvdTsp',
  codec: options,
  // The original's n_sequence default is 3, which its own assertion rejects: 5 here.
  defaults: { inChannels: 3, nSequence: 5, outChannels: 3, nResblock: 3, nFeat: 32, isMaskFilter: false },
  check,
  // The original's loading arguments name files; weights come from the checkpoint here.
  original: { className: 'CDVD_TSP', extra: ['flowWeights'], ignored: ['load_flow_net', 'load_recons_net', 'flow_pretrain_fn', 'recons_pretrain_fn'] },
  // The deblurring configurations (cdvdtsp_dvd, _gopro, _reds) mean-filter the frames for the prior.
  presets: { deblur: { isMaskFilter: true } },
  build: buildCdvdTsp,
  sizeMultiple: 4,
  describe: 'CDVD-TSP (Pan et al. 2020): PWC-Net flow, temporal sharpness prior, two-stage cascade; 5 frames to the centre',
});
