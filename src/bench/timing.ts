// Timing helpers for benchmarks: medians over repeated runs after warm-up, with the result
// read back so asynchronous kernels are included.
import { tf } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';

export interface Timing {
  readonly medianMs: number;
  readonly minMs: number;
  readonly runs: number;
}

/** Runs `fn` `warmup` times untimed, then `runs` times timed; `fn` returns tensors to sync on. */
export function time(fn: () => Tensor | Tensor[], opts: { warmup: number; runs: number }): Timing {
  const once = (): number => {
    const t0 = performance.now();
    const out = fn();
    const list = Array.isArray(out) ? out : [out];
    for (const o of list) o.dataSync(); // wait for the backend
    const dt = performance.now() - t0;
    tf.dispose(list);
    return dt;
  };
  for (let i = 0; i < opts.warmup; i++) once();
  const samples = Array.from({ length: Math.max(1, opts.runs) }, once).sort((a, b) => a - b);
  return { medianMs: median(samples), minMs: samples[0]!, runs: samples.length };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Peak resident set size of this process so far, in MB. */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
