// The browser runs the shared model code on tfjs's WebAssembly (or WebGL) backend, where every
// layer takes its pure-tfjs path (`isNative()` false). This runs the same code here, on the
// native backend and then on tfjs's 'wasm' backend (the browser's kernels, compiled to
// WebAssembly, loaded in Node) and its 'cpu' backend, through `restoreFrames` with tiles as the
// page does, for both shipped demonstration models, and requires the same output.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { tf, isNative } from '../src/runtime/index.ts';
import { DEMO_MODELS, fromExperiment, readExperiment, shippedWeightsDir } from '../src/infer/load.ts';
import { loadRestorer } from '../src/infer/restorer.ts';
import { restoreFrames } from '../src/infer/run.ts';
import type { Frame } from '../src/infer/frames.ts';
import { defaultOverlap } from '../src/infer/tile.ts';

const W = 72;
const H = 40;
const TILE = 32;

/** Smooth, textured frames, slightly different from one another. */
function frames(count: number): Frame[] {
  return Array.from({ length: count }, (_, f) => {
    const rgb = new Float32Array(W * H * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = 0.5 + 0.4 * Math.sin(i * 0.013 + f * 0.7) * Math.cos(((i / 3) | 0) * 0.11 + (i % 3));
    return { name: `f${f}`, width: W, height: H, rgb };
  });
}

/** Every frame of `input` restored on the current backend, tiled as the page tiles. */
async function restoreAll(kind: keyof typeof DEMO_MODELS, input: Frame[]): Promise<Float32Array[]> {
  const dir = path.join(shippedWeightsDir(), DEMO_MODELS[kind]);
  const r = loadRestorer(fromExperiment(readExperiment(path.join(dir, 'experiment.json')), dir, { ema: false }));
  const out: Float32Array[] = [];
  try {
    const before = tf.memory().numTensors;
    await restoreFrames(r, { count: input.length, frames: async function* () { yield* input; } }, async (f) => void out.push(f.rgb), { tile: { tile: TILE, overlap: defaultOverlap(TILE) } });
    assert.equal(tf.memory().numTensors, before, `tensors left behind on ${tf.getBackend()}`);
  } finally {
    r.dispose();
  }
  return out;
}

const maxDiff = (a: readonly Float32Array[], b: readonly Float32Array[]) => Math.max(...a.map((x, i) => x.reduce((m, v, j) => Math.max(m, Math.abs(v - b[i]![j]!)), 0)));

// tfjs-backend-wasm registers with the tfjs-core the runtime loaded (one CommonJS copy).
createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm');
const native = tf.getBackend();
after(async () => {
  await tf.setBackend(native);
});

for (const kind of ['image', 'video'] as const) {
  test(`the ${DEMO_MODELS[kind]} model restores the same frames on tfjs's wasm and cpu backends as on ${native}`, async (t) => {
    const input = frames(kind === 'image' ? 1 : 3);
    await tf.setBackend(native);
    const reference = await restoreAll(kind, input);
    for (const backend of ['wasm', 'cpu']) {
      assert.ok(await tf.setBackend(backend), `the ${backend} backend did not start`);
      assert.equal(isNative(), false);
      const got = await restoreAll(kind, input);
      assert.equal(got.length, reference.length);
      const diff = maxDiff(got, reference);
      t.diagnostic(`${backend}: max |difference| ${diff.toExponential(2)} from ${native}`);
      assert.ok(diff < 1e-4, `${backend}: outputs differ from ${native} by up to ${diff}`);
    }
    await tf.setBackend(native);
  });
}
