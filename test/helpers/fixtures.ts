// Loads a parity fixture directory (weights.safetensors + io.safetensors; the format is
// described in ../shared/fixtures/README.md) into plain data, plus small test utilities.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toTensor, type RawTensor } from '../../src/io/safetensors.ts';
import { loadFixture as loadFixtureDir, maxAbsDiff, toChannelsLast, type Fixture } from '../../src/models/fixture.ts';
import { tf } from '../../src/runtime/index.ts';
import type { Scalar, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { countParams, loadStateDict, type Model } from '../../src/models/model.ts';
import { setFlowWeightsWarningSink } from '../../src/models/flow-weights.ts';
import assert from 'node:assert/strict';

export type { Fixture, FixtureMeta } from '../../src/models/fixture.ts';
export { toChannelsLast, maxAbsDiff } from '../../src/models/fixture.ts';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'parity');

/** `dir` is a path, or a model name under test/fixtures/parity. */
export function loadFixture(dir: string): Fixture {
  return loadFixtureDir(path.isAbsolute(dir) || dir.includes('/') ? dir : path.join(FIXTURES, dir));
}

export function ioTensor(f: Fixture, key: string): RawTensor {
  const t = f.io[key];
  if (t === undefined) throw new Error(`fixture has no io tensor '${key}' (has ${Object.keys(f.io).join(', ')})`);
  return toChannelsLast(t);
}

/**
 * One plain-SGD training step: forward in training mode, `lossOf(output)`, gradients of the
 * trainable params, `w -= lr·g`. Returns the loss before the step.
 */
export function sgdStepWith(m: Model, x: Tensor | Tensor[], lossOf: (y: Tensor | Tensor[]) => Scalar, lr: number): number {
  const vars = Object.values(m.params);
  const { value, grads } = tf.variableGrads(() => lossOf(m.apply(m.params, x, { training: true })), vars);
  tf.tidy(() => {
    for (const v of vars) {
      const g = grads[v.name];
      if (g === undefined) throw new Error(`sgdStep: no gradient for a parameter of shape ${JSON.stringify(v.shape)}`);
      v.assign(v.sub(g.mul(lr)));
    }
  });
  const loss = value.dataSync()[0]!;
  tf.dispose([value, grads]);
  return loss;
}

/** `sgdStepWith` with the mean absolute error of a single output against `target`. */
export function sgdStep(m: Model, x: Tensor | Tensor[], target: Tensor, lr: number): number {
  return sgdStepWith(
    m,
    x,
    (y) => {
      if (Array.isArray(y)) throw new Error('sgdStep: expected a single output tensor');
      return tf.mean(tf.abs(tf.sub(y, target))) as Scalar;
    },
    lr,
  );
}

/** `sgdStepWith` with mean absolute errors summed over a list of outputs, each against its target. */
export function pyramidStep(m: Model, xs: Tensor | Tensor[], targets: readonly Tensor[], lr: number): number {
  return sgdStepWith(m, xs, (ys) => tf.addN((ys as Tensor[]).map((y, i) => tf.mean(tf.abs(tf.sub(y, targets[i]!))))) as Scalar, lr);
}

/** An image and its 2×-average-pooled copies, finest first (`levels` in all). */
export function pyramid(x: Tensor, levels: number): Tensor[] {
  const out = [x];
  for (let i = 1; i < levels; i++) out.push(tf.avgPool(out[i - 1] as Tensor4D, 2, 2, 'valid'));
  return out;
}

export function withoutFlowWarning<A>(build: () => A): A {
  const previous = setFlowWeightsWarningSink(() => undefined);
  try {
    return build();
  } finally {
    setFlowWeightsWarningSink(previous);
  }
}
