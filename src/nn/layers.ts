// Layer constructors: each registers its parameters (PyTorch names, PyTorch default
// initialisation) in a Scope and returns a pure function of a Params record.
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { conv2d, convTranspose2d, pair } from './conv.ts';
import type { Pair, Conv2dOptions } from './conv.ts';
import { batchNorm, layerNorm } from './norm.ts';
import { getParam } from './params.ts';
import type { Params, Scope } from './params.ts';
import { ones, torchDefault, zeros } from './init.ts';
import type { Init } from './init.ts';

/**
 * Options of `conv2dLayer`, as nn.Conv2d's arguments (kernel size, stride, padding, dilation, groups,
 * bias).
 */
export interface Conv2dLayerOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: Pair;
  readonly stride?: Pair;
  readonly padding?: Conv2dOptions['padding'];
  readonly dilation?: Pair;
  readonly groups?: number;
  /** Default true, as in nn.Conv2d. */
  readonly bias?: boolean;
}

function positiveInt(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be a positive integer, got ${v}`);
}

/** nn.Conv2d: `weight` (HWIO, kind 'conv') and optional `bias`. */
export function conv2dLayer(scope: Scope, o: Conv2dLayerOptions): (p: Params, x: Tensor) => Tensor4D {
  const groups = o.groups ?? 1;
  positiveInt(o.inChannels, `${scope.full('weight')}: inChannels`);
  positiveInt(o.outChannels, `${scope.full('weight')}: outChannels`);
  if (o.inChannels % groups !== 0 || o.outChannels % groups !== 0) {
    throw new Error(`${scope.full('weight')}: groups=${groups} must divide in (${o.inChannels}) and out (${o.outChannels}) channels`);
  }
  const [kh, kw] = pair(o.kernelSize, 1, 'kernelSize');
  const fanIn = (o.inChannels / groups) * kh * kw;
  const w = scope.param('weight', [kh, kw, o.inChannels / groups, o.outChannels], 'conv', torchDefault(fanIn));
  const b = o.bias ?? true ? scope.param('bias', [o.outChannels], 'plain', torchDefault(fanIn)) : null;
  const opts: Conv2dOptions = { stride: o.stride ?? 1, padding: o.padding ?? 0, dilation: o.dilation ?? 1, groups };
  return (p, x) => conv2d(x, getParam(p, w), b === null ? null : getParam(p, b), opts);
}

/** Options of `convTranspose2dLayer`, as nn.ConvTranspose2d's arguments (groups 1). */
export interface ConvTranspose2dLayerOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: Pair;
  readonly stride?: Pair;
  readonly padding?: Pair;
  readonly outputPadding?: Pair;
  readonly bias?: boolean;
}

/** nn.ConvTranspose2d (groups 1): `weight` `[kh, kw, out, in]` (kind 'convT'), fan_in = out·kh·kw. */
export function convTranspose2dLayer(scope: Scope, o: ConvTranspose2dLayerOptions): (p: Params, x: Tensor) => Tensor4D {
  positiveInt(o.inChannels, `${scope.full('weight')}: inChannels`);
  positiveInt(o.outChannels, `${scope.full('weight')}: outChannels`);
  const [kh, kw] = pair(o.kernelSize, 1, 'kernelSize');
  // PyTorch computes fan_in from dim 1 of its [in, out, kh, kw] weight.
  const fanIn = o.outChannels * kh * kw;
  const w = scope.param('weight', [kh, kw, o.outChannels, o.inChannels], 'convT', torchDefault(fanIn));
  const b = o.bias ?? true ? scope.param('bias', [o.outChannels], 'plain', torchDefault(fanIn)) : null;
  const opts = { stride: o.stride ?? 1, padding: o.padding ?? 0, outputPadding: o.outputPadding ?? 0 };
  return (p, x) => convTranspose2d(x, getParam(p, w), b === null ? null : getParam(p, b), opts);
}

/** Options of `linearLayer`, as nn.Linear's arguments (bias default true). */
export interface LinearLayerOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias?: boolean;
}

/** nn.Linear over the last axis: `weight` `[in, out]` (kind 'linear'). */
export function linearLayer(scope: Scope, o: LinearLayerOptions): (p: Params, x: Tensor) => Tensor {
  positiveInt(o.inFeatures, `${scope.full('weight')}: inFeatures`);
  positiveInt(o.outFeatures, `${scope.full('weight')}: outFeatures`);
  const w = scope.param('weight', [o.inFeatures, o.outFeatures], 'linear', torchDefault(o.inFeatures));
  const b = o.bias ?? true ? scope.param('bias', [o.outFeatures], 'plain', torchDefault(o.inFeatures)) : null;
  return (p, x) =>
    tf.tidy(() => {
      const last = x.shape[x.rank - 1]!;
      if (last !== o.inFeatures) throw new Error(`linear ${w}: input has ${last} features, expected ${o.inFeatures}`);
      const y = tf.matMul(x.reshape([-1, o.inFeatures]), getParam(p, w));
      const yb = b === null ? y : y.add(getParam(p, b));
      return yb.reshape([...x.shape.slice(0, -1), o.outFeatures]);
    });
}

/** Options of `batchNormLayer`, as nn.BatchNorm2d's arguments plus an initialiser of the weight. */
export interface BatchNormLayerOptions {
  readonly channels: number;
  readonly eps?: number;
  readonly momentum?: number;
  /** Default true: learnable weight (1) and bias (0). */
  readonly affine?: boolean;
  /** Initial weight (default ones); zeros makes the layer start by outputting its bias. */
  readonly weightInit?: Init;
}

/**
 * nn.BatchNorm2d: params `weight`, `bias`; buffers `running_mean` (0), `running_var` (1),
 * `num_batches_tracked` (int32 scalar 0), updated in training mode only.
 */
export function batchNormLayer(scope: Scope, o: BatchNormLayerOptions): (p: Params, x: Tensor, training: boolean) => Tensor {
  positiveInt(o.channels, `${scope.full('weight')}: channels`);
  const affine = o.affine ?? true;
  const w = affine ? scope.param('weight', [o.channels], 'plain', o.weightInit ?? ones) : null;
  const b = affine ? scope.param('bias', [o.channels], 'plain', zeros) : null;
  const state = {
    runningMean: scope.buffer('running_mean', [o.channels], zeros),
    runningVar: scope.buffer('running_var', [o.channels], ones),
    numBatchesTracked: scope.buffer('num_batches_tracked', [], zeros, 'int32'),
  };
  const eps = o.eps ?? 1e-5;
  const momentum = o.momentum ?? 0.1;
  return (p, x, training) =>
    batchNorm(x, w === null ? null : getParam(p, w), b === null ? null : getParam(p, b), state, { training, eps, momentum });
}

/** Options of `layerNorm2dLayer`: the channel count, eps (default 1e-6) and whether there is a bias. */
export interface LayerNormLayerOptions {
  readonly channels: number;
  readonly eps?: number;
  /** Default true. */
  readonly bias?: boolean;
}

/** LayerNorm over channels (NAFNet's LayerNorm2d; eps default 1e-6 as there): `weight` 1, `bias` 0. */
export function layerNorm2dLayer(scope: Scope, o: LayerNormLayerOptions): (p: Params, x: Tensor) => Tensor {
  positiveInt(o.channels, `${scope.full('weight')}: channels`);
  const w = scope.param('weight', [o.channels], 'plain', ones);
  const b = o.bias ?? true ? scope.param('bias', [o.channels], 'plain', zeros) : null;
  const eps = o.eps ?? 1e-6;
  return (p, x) => layerNorm(x, getParam(p, w), b === null ? null : getParam(p, b), eps);
}
