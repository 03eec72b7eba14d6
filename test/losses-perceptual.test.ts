import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { tf } from '../src/runtime/index.ts';
import type { Scalar, Tensor, Tensor4D } from '../src/runtime/index.ts';
import { Rng } from '../src/util/rng.ts';
import { writeSafetensors, type RawTensor } from '../src/io/safetensors.ts';
import { perceptualVgg19, perceptualLoss, vgg19Features, vgg19FeatureMaps, VGG19_CONVS } from '../src/losses/index.ts';
import { perceptual } from '../src/losses/components.ts';
import { buildComponent, decodeComponent, decodeWith, experiment, models, optim } from '../src/index.ts';
import { synthetic } from '../src/data/components.ts';
import { interpret } from '../src/engine/interpret.ts';
import { checkGradients } from './helpers/gradcheck.ts';
import { randomVggStateDict } from './helpers/vgg.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perceptual-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const stateDict = randomVggStateDict(1);
const weightsFile = path.join(dir, 'vgg19.safetensors');
writeSafetensors(weightsFile, stateDict);

function writeVariant(name: string, edit: (sd: Record<string, RawTensor>) => void): string {
  const sd = { ...stateDict };
  edit(sd);
  const file = path.join(dir, name);
  writeSafetensors(file, sd);
  return file;
}

/** OIHW → HWIO by index arithmetic (independent of the library's permute). */
function hwio(raw: RawTensor): Tensor4D {
  const [o, i, kh, kw] = raw.shape as [number, number, number, number];
  const out = new Float32Array(raw.data.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    out[((y * kw + x) * i + b) * o + a] = raw.data[((a * i + b) * kh + y) * kw + x]!;
  }
  return tf.tensor4d(out, [kh, kw, i, o]);
}

/** The reference: plain tf ops, relu1_2, relu2_2, pre-activation conv3_3. */
function referenceFeatures(x: Tensor4D): Tensor4D[] {
  const conv = (t: Tensor4D, n: number): Tensor4D =>
    tf.add(tf.conv2d(t, hwio(stateDict[`features.${n}.weight`]!), 1, 'same'), tf.tensor1d(stateDict[`features.${n}.bias`]!.data as Float32Array));
  const pool = (t: Tensor4D): Tensor4D => tf.maxPool(t, 2, 2, 'valid');
  const f1 = tf.relu(conv(tf.relu(conv(x, 0)), 2));
  const f2 = tf.relu(conv(tf.relu(conv(pool(f1), 5)), 7));
  const f3 = conv(tf.relu(conv(tf.relu(conv(pool(f2), 10)), 12)), 14);
  return [f1, f2, f3];
}

function referenceLoss(gt: Tensor4D, pred: Tensor4D, w: readonly number[], reduction: 'mean' | 'sum', normalize: boolean): number {
  return tf.tidy(() => {
    const norm = (x: Tensor4D): Tensor4D =>
      normalize ? (tf.div(tf.sub(x, tf.tensor1d([0.485, 0.456, 0.406])), tf.tensor1d([0.229, 0.224, 0.225])) as Tensor4D) : x;
    const a = referenceFeatures(norm(gt));
    const b = referenceFeatures(norm(pred));
    let total = 0;
    a.forEach((fa, i) => {
      const d = tf.squaredDifference(fa, b[i]!);
      total += w[i]! * (reduction === 'mean' ? tf.mean(d) : tf.sum(d)).dataSync()[0]!;
    });
    return total;
  });
}

function images(seed: number, shape: [number, number, number, number]): Tensor4D {
  return tf.tensor4d(Rng.seeded(seed).uniformArray(shape.reduce((a, b) => a * b, 1), 0, 1), shape);
}

const value = (s: Scalar): number => {
  const v = s.dataSync()[0]!;
  s.dispose();
  return v;
};
const close = (a: number, b: number, tol: number): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1e-6, Math.abs(b)), `${a} vs ${b}`);

test('perceptualVgg19 matches a plain-tf VGG19 (relu1_2, relu2_2, pre-activation conv3_3)', () => {
  const gt = images(2, [2, 16, 16, 3]);
  const pred = images(3, [2, 16, 16, 3]);
  const before = tf.memory().numTensors;
  const loss = perceptualVgg19({ weights: weightsFile });
  for (const [opts, w] of [
    [{}, [1, 0.2, 0.04]],
    [{ reduction: 'sum' as const }, [1, 0.2, 0.04]],
    [{ layerWeights: [0.5, 2, 3], normalize: true }, [0.5, 2, 3]],
    [{ layerWeights: [0, 0, 1] }, [0, 0, 1]],
  ] as const) {
    const fn = Object.keys(opts).length === 0 ? loss : perceptualVgg19({ weights: weightsFile, ...opts });
    const got = value(fn(gt, pred));
    const want = referenceLoss(gt, pred, w, 'reduction' in opts ? opts.reduction : 'mean', 'normalize' in opts && opts.normalize);
    assert.ok(want > 0);
    close(got, want, 1e-4);
    if (fn !== loss) (fn as typeof loss).dispose();
  }
  // Clips [B, T, H, W, 3] are a batch of frames.
  const clipGt = tf.reshape(gt, [1, 2, 16, 16, 3]);
  const clipPred = tf.reshape(pred, [1, 2, 16, 16, 3]);
  close(value(loss(clipGt, clipPred)), referenceLoss(gt, pred, [1, 0.2, 0.04], 'mean', false), 1e-4);
  tf.dispose([clipGt, clipPred]);
  loss.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => loss(gt, pred), /disposed/);
  tf.dispose([gt, pred]);
});

test('vgg19FeatureMaps: shapes and the pre-activation third map', () => {
  const features = vgg19Features(stateDict);
  const x = images(4, [1, 18, 14, 3]);
  const maps = vgg19FeatureMaps(features, x);
  assert.deepEqual(maps.map((m) => m.shape), [[1, 18, 14, 64], [1, 9, 7, 128], [1, 4, 3, 256]]);
  const ref = tf.tidy(() => referenceFeatures(x).map((r, i) => tf.max(tf.abs(tf.sub(r, maps[i]!))).dataSync()[0]!));
  ref.forEach((d) => assert.ok(d < 1e-4, `feature map differs by ${d}`));
  // relu maps are non-negative; conv3_3 before its ReLU has negative values.
  assert.ok(tf.tidy(() => tf.min(maps[0]!).dataSync()[0]!) >= 0);
  assert.ok(tf.tidy(() => tf.min(maps[1]!).dataSync()[0]!) >= 0);
  assert.ok(tf.tidy(() => tf.min(maps[2]!).dataSync()[0]!) < 0);
  tf.dispose([...maps, x, ...Object.values(features)]);
});

test('zero for identical inputs; gradient w.r.t. pred matches finite differences; no leaks', () => {
  const features = vgg19Features(stateDict);
  const gt = images(5, [1, 8, 8, 3]);
  // A prediction near the ground truth keeps the loss small, so float32 rounding of the loss
  // stays far below the finite-difference signal; the loss is scaled to make gradients O(1..10).
  const pred = tf.tidy(() => tf.add(gt, tf.tensor4d(Rng.seeded(6).uniformArray(192, -0.05, 0.05), [1, 8, 8, 3])));
  const loss = perceptualLoss(features, { reduction: 'sum' });
  const scaled = (p: Tensor): Scalar => tf.tidy(() => tf.mul(loss(gt, p), 20));
  assert.equal(value(loss(gt, gt)), 0);
  assert.equal(value(perceptualLoss(features)(pred, pred)), 0);

  const before = tf.memory().numTensors;
  const g = tf.grad(scaled)(pred);
  const gMax = tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!);
  g.dispose();
  assert.equal(tf.memory().numTensors, before, 'loss + gradient leaked tensors');
  assert.ok(gMax > 2, `gradient too small for a meaningful check (${gMax})`);

  checkGradients('perceptual', scaled, [pred], { step: 1e-3, tol: 3e-2, samples: 8 });
  tf.dispose([gt, pred, ...Object.values(features)]);
});

test('errors name the file and the missing key or wrong shape', () => {
  const before = tf.memory().numTensors;
  const nowhere = path.join(dir, 'missing', 'vgg.safetensors');
  assert.throws(() => perceptualVgg19({ weights: nowhere }), (e: Error) => {
    assert.match(e.message, /perceptualVgg19: cannot load VGG19 weights from /);
    assert.ok(e.message.includes(nowhere), e.message);
    assert.match(e.message, /convert-vgg19\.py/);
    return true;
  });

  const noKey = writeVariant('no-key.safetensors', (sd) => delete sd['features.7.weight']);
  assert.throws(() => perceptualVgg19({ weights: noKey }), (e: Error) => {
    assert.ok(e.message.includes(noKey), e.message);
    assert.match(e.message, /has no tensor 'features\.7\.weight'/);
    assert.match(e.message, /it holds 15 tensors: classifier\.0\.bias, features\.0\.bias/);
    return true;
  });

  // A dict saved without the `features.` prefix is reported with what it holds.
  const bare = writeVariant('bare.safetensors', (sd) => {
    for (const k of Object.keys(sd).filter((n) => n.startsWith('features.'))) {
      sd[k.slice('features.'.length)] = sd[k]!;
      delete sd[k];
    }
  });
  assert.throws(() => perceptualVgg19({ weights: bare }), /has no tensor 'features\.0\.weight' \(and 13 more VGG19 keys are missing\).*it holds 16 tensors: 0\.bias, 0\.weight/);

  const badShape = writeVariant('bad-shape.safetensors', (sd) => {
    sd['features.5.weight'] = { shape: [128, 64, 1, 9], data: sd['features.5.weight']!.data };
  });
  assert.throws(() => perceptualVgg19({ weights: badShape }), (e: Error) => {
    assert.ok(e.message.includes(badShape), e.message);
    assert.match(e.message, /'features\.5\.weight' has shape \[128, 64, 1, 9\] but VGG19 needs \[128, 64, 3, 3\] \(PyTorch layout \[out, in, kh, kw\]\)/);
    return true;
  });
  assert.throws(() => perceptualVgg19({ weights: weightsFile, layerWeights: [1, 2] }), /layerWeights must be 3/);
  assert.equal(tf.memory().numTensors, before, 'failed loads leaked tensors');

  const features = vgg19Features(stateDict);
  const loss = perceptualLoss(features);
  const a = tf.zeros([1, 16, 16, 3]);
  const gray = tf.zeros([1, 16, 16, 1]);
  const tiny = tf.zeros([1, 3, 16, 3]);
  assert.throws(() => loss(a, gray), /ground truth has shape/);
  assert.throws(() => loss(gray, gray), /expected RGB images/);
  assert.throws(() => loss(tiny, tiny), /at least 4x4/);
  tf.dispose([a, gray, tiny, ...Object.values(features)]);
});

test('spec component: defaults, required weights, layerWeights length, built loss', () => {
  assert.deepEqual(perceptual({ weights: weightsFile }), { type: 'perceptualVgg19', weights: weightsFile, layerWeights: [1, 0.2, 0.04], reduction: 'mean', normalize: false });
  const missing = decodeWith(perceptual.codec, { type: 'perceptualVgg19' }, 'loss');
  assert.ok(isLeft(missing));
  assert.deepEqual(missing.left, ['loss.weights: missing required key (expected non-empty string)']);
  assert.throws(() => decodeComponent('loss', { type: 'perceptualVgg19', weights: weightsFile, layerWeights: [1, 0.2] }), /layerWeights: expected 3 weights/);
  assert.throws(() => decodeComponent('loss', { type: 'perceptualVgg19', weights: weightsFile, reduction: 'avg' }), /reduction/);

  const nowhere = path.join(dir, 'nope.safetensors');
  assert.throws(() => buildComponent('loss', perceptual({ weights: nowhere })), (e: Error) => e.message.includes(nowhere));

  const gt = images(7, [1, 16, 16, 3]);
  const pred = images(8, [1, 16, 16, 3]);
  const built = buildComponent('loss', perceptual({ weights: weightsFile, reduction: 'sum', normalize: true }));
  const want = referenceLoss(gt, pred, [1, 0.2, 0.04], 'sum', true);
  close(value(built(gt, pred)), want, 1e-4);
  // Rebuilding reuses the weights read the first time (no new tensors).
  const count = tf.memory().numTensors;
  const again = buildComponent('loss', perceptual({ weights: weightsFile, reduction: 'sum', normalize: true }));
  assert.equal(tf.memory().numTensors, count);
  close(value(again(gt, pred)), want, 1e-4);

  // Built for the first time inside a tidy: the cached weights survive it.
  const copy = path.join(dir, 'vgg19-copy.safetensors');
  fs.copyFileSync(weightsFile, copy);
  const spec = perceptual({ weights: copy, reduction: 'sum', normalize: true });
  close(value(tf.tidy(() => buildComponent('loss', spec)(gt, pred))), want, 1e-4);
  close(value(buildComponent('loss', spec)(gt, pred)), want, 1e-4);
  tf.dispose([gt, pred]);
});

test('an experiment whose perceptual weights file is missing fails at interpretation, naming the file', async () => {
  const nowhere = path.join(dir, 'missing-vgg19.safetensors');
  const exp = experiment({
    name: 'perceptual-missing',
    workDir: path.join(dir, 'work'),
    data: { train: synthetic({ videos: 1, samplesPerVideo: 2, numFrames: 5, height: 16, width: 16 }), batchSize: 1 },
    model: models.dbn({ innerChannels: 2 }),
    loss: perceptual({ weights: nowhere }),
    optimizer: optim.adam({ lr: 1e-4 }),
    run: { iterations: 1 },
    validation: { every: 1 },
    checkpoint: { every: 1 },
  });
  const before = tf.memory().numTensors;
  await assert.rejects(interpret(exp), (e: Error) => e.message.includes(nowhere));
  assert.equal(tf.memory().numTensors, before);
});
