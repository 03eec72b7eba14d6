// Built-in model components. Defaults are the original constructors' (SPEC §2.1, §2.13).
import { buildDblrnet } from '../models/dblrnet.ts';
import { buildStrcnn } from '../models/strcnn.ts';
import { buildIfirnn } from '../models/ifirnn.ts';
import { buildEstrnn, ESTRNN_ACTIVATIONS } from '../models/estrnn.ts';
import { buildEdvr } from '../models/edvr.ts';
import { buildCdvdTsp, CDVD_FLOW_WEIGHTS, CDVD_NO_FLOW_WEIGHTS } from '../models/cdvd-tsp.ts';
import { buildStfan } from '../models/stfan.ts';
import { buildPvdnet, PVDNET_BIMNET_WEIGHTS, pvdnetNoBimnetWarning } from '../models/pvdnet.ts';
import { withFlowWeights } from '../models/flow-weights.ts';
import { arrayOf, Bool, NonEmptyString, NonNegInt, oneOf, PositiveInt, PositiveNumber, strict } from './codecs.ts';
import { defineComponent } from './registry.ts';



/** The spec minus its tag: the builder's options. */
function opts<S extends { type: string }>(s: S): Omit<S, 'type'> {
  const { type: _, ...rest } = s;
  return rest;
}

export const dblrnet = defineComponent({
  kind: 'model',
  type: 'dblrnet',
  codec: strict({ numFrames: PositiveInt, inChannels: PositiveInt, innerChannels: PositiveInt, zeroInitResidual: Bool }),
  // zeroInitResidual (not in the original): start as the identity, the centre frame.
  defaults: { numFrames: 5, inChannels: 3, innerChannels: 64, zeroInitResidual: false },
  build: (s, { seed }) => buildDblrnet(opts(s), seed),
  describe: 'DBLRNet (Zhang et al. 2018): 3-D convolutions then residual blocks; 5 frames to the centre frame',
});

export const strcnn = defineComponent({
  kind: 'model',
  type: 'strcnn',
  codec: strict({ numFramesEncoded: PositiveInt, inChannels: PositiveInt, innerChannels: PositiveInt, encoderBlocks: PositiveInt, decoderBlocks: PositiveInt, isDtb: Bool }),
  defaults: { numFramesEncoded: 5, inChannels: 3, innerChannels: 32, encoderBlocks: 4, decoderBlocks: 4, isDtb: true },
  build: (s, { seed }) => buildStrcnn(opts(s), seed),
  describe: 'STRCNN (Kim et al. 2017): recurrent encoder-decoder with dynamic temporal blending; N frames to N-4',
});

export const ifirnn = defineComponent({
  kind: 'model',
  type: 'ifirnn',
  codec: strict({ inChannels: PositiveInt, innerChannels: PositiveInt, dualCell: Bool, intraIters: PositiveInt }),
  defaults: { inChannels: 3, innerChannels: 16, dualCell: true, intraIters: 3 },
  build: (s, { seed }) => buildIfirnn(opts(s), seed),
  describe: 'IFIRNN (Nah et al. 2019): intra-frame iterative RNN; N frames to N',
});

export const estrnn = defineComponent({
  kind: 'model',
  type: 'estrnn',
  codec: strict({ nFeatures: PositiveInt, nBlocks: PositiveInt, futureFrames: NonNegInt, pastFrames: NonNegInt, activation: oneOf(...(ESTRNN_ACTIVATIONS as unknown as [string, ...string[]])) }),
  defaults: { nFeatures: 16, nBlocks: 15, futureFrames: 2, pastFrames: 2, activation: 'gelu' },
  build: (s, { seed }) => buildEstrnn(opts(s), seed),
  describe: 'ESTRNN (Zhong et al. 2020): RDB cells with global spatio-temporal attention; N frames to N-past-future',
});

export const edvr = defineComponent({
  kind: 'model',
  type: 'edvr',
  codec: strict({
    numInCh: PositiveInt,
    numOutCh: PositiveInt,
    numFeat: PositiveInt,
    numFrame: PositiveInt,
    deformableGroups: PositiveInt,
    numExtractBlock: NonNegInt,
    numReconstructBlock: NonNegInt,
    centerFrameIdx: NonNegInt,
    hrIn: Bool,
    withPredeblur: Bool,
    withTsa: Bool,
  }),
  // The deblurring configs (SPEC §2.16): hr_in, pre-deblur and TSA on.
  defaults: { numInCh: 3, numOutCh: 3, numFeat: 64, numFrame: 5, deformableGroups: 8, numExtractBlock: 5, numReconstructBlock: 10, centerFrameIdx: 2, hrIn: true, withPredeblur: true, withTsa: true },
  check: (p) => (p.centerFrameIdx < p.numFrame ? [] : [{ path: 'centerFrameIdx', message: `expected below numFrame (${p.numFrame}), got ${p.centerFrameIdx}` }]),
  build: (s, { seed }) => buildEdvr(opts(s), seed),
  describe: 'EDVR (Wang et al. 2019): PCD alignment with deformable convolutions, TSA fusion; H, W multiples of 16 with hrIn',
});

export const cdvdTsp = defineComponent({
  kind: 'model',
  type: 'cdvdTsp',
  codec: strict(
    { inChannels: PositiveInt, nSequence: PositiveInt, outChannels: PositiveInt, nResblock: PositiveInt, nFeat: PositiveInt, isMaskFilter: Bool },
    // A safetensors file with pretrained PWC-Net weights (PyTorch layout), loaded at build.
    { flowWeights: NonEmptyString },
  ),
  // The deblurring configs (SPEC §2.16): 5 frames, 3 residual blocks, 32 features, mask filter.
  defaults: { inChannels: 3, nSequence: 5, outChannels: 3, nResblock: 3, nFeat: 32, isMaskFilter: true },
  check: (p) => (p.nSequence === 5 ? [] : [{ path: 'nSequence', message: `expected 5 (the two-stage cascade needs 5 frames), got ${p.nSequence}` }]),
  build: (s, { seed }) => {
    const { flowWeights, ...rest } = opts(s);
    return withFlowWeights(buildCdvdTsp(rest, seed), flowWeights, CDVD_FLOW_WEIGHTS, CDVD_NO_FLOW_WEIGHTS);
  },
  describe: 'CDVD-TSP (Pan et al. 2020): PWC-Net flow, temporal sharpness prior, two-stage cascade; 5 frames to the centre',
});

export const stfan = defineComponent({
  kind: 'model',
  type: 'stfan',
  codec: strict({}),
  build: (_s, { seed }) => buildStfan({}, seed),
  describe: 'STFAN (Zhou et al. 2019): the STFANCell with filter-adaptive convolutions, run over the clip; N frames to N',
});

export const pvdnet = defineComponent({
  kind: 'model',
  type: 'pvdnet',
  codec: strict(
    { pvKsize: PositiveInt, largeModel: Bool, fixBimnet: Bool, wi: PositiveNumber, bimnetInput: oneOf('previous', 'current') },
    // A safetensors file with pretrained BIMNet (LiteFlowNet) weights (PyTorch layout), loaded at build.
    { bimnetWeights: NonEmptyString },
  ),
  // The deblurring configs: the large backbone with a frozen (pretrained) flow network.
  defaults: { pvKsize: 5, largeModel: true, fixBimnet: true, wi: 1, bimnetInput: 'previous' },
  check: (p) => (p.pvKsize % 2 === 1 ? [] : [{ path: 'pvKsize', message: `expected an odd number, got ${p.pvKsize}` }]),
  build: (s, { seed }) => {
    const { bimnetWeights, ...rest } = opts(s);
    return withFlowWeights(buildPvdnet(rest, seed), bimnetWeights, PVDNET_BIMNET_WEIGHTS, pvdnetNoBimnetWarning(rest.fixBimnet));
  },
  describe: "PVDNet (Son et al. 2021): LiteFlowNet flow and a pixel volume; inputs in [-1, 1]; bimnetInput 'current' reproduces the original",
});
