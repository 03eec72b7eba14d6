// Tiled inference: a frame too large to restore at once is cut into overlapping tiles, each tile
// is restored on its own, and the tiles' outputs are blended back with linear feathering so that
// no seam shows where they meet. Only one tile is on the device at a time; the blend is
// accumulated on the CPU.
import { tf } from '../runtime/index.ts';
import type { Tensor, Tensor4D } from '../runtime/index.ts';

/** Tile size and the least overlap between neighbouring tiles, in pixels. */
export interface TileOptions {
  readonly tile: number;
  readonly overlap: number;
  /**
   * Tiles start at multiples of this (default 1). A network with stride-2 levels computes the
   * same values for a crop as for the whole frame only when the crop is shifted by a multiple of
   * its size multiple (2^levels): pass that, so that tiles line up with the whole frame's grid.
   */
  readonly align?: number;
}

/** A tile of a frame: its top-left corner and its size, in pixels. */
export interface TileRect {
  readonly y: number;
  readonly x: number;
  readonly height: number;
  readonly width: number;
}

/** Where a tile lies along one axis. */
interface Span {
  readonly start: number;
  readonly length: number;
}

/**
 * The overlap `simdeblur deblur --tile N` uses when none is given: a quarter of the tile, at most
 * 32 pixels.
 */
export function defaultOverlap(tile: number): number {
  return Math.min(32, Math.floor(tile / 4));
}

function checkOptions(opts: TileOptions): void {
  const { tile, overlap, align = 1 } = opts;
  if (!Number.isInteger(tile) || tile < 1) throw new Error(`tile must be a positive integer, got ${tile}`);
  if (!Number.isInteger(overlap) || overlap < 0) throw new Error(`tile overlap must be a non-negative integer, got ${overlap}`);
  if (overlap >= tile) throw new Error(`tile overlap (${overlap}) must be smaller than the tile (${tile})`);
  if (!Number.isInteger(align) || align < 1) throw new Error(`tile alignment must be a positive integer, got ${align}`);
  if (tile - overlap < align) throw new Error(`tile (${tile}) minus overlap (${overlap}) must be at least the alignment (${align}), so that tiles advance`);
}

function checkSize(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`frame ${name} must be a positive integer, got ${n}`);
}

/**
 * Tiles along one axis: every `tile - overlap` pixels (rounded down to a multiple of `align`), the
 * last one moved back so that it ends at the frame's edge (it then overlaps its neighbour by more
 * than `overlap`). With `align` > 1 the last one starts at the next multiple of `align`, so it
 * may be up to `align - 1` pixels shorter than a tile.
 */
function spans(size: number, { tile, overlap, align = 1 }: TileOptions): Span[] {
  if (size <= tile) return [{ start: 0, length: size }];
  const stride = Math.floor((tile - overlap) / align) * align;
  const out: Span[] = [];
  for (let s = 0; s + tile < size; s += stride) out.push({ start: s, length: tile });
  const last = Math.ceil((size - tile) / align) * align;
  out.push({ start: last, length: size - last });
  return out;
}

/**
 * Tiles of at most tile x tile covering H x W with at least `overlap` pixels shared between
 * neighbours, in row-major order; the last row/column is shifted back inside the frame (no tile
 * sticks out, none smaller than needed: a tile, less than `align` when the frame's size is not
 * a multiple of it); a frame smaller than a tile is one tile. Tiles start at multiples of
 * `align`. Throws unless tile > overlap >= 0 are integers, tile - overlap >= align and H, W are
 * positive integers.
 */
export function tileGrid(height: number, width: number, opts: TileOptions): TileRect[] {
  checkOptions(opts);
  checkSize('height', height);
  checkSize('width', width);
  const rows = spans(height, opts);
  const cols = spans(width, opts);
  return rows.flatMap((r) => cols.map((c) => ({ y: r.start, x: c.start, height: r.length, width: c.length })));
}

/**
 * Weight at distance `d` (0 = the edge pixel) from a tile edge shared with a neighbour over
 * `shared` pixels: 0 in the outer quarter of the band, then a linear ramp up to 1 across its
 * middle half. The neighbour's ramp runs the other way, so the two weights sum to 1 everywhere in
 * the band. A tile's output is least reliable next to its edge (its convolutions saw padding
 * there, not the frame); giving those pixels no weight at all makes tiling exact for a model whose
 * receptive radius is at most a quarter of the overlap, and on real networks it is far closer to
 * the whole-frame output than a ramp starting at the edge.
 */
function ramp(d: number, shared: number): number {
  if (shared <= 0) return 1;
  const margin = Math.floor(shared / 4);
  return Math.min(1, Math.max(0, (d - margin + 1) / (shared - 2 * margin + 1)));
}

/** Per-pixel weights of tile `k` along one axis: ramped towards each neighbouring tile. */
function axisWeights(all: readonly Span[], k: number): Float32Array {
  const { start, length } = all[k]!;
  const prev = all[k - 1];
  const next = all[k + 1];
  const before = prev === undefined ? 0 : prev.start + prev.length - start;
  const after = next === undefined ? 0 : start + length - next.start;
  const w = new Float32Array(length);
  for (let i = 0; i < length; i++) w[i] = Math.min(ramp(i, before), ramp(length - 1 - i, after));
  return w;
}

/**
 * Runs `fn` on each spatial tile of `input` (`[1, H, W, C]` image or `[1, T, H, W, C]` clip;
 * slices H and W only) and blends the outputs (`[N, h, w, C']` per tile, the tile's spatial size)
 * into `[N, H, W, C']` with linear feathering: across the band a tile shares with a neighbour,
 * its weight is 0 in the quarter next to its edge and ramps linearly to 1 over the middle half
 * (edges on the frame border are not ramped), weights normalised per pixel. A model whose output
 * depends on pixels at most `overlap / 4` away gives the whole-frame output, provided tiles start
 * on its stride grid (`align`). Calls `onTile(done, total)` after each tile. Every intermediate
 * tensor is disposed; the blend is accumulated on the CPU, so the device holds one tile's
 * activations at a time plus the output.
 */
export function runTiled(input: Tensor, opts: TileOptions, fn: (patch: Tensor) => Tensor4D, onTile?: (done: number, total: number) => void): Tensor4D {
  checkOptions(opts);
  if (input.rank !== 4 && input.rank !== 5) throw new Error(`runTiled: input must be [1, H, W, C] or [1, T, H, W, C], got shape ${JSON.stringify(input.shape)}`);
  const hAxis = input.rank - 3;
  const height = input.shape[hAxis]!;
  const width = input.shape[hAxis + 1]!;
  checkSize('height', height);
  checkSize('width', width);
  const rows = spans(height, opts);
  const cols = spans(width, opts);
  const rowWeights = rows.map((_, k) => axisWeights(rows, k));
  const colWeights = cols.map((_, k) => axisWeights(cols, k));
  const total = rows.length * cols.length;
  const weightSum = new Float32Array(height * width);
  let acc: Float32Array | undefined;
  let outN = 0;
  let outC = 0;
  let done = 0;
  for (const [i, r] of rows.entries()) {
    for (const [j, c] of cols.entries()) {
      const begin = input.shape.map((_, a) => (a === hAxis ? r.start : a === hAxis + 1 ? c.start : 0));
      const size = input.shape.map((d, a) => (a === hAxis ? r.length : a === hAxis + 1 ? c.length : d));
      const patch = tf.slice(input, begin, size);
      let out: Tensor4D;
      try {
        out = fn(patch);
      } finally {
        patch.dispose();
      }
      let data: Float32Array;
      try {
        const [n, h, w, ch] = out.shape;
        if (out.rank !== 4 || h !== r.length || w !== c.length) {
          throw new Error(`runTiled: a ${r.length}x${c.length} tile gave an output of shape ${JSON.stringify(out.shape)}, expected [N, ${r.length}, ${c.length}, C]`);
        }
        if (acc === undefined) {
          outN = n;
          outC = ch;
          acc = new Float32Array(n * height * width * ch);
        } else if (n !== outN || ch !== outC) {
          throw new Error(`runTiled: tile outputs differ in shape: ${JSON.stringify(out.shape)} after [${outN}, h, w, ${outC}]`);
        }
        data = out.dataSync() as Float32Array;
      } finally {
        out.dispose();
      }
      accumulate(acc, weightSum, data, { y: r.start, x: c.start, height: r.length, width: c.length }, rowWeights[i]!, colWeights[j]!, width, height, outN, outC);
      onTile?.(++done, total);
    }
  }
  // Every pixel has a positive weight: where a ramp is 0 its neighbour's is 1, and frame edges
  // are not ramped.
  const frame = height * width;
  for (let n = 0; n < outN; n++) {
    for (let p = 0; p < frame; p++) {
      const inv = 1 / weightSum[p]!;
      const base = (n * frame + p) * outC;
      for (let ch = 0; ch < outC; ch++) acc![base + ch]! *= inv;
    }
  }
  return tf.tensor4d(acc!, [outN, height, width, outC]);
}

/** Adds one tile's output, weighted, into the frame-sized accumulators. */
function accumulate(acc: Float32Array, weightSum: Float32Array, data: Float32Array, rect: TileRect, wy: Float32Array, wx: Float32Array, width: number, height: number, n: number, ch: number): void {
  const frame = height * width;
  for (let yy = 0; yy < rect.height; yy++) {
    for (let xx = 0; xx < rect.width; xx++) {
      const wgt = wy[yy]! * wx[xx]!;
      const p = (rect.y + yy) * width + rect.x + xx;
      weightSum[p]! += wgt;
      for (let b = 0; b < n; b++) {
        const src = ((b * rect.height + yy) * rect.width + xx) * ch;
        const dst = (b * frame + p) * ch;
        for (let k = 0; k < ch; k++) acc[dst + k]! += wgt * data[src + k]!;
      }
    }
  }
}
