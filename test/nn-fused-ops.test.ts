// The custom-gradient layer ops (native TensorFlow ops with hand-written gradients on the
// native backend, tfjs compositions on pure JS): values against plain tfjs compositions or
// definitions, gradients against central finite differences. Run on both backends:
// `node --import tsx --test test/nn-fused-ops.test.ts`, and with SIMDEBLUR_BACKEND=cpu.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { leakyRelu, relu } from '../src/nn/activations.ts';
import { conv2d, convTranspose2d } from '../src/nn/conv.ts';
import { layerNorm } from '../src/nn/norm.ts';
import { channelAttention, scaledResidual, simpleGate } from '../src/nn/gates.ts';
import { Rng } from '../src/util/rng.ts';
import { checkGradients } from './helpers/gradcheck.ts';

const rnd = (shape: number[], seed: number, lo = -1, hi = 1): Tensor => tf.tensor(Rng.seeded(seed).uniformArray(shape.reduce((a, b) => a * b, 1), lo, hi), shape);

/**
 * Central finite differences of sum(f(x)·r) (float64 accumulation) against tf.grads, on
 * `samples` elements of each input (all when fewer). Ops that are polynomial of degree ≤ 2
 * in the checked input have exact central differences, so a large step keeps float32
 * rounding out; others use a small step.
 */
function gradCheck(name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], step: number, tol: number, samples = 40): void {
  checkGradients(name, f, inputs, { step, tol, samples });
}

function assertClose(a: Tensor, b: Tensor, tol: number, what: string): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const err = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
  assert.ok(err <= tol, `${what}: max difference ${err}`);
}

/** Values at least `gap` away from 0, so that a finite-difference step never crosses the kink. */
function awayFromZero(shape: number[], seed: number, gap: number): Tensor {
  const v = Rng.seeded(seed).uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1).map((u) => (u < 0 ? u - gap : u + gap));
  return tf.tensor(v, shape);
}

test('relu and leakyRelu: values, gradients, and the gradient at 0 as PyTorch', () => {
  const x = awayFromZero([2, 3, 4], 1, 0.05);
  assertClose(relu(x), tf.maximum(x, 0), 0, 'relu');
  assertClose(leakyRelu(x, 0.2), tf.where(tf.greater(x, 0), x, tf.mul(x, 0.2)), 1e-7, 'leakyRelu');
  gradCheck('relu', (a) => relu(a), [x], 1e-2, 1e-4);
  gradCheck('leakyRelu', (a) => leakyRelu(a, 0.2), [x], 1e-2, 1e-4);
  gradCheck('leakyRelu negative slope', (a) => leakyRelu(a, -0.3), [x], 1e-2, 1e-4);
  // PyTorch: relu'(0) = 0 (threshold_backward), leaky_relu'(0) = slope.
  const z = tf.tensor1d([-1, 0, 2]);
  assert.deepEqual(Array.from(tf.grad((a: Tensor) => tf.sum(relu(a)))(z).dataSync()), [0, 0, 1]);
  const gl = Array.from(tf.grad((a: Tensor) => tf.sum(leakyRelu(a, 0.25)))(z).dataSync());
  assert.deepEqual(gl, [0.25, 0.25, 1]);
  tf.dispose([x, z]);
});

test('conv2d fast paths: 1x1 with bias, depthwise with bias, stride and asymmetric padding', () => {
  const x = rnd([2, 5, 6, 4], 2);
  const w1 = rnd([1, 1, 4, 3], 3);
  const b3 = rnd([3], 4);
  // A 1x1 convolution is a matrix product over channels.
  const ref1 = tf.add(tf.matMul(x.reshape([-1, 4]), w1.reshape([4, 3])), b3).reshape([2, 5, 6, 3]);
  assertClose(conv2d(x, w1, b3), ref1, 1e-5, '1x1 conv');
  gradCheck('1x1 conv', (a, k, c) => conv2d(a, k!, c), [x, w1, b3], 0.5, 1e-4);
  const wd = rnd([3, 3, 1, 4], 5);
  const b4 = rnd([4], 6);
  // Depthwise = grouped conv done one channel at a time.
  for (const opts of [{ padding: 1 }, { padding: [0, 2, 1, 0] as const, stride: 2 }, { padding: 0, stride: [1, 2] as const }]) {
    const got = conv2d(x, wd, b4, { ...opts, groups: 4 });
    const perChannel = tf.concat(Array.from({ length: 4 }, (_, ch) => conv2d(x.slice([0, 0, 0, ch], [2, 5, 6, 1]), wd.slice([0, 0, 0, ch], [3, 3, 1, 1]), null, opts)), 3);
    assertClose(got, tf.add(perChannel, b4), 1e-5, `depthwise ${JSON.stringify(opts)}`);
    gradCheck(`depthwise ${JSON.stringify(opts)}`, (a, k, c) => conv2d(a, k!, c, { ...opts, groups: 4 }), [x, wd, b4], 0.5, 1e-4);
  }
  // Channel multiplier 2: output channel c·2 + j reads input channel c.
  const wm = rnd([3, 3, 1, 8], 7);
  gradCheck('depthwise multiplier 2', (a, k) => conv2d(a, k!, null, { padding: 1, groups: 4 }), [x, wm], 0.5, 1e-4);
  tf.dispose([x, w1, b3, ref1, wd, b4, wm]);
});

test('convTranspose2d native paths (SAME- and VALID-equivalent) and the cropping fallback, with bias', () => {
  const x = rnd([2, 3, 4, 3], 8);
  const b = rnd([2], 9);
  for (const [k, s, p, op] of [[4, 2, 1, 0], [3, 1, 0, 0], [2, 2, 0, 0], [3, 2, 1, 1], [3, 2, 0, 1]] as const) {
    const w = rnd([k, k, 2, 3], 10 + k);
    const opts = { stride: s, padding: p, outputPadding: op };
    // Definition: scatter each input pixel times the kernel, then crop the padding.
    const [bs, h, wd] = x.shape as [number, number, number, number];
    const outH = (h - 1) * s - 2 * p + k + op;
    const outW = (wd - 1) * s - 2 * p + k + op;
    const xd = x.dataSync();
    const wdd = w.dataSync();
    const bd = b.dataSync();
    const ref = new Float32Array(bs * outH * outW * 2);
    for (let n = 0; n < bs; n++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) for (let o = 0; o < 2; o++) ref[((n * outH + oy) * outW + ox) * 2 + o] = bd[o]!;
    for (let n = 0; n < bs; n++) for (let iy = 0; iy < h; iy++) for (let ix = 0; ix < wd; ix++) for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
      const oy = iy * s - p + ky;
      const ox = ix * s - p + kx;
      if (oy < 0 || oy >= outH || ox < 0 || ox >= outW) continue;
      for (let o = 0; o < 2; o++) {
        const at = ((n * outH + oy) * outW + ox) * 2 + o;
        for (let c = 0; c < 3; c++) ref[at] = ref[at]! + xd[((n * h + iy) * wd + ix) * 3 + c]! * wdd[((ky * k + kx) * 2 + o) * 3 + c]!;
      }
    }
    const want = tf.tensor(ref, [bs, outH, outW, 2]);
    assertClose(convTranspose2d(x, w, b, opts), want, 1e-5, `convT ${JSON.stringify(opts)} k${k}`);
    gradCheck(`convT ${JSON.stringify(opts)} k${k}`, (a, kk, c) => convTranspose2d(a, kk!, c, opts), [x, w, b], 0.5, 1e-4);
    tf.dispose([w, want]);
  }
  tf.dispose([x, b]);
});

test('layerNorm (centred and not, with and without affine parameters): values and gradients', () => {
  const x = rnd([2, 3, 2, 5], 11, -1, 2);
  const w = rnd([5], 12, 0.5, 1.5);
  const b = rnd([5], 13);
  const { mean, variance } = tf.moments(x, -1, true);
  const inv = tf.rsqrt(tf.add(variance, 1e-6));
  assertClose(layerNorm(x, w, b, 1e-6), tf.add(tf.mul(tf.mul(tf.sub(x, mean), inv), w), b), 1e-5, 'layerNorm');
  assertClose(layerNorm(x, w, null, 1e-6, false), tf.mul(tf.mul(x, inv), w), 1e-5, 'layerNorm, not centred');
  gradCheck('layerNorm', (a, k, c) => layerNorm(a, k!, c!, 1e-6), [x, w, b], 1e-2, 1e-2);
  gradCheck('layerNorm, no affine', (a) => layerNorm(a, null, null, 1e-5), [x], 1e-2, 1e-2);
  gradCheck('layerNorm, not centred', (a, k) => layerNorm(a, k!, null, 1e-5, false), [x, w], 1e-2, 1e-2);
  // Weights given with a shape holding C values (e.g. [1, C, 1, 1]) are read as vectors.
  gradCheck('layerNorm, 4-D weight', (a, k) => layerNorm(a, k!, null, 1e-5), [x, w.reshape([1, 5, 1, 1])], 1e-2, 1e-2);
  tf.dispose([x, w, b, mean, variance, inv]);
});

test('simpleGate, channelAttention, scaledResidual: values and gradients', () => {
  const x = rnd([2, 3, 4, 6], 14);
  const [a, bh] = tf.split(x, 2, 3) as [Tensor, Tensor];
  assertClose(simpleGate(x), tf.mul(a, bh), 0, 'simpleGate');
  gradCheck('simpleGate', (t) => simpleGate(t), [x], 0.5, 1e-4);
  assert.throws(() => simpleGate(rnd([1, 2, 2, 3], 1)), /odd/);

  const w = rnd([1, 1, 6, 6], 15);
  const bias = rnd([6], 16);
  const ref = tf.mul(x, conv2d(tf.mean(x, [1, 2], true), w, bias));
  assertClose(channelAttention(x, w, bias), ref, 1e-5, 'channelAttention');
  gradCheck('channelAttention', (t, k, c) => channelAttention(t, k!, c!), [x, w, bias], 0.5, 1e-4);
  gradCheck('channelAttention, no bias', (t, k) => channelAttention(t, k!, null), [x, w], 0.5, 1e-4);

  const base = rnd([2, 3, 4, 6], 17);
  const scale = rnd([1, 6, 1, 1], 18);
  assertClose(scaledResidual(base, x, scale), tf.add(base, tf.mul(x, scale.reshape([6]))), 1e-6, 'scaledResidual');
  gradCheck('scaledResidual', (p, q, s) => scaledResidual(p, q!, s!), [base, x, scale], 0.5, 1e-4);
  // The same tensor as base and branch: both gradient paths add up.
  gradCheck('scaledResidual, shared input', (p, s) => scaledResidual(p, p, s!), [base, scale], 0.5, 1e-4);
  tf.dispose([x, a, bh, w, bias, ref, base, scale]);
});
