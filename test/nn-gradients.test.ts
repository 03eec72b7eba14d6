// Analytic gradients of the custom and rewritten ops against central finite differences.
// The loss is a fixed random projection sum(f(x)·r), accumulated in float64 on the JS side.
// Ops that are linear in the checked input give exact central differences whatever the step,
// so a large step keeps float32 rounding out of the comparison; nonlinear ones use a small step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { conv2d, convTranspose2d } from '../src/nn/conv.ts';
import { batchNorm, layerNorm } from '../src/nn/norm.ts';
import { pixelShuffle, pixelUnshuffle } from '../src/nn/shuffle.ts';
import { interpolate } from '../src/nn/interpolate.ts';
import { gelu } from '../src/nn/activations.ts';
import { Rng } from '../src/util/rng.ts';
import { checkGradients } from './helpers/gradcheck.ts';

type Fn = (...xs: Tensor[]) => Tensor;

interface CheckOptions {
  readonly step: number;
  readonly tol: number;
  /** Elements checked per input (chosen at random, fixed seed). */
  readonly samples?: number;
}

function check(name: string, f: Fn, inputs: Tensor[], o: CheckOptions): void {
  checkGradients(name, f, inputs, { step: o.step, tol: o.tol, samples: o.samples ?? 24 });
}

const rnd = (shape: number[], seed: number): Tensor => tf.tensor(Rng.seeded(seed).uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);

test('gradients: pixelShuffle and pixelUnshuffle', () => {
  const x = rnd([2, 3, 2, 8], 1);
  check('pixelShuffle', (t) => pixelShuffle(t, 2), [x], { step: 0.5, tol: 1e-4, samples: 40 });
  const y = rnd([1, 6, 4, 3], 2);
  check('pixelUnshuffle', (t) => pixelUnshuffle(t, 2), [y], { step: 0.5, tol: 1e-4, samples: 40 });
  tf.dispose([x, y]);
});

test('gradients: dilated conv (dilation 2) wrt input and weight', () => {
  const x = rnd([2, 7, 8, 3], 3);
  const w = rnd([3, 3, 3, 4], 4);
  check('conv dil2', (a, b) => conv2d(a, b!, null, { dilation: 2, padding: 2 }), [x, w], { step: 0.5, tol: 1e-4 });
  check('conv dil2 asym pad', (a, b) => conv2d(a, b!, null, { dilation: [2, 3], padding: [1, 0, 3, 2] }), [x, w], { step: 0.5, tol: 1e-4 });
  tf.dispose([x, w]);
});

test('gradients: explicit-padding conv with stride 2, and bias', () => {
  const x = rnd([2, 9, 8, 3], 5);
  const w = rnd([3, 3, 3, 4], 6);
  const b = rnd([4], 7);
  check('conv s2', (a, k, c) => conv2d(a, k!, c, { stride: 2, padding: [1, 2, 0, 1] }), [x, w, b], { step: 0.5, tol: 1e-4 });
  tf.dispose([x, w, b]);
});

test('gradients: depthwise and grouped conv', () => {
  const x = rnd([1, 6, 7, 4], 8);
  const wd = rnd([3, 3, 1, 4], 9);
  check('depthwise', (a, k) => conv2d(a, k!, null, { padding: 1, groups: 4 }), [x, wd], { step: 0.5, tol: 1e-4 });
  check('depthwise dil2 s2', (a, k) => conv2d(a, k!, null, { padding: [2, 1, 1, 2], dilation: 2, stride: 2, groups: 4 }), [x, wd], { step: 0.5, tol: 1e-4 });
  const wg = rnd([3, 3, 2, 6], 10);
  check('groups 2', (a, k) => conv2d(a, k!, null, { padding: 1, groups: 2 }), [x, wg], { step: 0.5, tol: 1e-4 });
  tf.dispose([x, wd, wg]);
});

test('gradients: conv transpose (stride 2, padding, output_padding)', () => {
  const x = rnd([2, 4, 3, 3], 11);
  const w = rnd([4, 4, 2, 3], 12);
  const b = rnd([2], 13);
  check('convT k4 s2 p1', (a, k, c) => convTranspose2d(a, k!, c, { stride: 2, padding: 1 }), [x, w, b], { step: 0.5, tol: 1e-4 });
  const w3 = rnd([3, 3, 2, 3], 14);
  check('convT k3 s2 p1 op1', (a, k) => convTranspose2d(a, k!, null, { stride: 2, padding: 1, outputPadding: 1 }), [x, w3], { step: 0.5, tol: 1e-4 });
});

test('gradients: batchNorm in training mode (input, weight, bias)', () => {
  const x = rnd([3, 3, 2, 4], 15).mul(2).add(0.5);
  const w = rnd([4], 16);
  const b = rnd([4], 17);
  const state = { runningMean: tf.variable(tf.zeros([4]), false), runningVar: tf.variable(tf.ones([4]), false) };
  check('batchNorm train', (a, k, c) => batchNorm(a, k!, c!, state, { training: true, eps: 1e-3 }), [x, w, b], { step: 1e-2, tol: 2e-2, samples: 30 });
  tf.dispose([x, w, b, state.runningMean, state.runningVar]);
});

test('gradients: layerNorm, gelu, bilinear interpolation', () => {
  const x = rnd([2, 3, 3, 5], 18);
  const w = rnd([5], 19);
  const b = rnd([5], 20);
  check('layerNorm', (a, k, c) => layerNorm(a, k!, c!, 1e-6), [x, w, b], { step: 1e-2, tol: 2e-2 });
  check('gelu', (a) => gelu(a), [x], { step: 1e-2, tol: 5e-3 });
  const img = rnd([1, 4, 5, 2], 21);
  check('bilinear up', (a) => interpolate(a, { size: [7, 9], mode: 'bilinear' }), [img], { step: 0.5, tol: 1e-4, samples: 40 });
  check('bilinear down ac', (a) => interpolate(a, { scaleFactor: 0.5, mode: 'bilinear', alignCorners: true }), [img], { step: 0.5, tol: 1e-4, samples: 40 });
  tf.dispose([x, w, b, img]);
});
