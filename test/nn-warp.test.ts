import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { gridCoverage, gridSample } from '../src/nn/ops/grid-sample.ts';
import type { GridPaddingMode, GridSampleMode } from '../src/nn/ops/grid-sample.ts';
import { CDVD_WARP, LITEFLOWNET_BACKWARP, PWC_BACKWARP, flowToGrid, linspaceMinus1To1, warp, warpWithMask } from '../src/nn/ops/warp.ts';
import { Rng } from '../src/util/rng.ts';
import { checkGradients } from './helpers/gradcheck.ts';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void => {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

// Round half to even, as C's nearbyint in the default rounding mode.
function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Straightforward grid_sample in float64: the reference for the op. */
function naiveGridSample(x: Float32Array, xs: number[], grid: Float32Array, gs: number[], mode: GridSampleMode, pad: GridPaddingMode, align: boolean): Float64Array {
  const [b, h, w, c] = xs as [number, number, number, number];
  const [, ho, wo] = gs as [number, number, number];
  const out = new Float64Array(b * ho * wo * c);
  // PyTorch's CPU kernel unnormalises in float32 as (g + 1)·s (− 0.5): ties in nearest mode
  // depend on that rounding.
  const f = Math.fround;
  const unnorm = (g: number, size: number): number => {
    const v = align ? f(f(g + 1) * f((size - 1) / 2)) : f(f(f(g + 1) * f(size / 2)) - 0.5);
    return pad === 'border' ? Math.min(Math.max(v, 0), size - 1) : v;
  };
  const at = (n: number, yy: number, xx: number, ch: number): number => (yy >= 0 && yy < h && xx >= 0 && xx < w ? x[((n * h + yy) * w + xx) * c + ch]! : 0);
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        const gi = ((n * ho + i) * wo + j) * 2;
        const ix = unnorm(grid[gi]!, w);
        const iy = unnorm(grid[gi + 1]!, h);
        for (let ch = 0; ch < c; ch++) {
          let v: number;
          if (mode === 'nearest') v = at(n, roundEven(iy), roundEven(ix), ch);
          else {
            const x0 = Math.floor(ix);
            const y0 = Math.floor(iy);
            const fx = ix - x0;
            const fy = iy - y0;
            v = at(n, y0, x0, ch) * (1 - fx) * (1 - fy) + at(n, y0, x0 + 1, ch) * fx * (1 - fy) + at(n, y0 + 1, x0, ch) * (1 - fx) * fy + at(n, y0 + 1, x0 + 1, ch) * fx * fy;
          }
          out[((n * ho + i) * wo + j) * c + ch] = v;
        }
      }
    }
  }
  return out;
}

const MODES: GridSampleMode[] = ['bilinear', 'nearest'];
const PADS: GridPaddingMode[] = ['zeros', 'border'];

test('gridSample: hand-computed values on a two-pixel row', () => {
  const x = tf.tensor([1, 3], [1, 1, 2, 1]);
  const sample = (gx: number, o: Parameters<typeof gridSample>[2]): number => {
    const g = tf.tensor([gx, 0], [1, 1, 1, 2]);
    const y = gridSample(x, g, o);
    const v = y.dataSync()[0]!;
    tf.dispose([g, y]);
    return v;
  };
  // Centre: the mean of both pixels under either convention.
  assert.equal(sample(0, { alignCorners: true }), 2);
  assert.equal(sample(0, { alignCorners: false }), 2);
  // x = 1: the last pixel's centre (align_corners) or its outer edge (1.5 px: half out of range).
  assert.equal(sample(1, { alignCorners: true }), 3);
  assert.equal(sample(1, { alignCorners: false }), 1.5);
  assert.equal(sample(1, { alignCorners: false, paddingMode: 'border' }), 3);
  assert.equal(sample(-1, { alignCorners: false }), 0.5);
  // Nearest: 0.5 px is a tie, rounded to the even index 0.
  assert.equal(sample(0, { mode: 'nearest', alignCorners: true }), 1);
  assert.equal(sample(5, { mode: 'nearest' }), 0);
  assert.equal(sample(5, { mode: 'nearest', paddingMode: 'border' }), 3);
  x.dispose();
});

test('gridSample matches a naive loop for every mode, padding and align_corners, incl. out-of-range points', () => {
  const rng = Rng.seeded(3);
  const xs = [2, 5, 6, 5];
  const gs = [2, 4, 7, 2];
  const xd = rng.uniformArray(xs.reduce((a, b) => a * b), -1, 1);
  const gd = rng.uniformArray(gs.reduce((a, b) => a * b), -1.6, 1.6);
  // A few exact ties and exact border positions.
  gd.set([0, 0, 1, 1, -1, -1, 0.2, -0.2], 0);
  const x = tf.tensor(xd, xs);
  const g = tf.tensor(gd, gs);
  const before = tf.memory().numTensors;
  for (const mode of MODES) {
    for (const pad of PADS) {
      for (const align of [true, false]) {
        const y = gridSample(x, g, { mode, paddingMode: pad, alignCorners: align });
        assert.deepEqual(y.shape, [2, 4, 7, 5]);
        close(y.dataSync(), naiveGridSample(xd, xs, gd, gs, mode, pad, align), 2e-6, `${mode}/${pad}/align=${align}`);
        y.dispose();
      }
    }
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, g]);
});

test('gridSample: the identity grid returns the input (align_corners true and false)', () => {
  const x = tf.randomUniform([1, 4, 6, 2], 0, 1, 'float32', 5);
  for (const align of [true, false]) {
    // Pixel centres in normalised coordinates under each convention.
    const coord = (i: number, n: number): number => (align ? (2 * i) / (n - 1) - 1 : (2 * i + 1) / n - 1);
    const gd = new Float32Array(4 * 6 * 2);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 6; j++) gd.set([coord(j, 6), coord(i, 4)], (i * 6 + j) * 2);
    const g = tf.tensor(gd, [1, 4, 6, 2]);
    for (const mode of MODES) {
      for (const pad of PADS) {
        const y = gridSample(x, g, { mode, paddingMode: pad, alignCorners: align });
        close(y.dataSync(), x.dataSync(), 1e-6, `identity ${mode}/${pad}/align=${align}`);
        y.dispose();
      }
    }
    g.dispose();
  }
  // A zero flow warps to the input under every convention.
  const flow = tf.zeros([1, 4, 6, 2]);
  for (const o of [CDVD_WARP, PWC_BACKWARP, LITEFLOWNET_BACKWARP]) {
    const y = warp(x, flow, o);
    close(y.dataSync(), x.dataSync(), 1e-6, `zero flow ${o.grid}/${o.paddingMode}`);
    y.dispose();
  }
  tf.dispose([x, flow]);
});

test('gridCoverage is grid_sample of ones with zero padding', () => {
  const rng = Rng.seeded(4);
  const gd = rng.uniformArray(3 * 5 * 2, -1.5, 1.5);
  const g = tf.tensor(gd, [1, 3, 5, 2]);
  for (const align of [true, false]) {
    for (const mode of MODES) {
      const cov = gridCoverage(g, [4, 6], { mode, alignCorners: align });
      assert.deepEqual(cov.shape, [1, 3, 5, 1]);
      close(cov.dataSync(), naiveGridSample(new Float32Array(24).fill(1), [1, 4, 6, 1], gd, [1, 3, 5], mode, 'zeros', align), 2e-6, `coverage ${mode}/${align}`);
      cov.dispose();
    }
  }
  g.dispose();
});

test('flowToGrid: the two conventions normalise pixel positions as the originals do', () => {
  assert.deepEqual(Array.from(linspaceMinus1To1(5)), [-1, -0.5, 0, 0.5, 1]);
  assert.deepEqual(Array.from(linspaceMinus1To1(1)), [-1]);
  const flow = tf.tensor([0.5, -1, 0, 0, 0, 0], [1, 1, 3, 2]);
  const a = flowToGrid(flow, 'arange');
  // x: (0 + 0.5)·2/2 − 1 = −0.5, then 0, 1; y: (0 − 1)·2/max(0, 1) − 1 = −3, then −1, −1.
  close(a.dataSync(), [-0.5, -3, 0, -1, 1, -1], 1e-7, 'arange');
  // A one-pixel axis: the original divides the flow by (1 − 1)/2 = 0.
  assert.throws(() => flowToGrid(flow, 'linspace'), /at least 2 pixels/);
  const flow2 = tf.tensor([0.5, -1, 0, 0, 0, 0, 0, 0], [1, 2, 2, 2]);
  const l = flowToGrid(flow2, 'linspace');
  // x: −1 + 0.5/0.5 = 0, 1; y: −1 + (−1)/0.5 = −3, −1; row 1: x −1, 1, y 1, 1.
  close(l.dataSync(), [0, -3, 1, -1, -1, 1, 1, 1], 1e-7, 'linspace');
  tf.dispose([flow, flow2, a, l]);
});

test('warp conventions: border + inclusive mask (CDVD-TSP), zero padding + strict mask (PWC-Net), no mask (LiteFlowNet)', () => {
  const x = tf.tensor([1, 2, 3, 4], [1, 1, 4, 1]).tile([1, 2, 1, 1]); // two identical rows
  const shift = (dx: number): Tensor => tf.tensor(Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? dx : 0)), [1, 2, 4, 2]);
  const run = (dx: number, o: typeof CDVD_WARP): { out: number[]; mask: number[] } => {
    const f = shift(dx);
    const { output, mask } = warpWithMask(x, f, o);
    // Rounded to 1e-6: the grid round trip (pixels → [-1, 1] → pixels) is not exact in float32.
    const r = { out: Array.from(output.dataSync()).slice(0, 4).map((v) => Math.round(v * 1e6) / 1e6), mask: Array.from(mask.dataSync()).slice(0, 4) };
    tf.dispose([f, output, mask]);
    return r;
  };
  // One pixel right: the last column reads outside (border value 4, masked to 0).
  assert.deepEqual(run(1, CDVD_WARP), { out: [2, 3, 4, 0], mask: [1, 1, 1, 0] });
  // Half a pixel: the last column has coverage 0.5 < 0.999.
  assert.deepEqual(run(0.5, CDVD_WARP), { out: [1.5, 2.5, 3.5, 0], mask: [1, 1, 1, 0] });
  assert.deepEqual(run(-0.5, PWC_BACKWARP), { out: [0, 1.5, 2.5, 3.5], mask: [0, 1, 1, 1] });
  assert.deepEqual(run(-0.5, LITEFLOWNET_BACKWARP), { out: [0.5, 1.5, 2.5, 3.5], mask: [1, 1, 1, 1] });
  // Whole-pixel shifts sample exactly, so the coverage is exactly 1 and both masks keep it.
  assert.deepEqual(run(-1, PWC_BACKWARP), { out: [0, 1, 2, 3], mask: [0, 1, 1, 1] });
  // Nearest sampling through the same entry point.
  assert.deepEqual(run(0.6, { ...LITEFLOWNET_BACKWARP, mode: 'nearest' }), { out: [2, 3, 4, 0], mask: [1, 1, 1, 1] });
  x.dispose();
});

test('warp rejects mismatched flow', () => {
  const x = tf.zeros([1, 4, 4, 3]);
  const f = tf.zeros([1, 4, 5, 2]);
  assert.throws(() => warp(x, f, CDVD_WARP), /does not match input/);
  const f3 = tf.zeros([1, 4, 4, 3]);
  assert.throws(() => warp(x, f3, CDVD_WARP), /flow must be \[B, H, W, 2\]/);
  assert.throws(() => gridSample(x, f3), /grid must be/);
  tf.dispose([x, f, f3]);
});

/** Central differences of sum(f(xs)·r) against tf.grads, on sampled elements of each input. */
function gradCheck(name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], step: number, tol: number, samples = 30): void {
  checkGradients(name, f, inputs, { step, tol, samples });
}

/**
 * A grid whose unnormalised coordinates keep at least 0.1 px from integers and half-integers
 * (bilinear sampling is linear in each coordinate between integers and nearest sampling is
 * constant between half-integers, so central differences of ±0.05 px are exact up to rounding)
 * and reach beyond the border on both sides.
 */
function safeGrid(shape: [number, number, number], size: [number, number], align: boolean, seed: number): Tensor {
  const rng = Rng.seeded(seed);
  const [b, ho, wo] = shape;
  const d = new Float32Array(b * ho * wo * 2);
  for (let i = 0; i < d.length; i++) {
    const n = size[1 - (i % 2)]!;
    const px = rng.int(n + 4) - 2 + 0.1 + 0.3 * rng.next() + (rng.next() < 0.5 ? 0 : 0.5);
    d[i] = align ? (2 * px) / (n - 1) - 1 : (2 * px + 1) / n - 1;
  }
  return tf.tensor(d, [b, ho, wo, 2]);
}

test('gridSample gradients wrt input and grid (finite differences), every padding and align_corners', () => {
  const x = tf.tensor(Rng.seeded(11).uniformArray(2 * 5 * 6 * 3, -1, 1), [2, 5, 6, 3]);
  for (const pad of PADS) {
    for (const align of [true, false]) {
      const g = safeGrid([2, 4, 3], [5, 6], align, align ? 12 : 13);
      const step = 0.05 * (align ? 2 / 5 : 2 / 6); // 0.05 px along x (less along y)
      gradCheck(`bilinear ${pad} align=${align}`, (a, b) => gridSample(a, b!, { paddingMode: pad, alignCorners: align }), [x, g], step, 2e-3, 24);
      // Nearest: the input gradient scatters, the grid gradient is zero.
      gradCheck(`nearest ${pad} align=${align}`, (a, b) => gridSample(a, b!, { mode: 'nearest', paddingMode: pad, alignCorners: align }), [x, g], step, 2e-3, 6);
      g.dispose();
    }
  }
  x.dispose();
});

test('warp gradients wrt input and flow, through the grid normalisation and the (constant) mask', () => {
  const x = tf.tensor(Rng.seeded(21).uniformArray(1 * 6 * 7 * 2, -1, 1), [1, 6, 7, 2]);
  // Flows of 0.1–0.9 px (mod 1) in either direction.
  const rng = Rng.seeded(22);
  const fd = Float32Array.from({ length: 6 * 7 * 2 }, () => (rng.int(3) - 1) + 0.1 + 0.8 * rng.next());
  const flow = tf.tensor(fd, [1, 6, 7, 2]);
  for (const o of [CDVD_WARP, PWC_BACKWARP, LITEFLOWNET_BACKWARP]) {
    gradCheck(`warp ${o.grid}/${o.paddingMode}`, (a, f) => warp(a, f!, o), [x, flow], 0.04, 2e-3, 20);
  }
  tf.dispose([x, flow]);
});

test('gridSample and warp leave no tensors behind, forward and backward', () => {
  const x = tf.randomUniform([1, 8, 8, 4], 0, 1, 'float32', 1);
  const g = tf.randomUniform([1, 5, 5, 2], -1.2, 1.2, 'float32', 2);
  const flow = tf.randomUniform([1, 8, 8, 2], -2, 2, 'float32', 3);
  const run = (): void => {
    const a = tf.valueAndGrads((u: Tensor, v: Tensor) => gridSample(u, v, { paddingMode: 'border' }).square().sum())([x, g]);
    const b = tf.valueAndGrads((u: Tensor, f: Tensor) => warp(u, f, CDVD_WARP).square().sum())([x, flow]);
    const w = warpWithMask(x, flow, PWC_BACKWARP);
    tf.dispose([a.value, ...a.grads, b.value, ...b.grads, w.output, w.mask]);
  };
  run();
  const before = tf.memory().numTensors;
  run();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, g, flow]);
});
