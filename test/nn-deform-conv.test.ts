import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, isNative } from '../src/runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { deformConv2d, deformIm2col } from '../src/nn/ops/deform-conv.ts';
import type { DeformSampling } from '../src/nn/ops/deform-conv.ts';
import { conv2d } from '../src/nn/conv.ts';
import { Rng } from '../src/util/rng.ts';

// A direct transcription of the formula (torchvision's deform_conv2d), in float64
// over NHWC arrays, one output element at a time.
interface Case {
  readonly x: Float64Array;
  readonly xShape: readonly [number, number, number, number];
  readonly offset: Float64Array;
  readonly mask: Float64Array | null;
  readonly weight: Float64Array; // HWIO [kh, kw, cin/groups, cout]
  readonly wShape: readonly [number, number, number, number];
  readonly bias: Float64Array | null;
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
  readonly dgroups: number;
}

function outSize(c: Case): [number, number] {
  const [, h, w] = c.xShape;
  const [kh, kw] = c.wShape;
  return [
    Math.floor((h + 2 * c.padding[0] - c.dilation[0] * (kh - 1) - 1) / c.stride[0]) + 1,
    Math.floor((w + 2 * c.padding[1] - c.dilation[1] * (kw - 1) - 1) / c.stride[1]) + 1,
  ];
}

function sample(c: Case, b: number, ch: number, hh: number, ww: number): number {
  const [, h, w, cin] = c.xShape;
  if (hh <= -1 || hh >= h || ww <= -1 || ww >= w) return 0;
  const y0 = Math.floor(hh);
  const x0 = Math.floor(ww);
  const ly = hh - y0;
  const lx = ww - x0;
  const at = (y: number, x: number): number => (y >= 0 && y <= h - 1 && x >= 0 && x <= w - 1 ? c.x[((b * h + y) * w + x) * cin + ch]! : 0);
  return (1 - ly) * (1 - lx) * at(y0, x0) + (1 - ly) * lx * at(y0, x0 + 1) + ly * (1 - lx) * at(y0 + 1, x0) + ly * lx * at(y0 + 1, x0 + 1);
}

function reference(c: Case): Float64Array {
  const [bs, , , cin] = c.xShape;
  const [kh, kw, inPer, cout] = c.wShape;
  const [ho, wo] = outSize(c);
  const k = kh * kw;
  const G = c.dgroups;
  const outPer = cout / c.groups;
  const out = new Float64Array(bs * ho * wo * cout);
  for (let b = 0; b < bs; b++)
    for (let y = 0; y < ho; y++)
      for (let x = 0; x < wo; x++) {
        const pix = (b * ho + y) * wo + x;
        for (let o = 0; o < cout; o++) {
          let acc = c.bias === null ? 0 : c.bias[o]!;
          const wg = Math.floor(o / outPer);
          for (let cl = 0; cl < inPer; cl++) {
            const ch = wg * inPer + cl;
            const g = Math.floor(ch / (cin / G));
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const t = i * kw + j;
                const dy = c.offset[pix * 2 * G * k + 2 * (g * k + t)]!;
                const dx = c.offset[pix * 2 * G * k + 2 * (g * k + t) + 1]!;
                const m = c.mask === null ? 1 : c.mask[pix * G * k + g * k + t]!;
                const s = sample(c, b, ch, y * c.stride[0] - c.padding[0] + i * c.dilation[0] + dy, x * c.stride[1] - c.padding[1] + j * c.dilation[1] + dx);
                acc += c.weight[((i * kw + j) * inPer + cl) * cout + o]! * m * s;
              }
          }
          out[pix * cout + o] = acc;
        }
      }
  return out;
}

interface CaseSpec {
  readonly xShape: readonly [number, number, number, number];
  readonly kernel: readonly [number, number];
  readonly cout: number;
  readonly stride?: readonly [number, number];
  readonly padding?: readonly [number, number];
  readonly dilation?: readonly [number, number];
  readonly groups?: number;
  readonly dgroups: number;
  readonly masked: boolean;
  readonly bias: boolean;
  /** Draws one offset value. */
  readonly offset: (rng: Rng) => number;
}

function makeCase(s: CaseSpec, seed: number): Case {
  const rng = Rng.seeded(seed);
  const f64 = (n: number, lo: number, hi: number): Float64Array => Float64Array.from(rng.uniformArray(n, lo, hi));
  const groups = s.groups ?? 1;
  const base = { stride: s.stride ?? [1, 1], padding: s.padding ?? [0, 0], dilation: s.dilation ?? [1, 1] } as const;
  const [b, , , cin] = s.xShape;
  const [kh, kw] = s.kernel;
  const wShape = [kh, kw, cin / groups, s.cout] as const;
  const probe: Case = { ...base, x: new Float64Array(0), xShape: s.xShape, offset: new Float64Array(0), mask: null, weight: new Float64Array(0), wShape, bias: null, groups, dgroups: s.dgroups };
  const [ho, wo] = outSize(probe);
  const k = kh * kw;
  const offset = Float64Array.from({ length: b * ho * wo * 2 * s.dgroups * k }, () => s.offset(rng));
  return {
    ...probe,
    x: f64(s.xShape.reduce((a, d) => a * d, 1), -1, 1),
    offset,
    mask: s.masked ? f64(b * ho * wo * s.dgroups * k, 0, 1) : null,
    weight: f64(wShape.reduce((a, d) => a * d, 1), -0.5, 0.5),
    bias: s.bias ? f64(s.cout, -0.5, 0.5) : null,
  };
}

interface Tensors {
  readonly x: Tensor;
  readonly offset: Tensor;
  readonly mask: Tensor | null;
  readonly weight: Tensor;
  readonly bias: Tensor | null;
}

function tensors(c: Case): Tensors {
  const [ho, wo] = outSize(c);
  const [b] = c.xShape;
  const f32 = (a: Float64Array): Float32Array => Float32Array.from(a);
  return {
    x: tf.tensor(f32(c.x), [...c.xShape]),
    offset: tf.tensor(f32(c.offset), [b, ho, wo, c.offset.length / (b * ho * wo)]),
    mask: c.mask === null ? null : tf.tensor(f32(c.mask), [b, ho, wo, c.mask.length / (b * ho * wo)]),
    weight: tf.tensor(f32(c.weight), [...c.wShape]),
    bias: c.bias === null ? null : tf.tensor(f32(c.bias), [c.bias.length]),
  };
}

// Both sampling implementations where the backend has both.
const SAMPLINGS: readonly DeformSampling[] = isNative() ? ['crop', 'gather'] : ['gather'];

const run = (c: Case, t: Tensors, sampling: DeformSampling): Tensor =>
  deformConv2d(t.x, t.offset, t.mask, t.weight, t.bias, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, deformableGroups: c.dgroups, sampling });

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function checkForward(spec: CaseSpec, seed: number): void {
  const c = makeCase(spec, seed);
  const expected = reference(c);
  const t = tensors(c);
  const [ho, wo] = outSize(c);
  for (const sampling of SAMPLINGS) {
    const before = tf.memory().numTensors;
    const y = run(c, t, sampling);
    assert.deepEqual(y.shape, [c.xShape[0], ho, wo, c.wShape[3]]);
    const err = maxDiff(y.dataSync(), expected);
    y.dispose();
    assert.equal(tf.memory().numTensors, before, `${sampling}: forward leaked tensors`);
    assert.ok(err < 1e-5, `${sampling}: max abs error ${err}`);
  }
  tf.dispose(Object.values(t).filter((v): v is Tensor => v !== null));
}

// Offsets in (-range, range), including points far outside the image.
const anywhere = (range: number) => (rng: Rng): number => rng.uniformArray(1, -range, range)[0]!;
// Whole numbers: sampling exactly on pixels (and exactly on the -1 / H borders).
const integer = (range: number) => (rng: Rng): number => Math.round(rng.uniformArray(1, -range, range)[0]!);

test('deformConv2d matches the formula: fractional offsets, some far outside, 2 deformable groups, mask, bias', () => {
  checkForward({ xShape: [2, 5, 6, 4], kernel: [3, 3], cout: 3, padding: [1, 1], dgroups: 2, masked: true, bias: true, offset: anywhere(4) }, 1);
});

test('deformConv2d matches the formula: integer offsets, 4 deformable groups', () => {
  checkForward({ xShape: [1, 6, 5, 8], kernel: [3, 3], cout: 2, padding: [1, 1], dgroups: 4, masked: true, bias: false, offset: integer(3) }, 2);
});

test('deformConv2d matches the formula: stride, dilation, asymmetric kernel and padding, weight groups, no mask', () => {
  checkForward({ xShape: [2, 7, 8, 4], kernel: [3, 2], cout: 4, stride: [2, 1], padding: [1, 2], dilation: [2, 1], groups: 2, dgroups: 1, masked: false, bias: true, offset: anywhere(2) }, 3);
});

test('deformIm2col follows the boundary rule at -1, -0.5, 0, H-1, H-0.5 and H', () => {
  // 1x1 kernel, one channel, x = 1 + row index: sampling row h gives the interpolated value or 0.
  const h = 4;
  const x = tf.tensor(Float32Array.from({ length: h * 3 }, (_, i) => 1 + Math.floor(i / 3)), [1, h, 3, 1]);
  const dys = [-1, -0.5, 0, h - 1, h - 0.5, h, -1.25, h - 0.75];
  // Output pixel (0, 1) samples row dy, column 1 (dx = 0).
  const expected = [0, 0.5 * 1, 1, h, 0.5 * h, 0, 0, 0.75 * h];
  for (const sampling of SAMPLINGS) {
    for (const [i, dy] of dys.entries()) {
      const off = tf.tensor([0, 0, dy, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 4, 3, 2]);
      const v = tf.tidy(() => deformIm2col(x, off, null, 1, { sampling }).dataSync()[1]!);
      assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${sampling}, dy=${dy}: got ${v}, expected ${expected[i]}`);
      off.dispose();
    }
  }
  x.dispose();
});

test('at integer coordinates the offset gradient is the forward difference, and 0 at or beyond -1 and H', () => {
  // One channel, x[r][c] = (r + 1)² + 10c; 1x1 kernel; offsets (y − r, 0) make every output
  // pixel (r, c) sample (y, c).
  // The DCNv2 kernels' derivative at a kink: the bilinear weights' derivative with the corners
  // ⌊y⌋ and ⌊y⌋ + 1, so S'(y) = x[y+1] − x[y] (0 outside the image), and 0 for y ≤ −1 or y ≥ H.
  const h = 4;
  const w = 3;
  const val = (r: number, c: number): number => (r >= 0 && r < h && c >= 0 && c < w ? (r + 1) ** 2 + 10 * c : 0);
  const x = tf.tensor(Float32Array.from({ length: h * w }, (_, i) => val(Math.floor(i / w), i % w)), [1, h, w, 1]);
  const dys = [-1, 0, 1, h - 1, h];
  for (const sampling of SAMPLINGS) {
    for (const dy of dys) {
      const off = tf.tensor(Float32Array.from({ length: h * w * 2 }, (_, i) => (i % 2 === 0 ? dy - Math.floor(i / (2 * w)) : 0)), [1, h, w, 2]);
      const [gy] = tf.grads((o: Tensor) => tf.sum(deformIm2col(x, o, null, 1, { sampling })))([off]);
      const g = gy!.dataSync();
      for (let p = 0; p < h * w; p++) {
        const c = p % w;
        const expectedY = dy <= -1 || dy >= h ? 0 : val(dy + 1, c) - val(dy, c);
        // In x the columns c = 0..W-1 are integers inside the image: forward difference in x.
        const expectedX = dy <= -1 || dy >= h ? 0 : val(dy, c + 1) - val(dy, c);
        assert.ok(Math.abs(g[2 * p]! - expectedY) < 1e-4, `${sampling}, y=${dy}, column ${c}: dS/dy ${g[2 * p]}, expected ${expectedY}`);
        assert.ok(Math.abs(g[2 * p + 1]! - expectedX) < 1e-4, `${sampling}, y=${dy}, column ${c}: dS/dx ${g[2 * p + 1]}, expected ${expectedX}`);
      }
      tf.dispose([off, gy!]);
    }
  }
  x.dispose();
});

test('zero offsets and a unit mask give a plain convolution', () => {
  const rng = Rng.seeded(5);
  const x = tf.tensor(rng.uniformArray(2 * 9 * 7 * 6, -1, 1), [2, 9, 7, 6]);
  const w = tf.tensor(rng.uniformArray(3 * 3 * 6 * 5, -0.3, 0.3), [3, 3, 6, 5]);
  const bias = tf.tensor(rng.uniformArray(5, -1, 1), [5]);
  for (const [stride, padding, dilation, sampling] of SAMPLINGS.flatMap((sm) => [[1, 1, 1, sm], [2, 1, 1, sm], [1, 2, 2, sm]] as const)) {
    const [y, ref] = tf.tidy(() => {
      const ref = conv2d(x, w, bias, { stride, padding, dilation });
      const [b, ho, wo] = ref.shape;
      const off = tf.zeros([b, ho, wo, 2 * 3 * 9]);
      const mask = tf.ones([b, ho, wo, 3 * 9]);
      return [deformConv2d(x, off, mask, w, bias, { stride, padding, dilation, deformableGroups: 3, sampling }), ref];
    });
    assert.deepEqual(y.shape, ref.shape);
    const err = maxDiff(y.dataSync(), ref.dataSync());
    assert.ok(err < 1e-5, `${sampling}, stride ${stride} padding ${padding} dilation ${dilation}: max abs error ${err}`);
    tf.dispose([y, ref]);
  }
  tf.dispose([x, w, bias]);
});

// Fractional parts kept away from 0 so that a finite-difference step never crosses a kink of
// the piecewise-bilinear sampling (integer coordinates, including the -1 and H borders).
const smooth = (range: number) => (rng: Rng): number => {
  const n = Math.floor(rng.uniformArray(1, -range, range)[0]!);
  return n + rng.uniformArray(1, 0.15, 0.85)[0]!;
};

/** Central differences of L = Σ r·reference(case) for every element of the named inputs. */
function numericGrads(c: Case, r: Float64Array, fields: ReadonlyArray<'x' | 'offset' | 'mask' | 'weight' | 'bias'>): Float64Array[] {
  const eps = 1e-4;
  const loss = (): number => reference(c).reduce((a, v, i) => a + v * r[i]!, 0);
  return fields.map((f) => {
    const arr = c[f]!;
    const g = new Float64Array(arr.length);
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i]!;
      arr[i] = v + eps;
      const plus = loss();
      arr[i] = v - eps;
      const minus = loss();
      arr[i] = v;
      g[i] = (plus - minus) / (2 * eps);
    }
    return g;
  });
}

function worstError(analytic: ArrayLike<number>, numeric: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < numeric.length; i++) worst = Math.max(worst, Math.abs(numeric[i]! - analytic[i]!) / Math.max(1, Math.abs(numeric[i]!)));
  return worst;
}

test('gradients wrt input, offsets, mask, weight and bias match finite differences of the formula', () => {
  const c = makeCase({ xShape: [1, 4, 5, 4], kernel: [3, 3], cout: 3, padding: [1, 1], dgroups: 2, masked: true, bias: true, offset: smooth(3) }, 11);
  const [ho, wo] = outSize(c);
  const r = Float64Array.from(Rng.seeded(12).uniformArray(ho * wo * 3, -1, 1));
  const fields = ['x', 'offset', 'mask', 'weight', 'bias'] as const;
  const numeric = numericGrads(c, r, fields);
  const t = tensors(c);
  const rt = tf.tensor(Float32Array.from(r), [1, ho, wo, 3]);
  const inputs = [t.x, t.offset, t.mask!, t.weight, t.bias!];
  for (const sampling of SAMPLINGS) {
    const before = tf.memory().numTensors;
    const grads = tf.grads((x: Tensor, o: Tensor, m: Tensor, w: Tensor, b: Tensor) =>
      tf.sum(tf.mul(deformConv2d(x, o, m, w, b, { padding: c.padding, deformableGroups: 2, sampling }), rt)),
    )(inputs);
    const g = grads.map((v) => v.dataSync());
    tf.dispose(grads);
    assert.equal(tf.memory().numTensors, before, `${sampling}: gradient computation leaked tensors`);
    fields.forEach((f, i) => {
      const worst = worstError(g[i]!, numeric[i]!);
      assert.ok(worst < 1e-4, `${sampling}, ${f}: worst gradient error ${worst}`);
    });
  }
  tf.dispose([...inputs, rt]);
});

test('unmodulated gradients (no mask) match finite differences, with stride and weight groups', () => {
  const c = makeCase({ xShape: [2, 5, 4, 4], kernel: [2, 3], cout: 2, stride: [2, 1], padding: [1, 1], groups: 2, dgroups: 2, masked: false, bias: false, offset: smooth(2) }, 21);
  const [ho, wo] = outSize(c);
  const r = Float64Array.from(Rng.seeded(22).uniformArray(2 * ho * wo * 2, -1, 1));
  const fields = ['x', 'offset', 'weight'] as const;
  const numeric = numericGrads(c, r, fields);
  const t = tensors(c);
  const rt = tf.tensor(Float32Array.from(r), [2, ho, wo, 2]);
  for (const sampling of SAMPLINGS) {
    const grads = tf.grads((x: Tensor, o: Tensor, w: Tensor) =>
      tf.sum(tf.mul(deformConv2d(x, o, null, w, null, { stride: c.stride, padding: c.padding, groups: 2, sampling }), rt)),
    )([t.x, t.offset, t.weight]);
    const g = grads.map((v) => v.dataSync());
    tf.dispose(grads);
    fields.forEach((f, i) => {
      const worst = worstError(g[i]!, numeric[i]!);
      assert.ok(worst < 1e-4, `${sampling}, ${f}: worst gradient error ${worst}`);
    });
  }
  tf.dispose([t.x, t.offset, t.weight, rt]);
});

test('deformConv2d rejects mismatched offsets, masks, weights and groups with clear errors', () => {
  tf.tidy(() => {
    const x = tf.zeros([1, 6, 6, 4]);
    const w = tf.zeros([3, 3, 4, 2]);
    const off = tf.zeros([1, 6, 6, 18]);
    assert.throws(() => deformConv2d(x, tf.zeros([1, 6, 6, 17]), null, w, null, { padding: 1 }), /offset has 17 channels/);
    assert.throws(() => deformConv2d(x, off, null, w, null, { padding: 1, deformableGroups: 2 }), /expected 2·2·9 = 36/);
    assert.throws(() => deformConv2d(x, off, null, w, null, { padding: 0 }), /does not match the output size \[1, 4, 4/);
    assert.throws(() => deformConv2d(x, off, tf.zeros([1, 6, 6, 18]), w, null, { padding: 1 }), /mask must be \[1, 6, 6, 9\]/);
    assert.throws(() => deformConv2d(x, off, null, tf.zeros([3, 3, 3, 2]), null, { padding: 1 }), /expects 3/);
    assert.throws(() => deformConv2d(tf.zeros([1, 6, 6, 3]), tf.zeros([1, 6, 6, 36]), null, tf.zeros([3, 3, 3, 2]), null, { padding: 1 }), /not divisible by 2 deformable groups/);
    assert.throws(() => deformConv2d(x, off, null, w, tf.zeros([3]), { padding: 1 }), /bias has 3 values/);
    assert.throws(() => deformConv2d(x, off, null, w, null, { padding: 1, sampling: 'fast' as DeformSampling }), /unknown sampling 'fast'/);
  });
});
