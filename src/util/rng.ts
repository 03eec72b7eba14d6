// A small, fast, seedable random stream (xoshiro128**) whose whole state is four uint32s,
// so it can be saved in a checkpoint and restored exactly. Derived streams (per epoch, per
// worker, per parameter) come from `derive`, never from a shared global generator.

export type RngState = readonly [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A draw was made where draws are forbidden (see `withoutDraws`). */
export class RandomDrawError extends Error {
  override name = 'RandomDrawError';
}

let drawsForbidden: string | undefined;

/**
 * Runs `fn` with every draw from every stream failing with a RandomDrawError whose message is
 * `why` (checked before the stream moves, so a refused draw leaves it as it was): for code whose
 * draws would be frozen, such as a step being traced into a graph.
 */
export function withoutDraws<T>(why: string, fn: () => T): T {
  const outer = drawsForbidden;
  drawsForbidden = why;
  try {
    return fn();
  } finally {
    drawsForbidden = outer;
  }
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(state: RngState) {
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  static seeded(seed: number): Rng {
    const next = splitmix32(seed);
    const st: [number, number, number, number] = [next(), next(), next(), next()];
    if ((st[0] | st[1] | st[2] | st[3]) === 0) st[0] = 1;
    return new Rng(st);
  }

  static fromState(state: RngState): Rng {
    if (state.length !== 4 || state.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new Error(`invalid RNG state ${JSON.stringify(state)}: expected four uint32 values`);
    }
    return new Rng(state);
  }

  /** An independent stream named by `key` (e.g. `epoch:3`, `worker:1`, `init:conv1.weight`). */
  static derive(seed: number, key: string): Rng {
    return Rng.seeded((Math.imul(seed >>> 0, 0x9e3779b1) ^ hashString(key)) >>> 0);
  }

  state(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Next uint32. */
  nextU32(): number {
    if (drawsForbidden !== undefined) throw new RandomDrawError(drawsForbidden);
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** `size` values uniform in [lo, hi). */
  uniformArray(size: number, lo: number, hi: number): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = lo + (hi - lo) * this.next();
    return out;
  }

  normalArray(size: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Fisher-Yates permutation of 0..n-1. */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
