// Convolutional LSTM cell (Shi et al. 2015) as SRN uses it: one convolution over the
// concatenated input and hidden state gives the four gates, in the order input, forget,
// output, candidate. Built from differentiable ops only, so gradients come from autodiff.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { conv2dLayer } from './layers.ts';
import type { Params, Scope } from './params.ts';

// A type alias, not an interface, so that tf.tidy accepts it as a tensor container.
export type ConvLstmState = { readonly h: Tensor; readonly c: Tensor };

export interface ConvLstmOptions {
  readonly inputChannels: number;
  readonly hiddenChannels: number;
  /** Odd; padding k//2 keeps the spatial size. */
  readonly kernelSize: number;
}

/**
 * The cell update from precomputed gate pre-activations `[B, H, W, 4·hidden]` (order i, f, o, g):
 * `c' = σ(f)·c + σ(i)·tanh(g)`, `h' = σ(o)·tanh(c')`.
 */
export function convLstmUpdate(gates: Tensor, c: Tensor): ConvLstmState {
  return tf.tidy(() => {
    const [i, f, o, g] = tf.split(gates, 4, -1) as [Tensor, Tensor, Tensor, Tensor];
    const cNext = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
    const hNext = tf.mul(tf.sigmoid(o), tf.tanh(cNext));
    return { h: hNext, c: cNext };
  });
}

/** All-zero state for an input of spatial size `h × w`. */
export function convLstmZeroState(batch: number, h: number, w: number, hiddenChannels: number): ConvLstmState {
  return { h: tf.zeros([batch, h, w, hiddenChannels]), c: tf.zeros([batch, h, w, hiddenChannels]) };
}

/** Registers the gate convolution as `<scope>.conv` and returns one step of the cell. */
export function convLstmCellLayer(scope: Scope, o: ConvLstmOptions): (p: Params, x: Tensor, state: ConvLstmState) => ConvLstmState {
  if (!Number.isInteger(o.kernelSize) || o.kernelSize < 1 || o.kernelSize % 2 !== 1) {
    throw new Error(`${scope.full('conv')}: kernelSize must be a positive odd integer, got ${o.kernelSize}`);
  }
  const conv = conv2dLayer(scope.child('conv'), {
    inChannels: o.inputChannels + o.hiddenChannels,
    outChannels: 4 * o.hiddenChannels,
    kernelSize: o.kernelSize,
    padding: Math.floor(o.kernelSize / 2),
  });
  return (p, x, state) => {
    const xc = x.shape[x.rank - 1];
    const hc = state.h.shape[state.h.rank - 1];
    if (xc !== o.inputChannels || hc !== o.hiddenChannels) {
      throw new Error(`${scope.full('conv')}: expected ${o.inputChannels} input and ${o.hiddenChannels} hidden channels, got ${xc} and ${hc}`);
    }
    if (x.rank !== 4 || !state.h.shape.every((d, i) => d === x.shape[i] || i === 3) || !state.c.shape.every((d, i) => d === state.h.shape[i])) {
      throw new Error(`${scope.full('conv')}: input ${JSON.stringify(x.shape)} and state h ${JSON.stringify(state.h.shape)}, c ${JSON.stringify(state.c.shape)} do not match`);
    }
    return tf.tidy(() => convLstmUpdate(conv(p, tf.concat([x, state.h], -1)), state.c));
  };
}
