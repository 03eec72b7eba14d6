// convTranspose2d (one custom-gradient op on the native backend) against its tfjs composition
// convTranspose2dComposite: values and gradients, plus gradients against finite differences,
// over the paddings TensorFlow's SAME / VALID express and those it does not (cropped full
// output). Run on both backends: `node --import tsx --test test/nn-conv-transpose.test.ts`, and
// with SIMDEBLUR_BACKEND=cpu (where both paths are the composition).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { convTranspose2d, convTranspose2dComposite } from '../src/nn/conv.ts';
import type { ConvTranspose2dOptions, Pair } from '../src/nn/conv.ts';
import { Rng } from '../src/util/rng.ts';
import { checkGradients } from './helpers/gradcheck.ts';

const rnd = (shape: number[], seed: number): Tensor => tf.tensor(Rng.seeded(seed).uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);

interface Case {
  readonly k: Pair;
  readonly opts: ConvTranspose2dOptions;
}

// CDVD-TSP / ESTRNN (3x3 s2 p1 op1), STFAN / PVDNet / MIMO-UNet (4x4 s2 p1), stride 1, VALID
// 2x2 s2, output_padding beyond the padding (full output extended), a large stride, and
// different settings per axis.
const CASES: Case[] = [
  { k: 3, opts: { stride: 2, padding: 1, outputPadding: 1 } },
  { k: 4, opts: { stride: 2, padding: 1 } },
  { k: 3, opts: { stride: 1, padding: 1 } },
  { k: 2, opts: { stride: 2, padding: 0 } },
  { k: 3, opts: { stride: 2, padding: 0, outputPadding: 1 } },
  { k: 5, opts: { stride: 3, padding: 1, outputPadding: 2 } },
  { k: [3, 4], opts: { stride: [2, 1], padding: [1, 2], outputPadding: [1, 0] } },
];

const kernel = (k: Pair): [number, number] => (typeof k === 'number' ? [k, k] : [k[0], k[1]]);
const label = (c: Case): string => `k${JSON.stringify(c.k)} ${JSON.stringify(c.opts)}`;

function maxDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** Odd spatial sizes, batch 2, 3 -> 4 channels, with bias. */
function inputs(c: Case, seed: number): [Tensor, Tensor, Tensor] {
  const [kh, kw] = kernel(c.k);
  return [rnd([2, 5, 7, 3], seed), rnd([kh, kw, 4, 3], seed + 1), rnd([4], seed + 2)];
}

test('convTranspose2d equals the composite path (values, output size)', () => {
  CASES.forEach((c, i) => {
    const [x, w, b] = inputs(c, 10 * i);
    const before = tf.memory().numTensors;
    const y = convTranspose2d(x, w, b, c.opts);
    const ref = convTranspose2dComposite(x, w, b, c.opts);
    const [kh, kw] = kernel(c.k);
    const s = c.opts.stride ?? 1;
    const [sh, sw] = typeof s === 'number' ? [s, s] : s;
    const p = c.opts.padding ?? 0;
    const [ph, pw] = typeof p === 'number' ? [p, p] : p;
    const op = c.opts.outputPadding ?? 0;
    const [oh, ow] = typeof op === 'number' ? [op, op] : op;
    assert.deepEqual(y.shape, [2, 4 * sh - 2 * ph + kh + oh, 6 * sw - 2 * pw + kw + ow, 4], label(c));
    const err = maxDiff(y, ref);
    assert.ok(err <= 1e-5, `${label(c)}: max difference ${err}`);
    tf.dispose([y, ref]);
    assert.equal(tf.memory().numTensors, before, `${label(c)}: forward leaked tensors`);
    // Without bias too.
    const y0 = convTranspose2d(x, w, null, c.opts);
    const r0 = convTranspose2dComposite(x, w, null, c.opts);
    assert.ok(maxDiff(y0, r0) <= 1e-5, `${label(c)} without bias`);
    tf.dispose([x, w, b, y0, r0]);
  });
});

test('convTranspose2d gradients (input, weight, bias) equal the composite path, without leaks', () => {
  CASES.forEach((c, i) => {
    const [x, w, b] = inputs(c, 10 * i + 100);
    const dyShape = tf.tidy(() => convTranspose2dComposite(x, w, b, c.opts).shape);
    const dy = rnd(dyShape, 10 * i + 200);
    const before = tf.memory().numTensors;
    const got = tf.grads((a: Tensor, k: Tensor, bb: Tensor) => convTranspose2d(a, k, bb, c.opts))([x, w, b], dy);
    const want = tf.grads((a: Tensor, k: Tensor, bb: Tensor) => convTranspose2dComposite(a, k, bb, c.opts))([x, w, b], dy);
    ['input', 'weight', 'bias'].forEach((what, j) => {
      const err = maxDiff(got[j]!, want[j]!);
      assert.ok(err <= 1e-4, `${label(c)}: d/d${what} max difference ${err}`);
    });
    tf.dispose([...got, ...want]);
    assert.equal(tf.memory().numTensors, before, `${label(c)}: forward+grad leaked tensors`);
    tf.dispose([x, w, b, dy]);
  });
});

test('convTranspose2d gradients match finite differences', () => {
  CASES.forEach((c, i) => {
    const [x, w, b] = inputs(c, 10 * i + 300);
    // Bilinear in (input, weight) and linear in bias: central differences are exact up to
    // float32 rounding, so a large step keeps that rounding small.
    checkGradients(label(c), (a, k, bb) => convTranspose2d(a, k!, bb, c.opts), [x, w, b], { step: 0.5, tol: 1e-4, samples: 25 });
    tf.dispose([x, w, b]);
  });
});
