import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tf } from '../src/runtime/index.ts';
import type { Tensor4D } from '../src/runtime/index.ts';
import { psnr, psnrPerImage, ssim, ssimPerImage, MetricAccumulator } from '../src/metrics/index.ts';

/** Minimal safetensors reader for the F32-only metric fixture: u64 LE header size, JSON header, data. */
function readFixture(path: string): { tensors: Map<string, { shape: number[]; data: Float32Array }>; meta: Record<string, string> } {
  const buf = readFileSync(path);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, unknown>;
  const base = 8 + headerLen;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  let meta: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      meta = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: [start, end] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    assert.equal(dtype, 'F32');
    const bytes = buf.subarray(base + start, base + end);
    // Copy into an aligned buffer (the data section need not be 4-byte aligned in the file).
    const data = new Float32Array(new Uint8Array(bytes).buffer);
    tensors.set(name, { shape, data });
  }
  return { tensors, meta };
}

const fixturePath = fileURLToPath(new URL('./fixtures/parity/metrics/io.safetensors', import.meta.url));

function nhwcFromNchw(t: { shape: number[]; data: Float32Array }): Tensor4D {
  const [b, c, h, w] = t.shape as [number, number, number, number];
  return tf.tidy(() => tf.transpose(tf.tensor4d(t.data, [b, c, h, w]), [0, 2, 3, 1]));
}

test('PSNR and SSIM match the original on the parity fixture', () => {
  const { tensors, meta } = readFixture(fixturePath);
  const img1 = nhwcFromNchw(tensors.get('img1')!);
  const img2 = nhwcFromNchw(tensors.get('img2')!);
  const before = tf.memory().numTensors;
  const p = psnr(img1, img2);
  const s = ssim(img1, img2);
  assert.equal(tf.memory().numTensors, before + 2);
  assert.ok(Math.abs(p.dataSync()[0]! - Number(meta.psnr)) < 1e-5, `psnr ${p.dataSync()[0]} vs ${meta.psnr}`);
  assert.ok(Math.abs(s.dataSync()[0]! - Number(meta.ssim)) < 1e-5, `ssim ${s.dataSync()[0]} vs ${meta.ssim}`);
  // The batch values are the means of the per-image values.
  const pi = psnrPerImage(img1, img2);
  const si = ssimPerImage(img1, img2);
  assert.deepEqual(pi.shape, [2]);
  const mean = (xs: ArrayLike<number>): number => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(Math.abs(mean(pi.dataSync()) - p.dataSync()[0]!) < 1e-4);
  assert.ok(Math.abs(mean(si.dataSync()) - s.dataSync()[0]!) < 1e-6);
  tf.dispose([img1, img2, p, s, pi, si]);
});

/** Plain-JS reference of the per-image PSNR on a tiny NHWC array (clamping included). */
function psnrRef(a: number[], b: number[]): number {
  const cl = (v: number): number => Math.min(1, Math.max(0, v));
  const mse = a.reduce((acc, v, i) => acc + (cl(v) - cl(b[i]!)) ** 2, 0) / a.length;
  return 20 * Math.log10(1 / Math.sqrt(mse));
}

test('PSNR: per-image values, clamping and +inf for identical images', () => {
  const a = [0.1, 0.5, 0.9, 1.2, 0.3, 0.2, 0.7, 0.4];
  const b = [0.2, 0.5, 0.6, 0.95, 0.3, 0.25, 0.7, -0.1];
  const ta = tf.tensor4d(a, [2, 2, 2, 1]);
  const tb = tf.tensor4d(b, [2, 2, 2, 1]);
  const per = psnrPerImage(ta, tb).arraySync() as number[];
  const ref = [psnrRef(a.slice(0, 4), b.slice(0, 4)), psnrRef(a.slice(4), b.slice(4))];
  per.forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) < 1e-4, `${v} vs ${ref[i]}`));
  const same = psnr(ta, ta).dataSync()[0]!;
  assert.equal(same, Infinity);
  tf.dispose([ta, tb]);
});

test('SSIM is 1 for identical images, works for any channel count, rejects small or mismatched input', () => {
  const x = tf.randomUniform([1, 16, 20, 2], 0, 1, 'float32', 1);
  const y = tf.randomUniform([1, 16, 20, 2], 0, 1, 'float32', 2);
  assert.ok(Math.abs(ssim(x, x).dataSync()[0]! - 1) < 1e-5);
  const v = ssim(x, y).dataSync()[0]!;
  assert.ok(v < 0.5 && v > -1, `ssim of independent noise ${v}`);
  const small = tf.zeros([1, 10, 20, 3]);
  assert.throws(() => ssim(small, small), /at least 11×11/);
  assert.throws(() => psnr(x, small), /shape/);
  const other = tf.zeros([1, 16, 20, 3]);
  const before = tf.memory().numTensors;
  assert.throws(() => ssim(x, other), /shape/);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, y, small, other]);
});

test('SSIM matches a direct 2-D windowed computation', () => {
  const h = 13;
  const w = 12;
  const xa = Array.from({ length: h * w }, (_, i) => (Math.sin(i * 0.7) + 1) / 2);
  const ya = Array.from({ length: h * w }, (_, i) => (Math.cos(i * 0.3) + 1) / 2);
  const g = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 ** 2)));
  const gs = g.reduce((a, b) => a + b, 0);
  const win = (i: number, j: number): number => (g[i]! / gs) * (g[j]! / gs);
  let sum = 0;
  let count = 0;
  for (let r = 0; r + 11 <= h; r++) {
    for (let c = 0; c + 11 <= w; c++) {
      let m1 = 0, m2 = 0, xx = 0, yy = 0, xy = 0;
      for (let i = 0; i < 11; i++) {
        for (let j = 0; j < 11; j++) {
          const k = (r + i) * w + (c + j);
          const wt = win(i, j);
          m1 += wt * xa[k]!;
          m2 += wt * ya[k]!;
          xx += wt * xa[k]! ** 2;
          yy += wt * ya[k]! ** 2;
          xy += wt * xa[k]! * ya[k]!;
        }
      }
      const s1 = xx - m1 * m1, s2 = yy - m2 * m2, s12 = xy - m1 * m2;
      const C1 = 1e-4, C2 = 9e-4;
      sum += ((2 * m1 * m2 + C1) * (2 * s12 + C2)) / ((m1 * m1 + m2 * m2 + C1) * (s1 + s2 + C2));
      count++;
    }
  }
  const tx = tf.tensor4d(xa, [1, h, w, 1]);
  const ty = tf.tensor4d(ya, [1, h, w, 1]);
  const got = ssim(tx, ty).dataSync()[0]!;
  assert.ok(Math.abs(got - sum / count) < 1e-5, `${got} vs ${sum / count}`);
  tf.dispose([tx, ty]);
});

test('MetricAccumulator: unique frames, overwrite, per-video and overall means', () => {
  const acc = new MetricAccumulator();
  acc.add('a', '001.png', 30, 0.9);
  acc.add('a', '002.png', 32, 0.8);
  acc.add('b', '001.png', 20, 0.5);
  acc.add('a', '002.png', 34, 0.7); // revisited: overwrites
  // Names that would collide if joined with '_' stay distinct.
  acc.add('c_d', 'e', 10, 0.1);
  acc.add('c', 'd_e', 12, 0.3);
  assert.equal(acc.size, 5);
  const per = acc.perVideo();
  assert.deepEqual([...per.keys()], ['a', 'b', 'c_d', 'c']);
  assert.deepEqual(per.get('a'), { psnr: 32, ssim: 0.8, frames: 2 });
  const m = acc.mean();
  assert.equal(m.frames, 5);
  assert.ok(Math.abs(m.psnr - (30 + 34 + 20 + 10 + 12) / 5) < 1e-12);
  assert.ok(Math.abs(m.ssim - (0.9 + 0.7 + 0.5 + 0.1 + 0.3) / 5) < 1e-12);
  assert.ok(Number.isNaN(new MetricAccumulator().mean().psnr));
});

test('MetricAccumulator.addBatch reads per-image tensors', () => {
  const acc = new MetricAccumulator();
  const p = tf.tensor1d([25, 27]);
  const s = tf.tensor1d([0.5, 0.75]);
  acc.addBatch(['v', 'v'], ['0', '1'], p, s);
  assert.deepEqual(acc.perVideo().get('v'), { psnr: 26, ssim: 0.625, frames: 2 });
  assert.throws(() => acc.addBatch(['v'], ['0', '1'], p, s), /do not match/);
  tf.dispose([p, s]);
});
