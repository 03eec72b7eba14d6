// Tiled inference: the tile grid covers the frame with the requested overlap, and a model whose
// output depends on a bounded neighbourhood gives the same frame tiled as whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import type { Tensor, Tensor4D } from '../src/runtime/index.ts';
import { runTiled, tileGrid, type TileOptions, type TileRect } from '../src/infer/tile.ts';
import { maxAbsDiff } from './helpers/fixtures.ts';

/** Tile intervals along one axis (distinct, in order). */
function axis(tiles: readonly TileRect[], which: 'y' | 'x'): Array<[number, number]> {
  const len = which === 'y' ? 'height' : 'width';
  const seen = new Map(tiles.map((t) => [t[which], t[which] + t[len]] as [number, number]));
  return [...seen.entries()].sort((a, b) => a[0] - b[0]);
}

function checkGrid(h: number, w: number, opts: TileOptions): void {
  const tiles = tileGrid(h, w, opts);
  const align = opts.align ?? 1;
  const where = `${h}x${w} ${JSON.stringify(opts)}`;
  const covered = new Uint8Array(h * w);
  for (const t of tiles) {
    assert.ok(t.y >= 0 && t.x >= 0 && t.y + t.height <= h && t.x + t.width <= w, `${where}: tile ${JSON.stringify(t)} sticks out`);
    assert.ok(t.height <= opts.tile && t.width <= opts.tile, `${where}: tile ${JSON.stringify(t)} is larger than ${opts.tile}`);
    // A full tile wherever the frame has room, less at most align - 1 for the last one.
    assert.ok(t.height > Math.min(h, opts.tile) - align && t.width > Math.min(w, opts.tile) - align, `${where}: tile ${JSON.stringify(t)} is smaller than needed`);
    assert.equal(t.y % align, 0, `${where}: tile ${JSON.stringify(t)} is not aligned`);
    assert.equal(t.x % align, 0, `${where}: tile ${JSON.stringify(t)} is not aligned`);
    for (let y = t.y; y < t.y + t.height; y++) for (let x = t.x; x < t.x + t.width; x++) covered[y * w + x] = 1;
  }
  assert.ok(covered.every((c) => c === 1), `${where}: a pixel is not covered`);
  const rows = axis(tiles, 'y');
  const cols = axis(tiles, 'x');
  // A row-major grid: every row of tiles has every column.
  assert.equal(tiles.length, rows.length * cols.length, where);
  for (const spans of [rows, cols]) {
    for (let i = 1; i < spans.length; i++) {
      assert.ok(spans[i - 1]![1] - spans[i]![0] >= opts.overlap, `${where}: neighbours ${JSON.stringify(spans[i - 1])} and ${JSON.stringify(spans[i])} share less than ${opts.overlap}`);
    }
  }
}

test('the tile grid covers the frame, shares at least the overlap, and keeps every tile inside and full size', () => {
  for (const [tile, overlap] of [[8, 0], [8, 3], [16, 8], [16, 15], [128, 48], [5, 4]] as const) {
    for (const size of [1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 129, 300]) {
      checkGrid(size, 37, { tile, overlap });
      checkGrid(23, size, { tile, overlap });
    }
  }
  for (const align of [2, 4, 8]) {
    for (const size of [1, 7, 31, 33, 77, 301]) checkGrid(size, 45, { tile: 32, overlap: 12, align });
  }
});

test('tile grid edge cases: a frame smaller than a tile, exact multiples, one-pixel leftovers', () => {
  assert.deepEqual(tileGrid(100, 50, { tile: 128, overlap: 16 }), [{ y: 0, x: 0, height: 100, width: 50 }]);
  assert.deepEqual(tileGrid(1, 1, { tile: 4, overlap: 0 }), [{ y: 0, x: 0, height: 1, width: 1 }]);
  // 208 = 128 + 80: two tiles, exactly the overlap apart.
  assert.deepEqual(axis(tileGrid(208, 10, { tile: 128, overlap: 48 }), 'y'), [[0, 128], [80, 208]]);
  assert.deepEqual(axis(tileGrid(10, 256, { tile: 128, overlap: 0 }), 'x'), [[0, 128], [128, 256]]);
  // One pixel more than a tile: the second tile is shifted back and overlaps all but a pixel.
  assert.deepEqual(axis(tileGrid(129, 10, { tile: 128, overlap: 8 }), 'y'), [[0, 128], [1, 129]]);
  assert.deepEqual(axis(tileGrid(209, 10, { tile: 128, overlap: 48 }), 'y'), [[0, 128], [80, 208], [81, 209]]);
  // Aligned: strides rounded down to the alignment (stride 80 → 72), the last tile starts on it.
  assert.deepEqual(axis(tileGrid(301, 10, { tile: 128, overlap: 50, align: 8 }), 'y'), [[0, 128], [72, 200], [144, 272], [176, 301]]);
  assert.equal(tileGrid(300, 300, { tile: 128, overlap: 48 }).length, 16);
});

test('tile options are validated', () => {
  const bad: Array<[TileOptions, RegExp]> = [
    [{ tile: 0, overlap: 0 }, /tile must be a positive integer/],
    [{ tile: 1.5, overlap: 0 }, /tile must be a positive integer/],
    [{ tile: 8, overlap: -1 }, /overlap must be a non-negative integer/],
    [{ tile: 8, overlap: 0.5 }, /overlap must be a non-negative integer/],
    [{ tile: 8, overlap: 8 }, /overlap \(8\) must be smaller than the tile \(8\)/],
    [{ tile: 8, overlap: 2, align: 0 }, /alignment must be a positive integer/],
    [{ tile: 8, overlap: 2, align: 8 }, /minus overlap \(2\) must be at least the alignment \(8\)/],
  ];
  for (const [opts, re] of bad) assert.throws(() => tileGrid(10, 10, opts), re);
  assert.throws(() => tileGrid(0, 10, { tile: 8, overlap: 2 }), /height must be a positive integer/);
  const x = tf.zeros([1, 4, 4, 3]);
  assert.throws(() => runTiled(x, { tile: 2, overlap: 2 }, (p) => p as Tensor4D), /must be smaller than the tile/);
  x.dispose();
});

// Two 3x3 convolutions (zero padding): each output pixel depends on the 5x5 input around it.
const RADIUS = 2;
function convNet(inC: number, outC: number, seed: number): { fn: (x: Tensor) => Tensor4D; dispose(): void } {
  const w1 = tf.randomNormal([3, 3, inC, 6], 0, 0.5, 'float32', seed) as Tensor4D;
  const w2 = tf.randomNormal([3, 3, 6, outC], 0, 0.5, 'float32', seed + 1) as Tensor4D;
  const fn = (x: Tensor): Tensor4D => tf.tidy(() => tf.conv2d(tf.tanh(tf.conv2d(x as Tensor4D, w1, 1, 'same')), w2, 1, 'same'));
  return { fn, dispose: () => tf.dispose([w1, w2]) };
}

test('a model of receptive radius r tiled with overlap >= 4r equals the whole-frame output (images, odd sizes)', () => {
  const net = convNet(3, 2, 7);
  try {
    for (const [h, w, tile] of [[37, 53, 16], [33, 17, 12], [9, 40, 10], [20, 20, 32]] as const) {
      const x = tf.randomUniform([1, h, w, 3], -1, 1, 'float32', h * w) as Tensor4D;
      const whole = net.fn(x);
      const before = tf.memory().numTensors;
      const calls: Array<[number, number]> = [];
      const tiled = runTiled(x, { tile, overlap: 4 * RADIUS }, net.fn, (done, total) => calls.push([done, total]));
      assert.equal(tf.memory().numTensors, before + 1, 'only the output is left');
      const n = tileGrid(h, w, { tile, overlap: 4 * RADIUS }).length;
      assert.deepEqual(calls, Array.from({ length: n }, (_, i) => [i + 1, n]));
      assert.deepEqual(tiled.shape, [1, h, w, 2]);
      assert.ok(maxAbsDiff(tiled.dataSync(), whole.dataSync()) <= 1e-4, `${h}x${w} tile ${tile}: max diff ${maxAbsDiff(tiled.dataSync(), whole.dataSync())}`);
      tf.dispose([x, whole, tiled]);
    }
  } finally {
    net.dispose();
  }
});

test('tiled clips: only H and W are sliced, and several output frames are blended', () => {
  const net = convNet(6, 3, 11);
  // A clip [1, T, h, w, 3] → each pair of neighbouring frames restored: [T - 1, h, w, 3].
  const fn = (clip: Tensor): Tensor4D =>
    tf.tidy(() => {
      const [, t, h, w] = clip.shape as [number, number, number, number, number];
      const frames = clip.reshape([t, h, w, 3]);
      const pairs = tf.concat([frames.slice([0, 0, 0, 0], [t - 1, h, w, 3]), frames.slice([1, 0, 0, 0], [t - 1, h, w, 3])], 3);
      return net.fn(pairs);
    });
  try {
    const x = tf.randomUniform([1, 3, 29, 35, 3], 0, 1, 'float32', 5);
    const whole = fn(x);
    const before = tf.memory().numTensors;
    const tiled = runTiled(x, { tile: 14, overlap: 9 }, fn);
    assert.equal(tf.memory().numTensors, before + 1);
    assert.deepEqual(tiled.shape, [2, 29, 35, 3]);
    assert.ok(maxAbsDiff(tiled.dataSync(), whole.dataSync()) <= 1e-4);
    tf.dispose([x, whole, tiled]);
  } finally {
    net.dispose();
  }
});

test('a stride-2 model tiled on its grid (align 2) equals the whole frame; off the grid it does not', () => {
  const w1 = tf.randomNormal([3, 3, 3, 4], 0, 0.5, 'float32', 21) as Tensor4D;
  const w2 = tf.randomNormal([3, 3, 4, 3], 0, 0.5, 'float32', 22) as Tensor4D;
  // conv → 2x2 average pool → conv → nearest 2x upsampling, on the frame mirrored up to even sizes
  // at the bottom and right and cropped back (as the zoo models of any size do).
  const fn = (x: Tensor): Tensor4D =>
    tf.tidy(() => {
      const [, h, w] = x.shape as [number, number, number, number];
      const padded = tf.mirrorPad(x as Tensor4D, [[0, 0], [0, h % 2], [0, w % 2], [0, 0]], 'reflect');
      const low = tf.avgPool(tf.tanh(tf.conv2d(padded, w1, 1, 'same')), 2, 2, 'valid');
      const up = tf.image.resizeNearestNeighbor(tf.conv2d(low, w2, 1, 'same'), [h + (h % 2), w + (w % 2)]);
      return tf.add(up, padded).slice([0, 0, 0, 0], [1, h, w, 3]) as Tensor4D;
    });
  try {
    const x = tf.randomUniform([1, 77, 69, 3], 0, 1, 'float32', 3) as Tensor4D;
    const whole = fn(x);
    // Output pixels depend on inputs up to 6 pixels away.
    const aligned = runTiled(x, { tile: 32, overlap: 24, align: 2 }, fn);
    assert.ok(maxAbsDiff(aligned.dataSync(), whole.dataSync()) <= 1e-4);
    // The last tiles start at odd offsets (77 - 32, 69 - 32): the pooling grid is shifted there.
    const unaligned = runTiled(x, { tile: 32, overlap: 24 }, fn);
    assert.ok(maxAbsDiff(unaligned.dataSync(), whole.dataSync()) > 1e-2);
    tf.dispose([x, whole, aligned, unaligned]);
  } finally {
    tf.dispose([w1, w2]);
  }
});

test('every pixel gets a positive weight: an identity model reproduces the input for any grid', () => {
  const x = tf.randomUniform([1, 41, 29, 2], 0, 1, 'float32', 9);
  for (const opts of [{ tile: 8, overlap: 0 }, { tile: 8, overlap: 7 }, { tile: 10, overlap: 9 }, { tile: 16, overlap: 13, align: 3 }, { tile: 64, overlap: 8 }, { tile: 12, overlap: 4, align: 4 }]) {
    const y = runTiled(x, opts, (p) => p.clone() as Tensor4D);
    assert.ok(maxAbsDiff(y.dataSync(), x.dataSync()) <= 1e-6, JSON.stringify(opts));
    y.dispose();
  }
  x.dispose();
});

test('a tile output of the wrong size is an error, and nothing leaks', () => {
  const x = tf.zeros([1, 20, 20, 3]);
  const before = tf.memory().numTensors;
  assert.throws(
    () => runTiled(x, { tile: 8, overlap: 2 }, (p) => tf.tidy(() => tf.slice(p as Tensor4D, [0, 0, 0, 0], [1, 4, 4, 3]))),
    /a 8x8 tile gave an output of shape \[1,4,4,3\]/,
  );
  assert.throws(() => runTiled(x, { tile: 8, overlap: 2 }, () => { throw new Error('model failed'); }), /model failed/);
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  const bad = tf.zeros([20, 20]);
  assert.throws(() => runTiled(bad, { tile: 8, overlap: 2 }, (p) => p as Tensor4D), /\[1, H, W, C\] or \[1, T, H, W, C\]/);
  bad.dispose();
});

test('tiles are feathered: 0 in the outer quarter of a shared band, a linear ramp across its middle half', () => {
  // Two tiles sharing columns 8..15; each tile's output is its index.
  const x = tf.zeros([1, 3, 24, 1]);
  let next = 0;
  const y = runTiled(x, { tile: 16, overlap: 8 }, (p) => tf.fill([1, p.shape[1]!, p.shape[2]!, 1], next++) as Tensor4D);
  const row = Array.from(y.dataSync().slice(24, 48), (v) => Number(v.toFixed(6)));
  assert.deepEqual(row, [...Array(10).fill(0), 0.2, 0.4, 0.6, 0.8, ...Array(10).fill(1)]);
  tf.dispose([x, y]);
});
