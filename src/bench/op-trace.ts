// Op-level tracing of one piece of work: which TensorFlow ops ran, how many of each, how long
// each kind took, and the peak of live tensor memory. On the native backend every op — those
// tfjs's kernels run and those our layers call directly (src/nn/native.ts) — goes through the
// binding's `executeOp`, so a stand-in binding that times each call sees all of them by their
// TensorFlow name. CPU eager execution is synchronous, so a call's duration is its kernel plus
// the fixed cost of dispatching it. Elsewhere tfjs's own profiler gives kernels by tfjs name.
import { tf, isNative, nativeBackend } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';

/** Time and count of one op type. */
export interface OpStat {
  readonly op: string;
  readonly count: number;
  readonly ms: number;
}

/** What one traced run did. */
export interface OpTrace {
  /** Wall time of the run, outputs read back included. */
  readonly wallMs: number;
  /** Ops executed. */
  readonly opCount: number;
  /** Time spent inside op calls (kernels plus their dispatch). */
  readonly opMs: number;
  /** Per op type, most time first. */
  readonly byOp: readonly OpStat[];
  /** Peak of the engine's live tensor bytes and count during the run. */
  readonly peakBytes: number;
  readonly peakTensors: number;
  /** 'binding': every native op by TensorFlow name; 'tfjs-profile': tfjs kernels (other backends). */
  readonly source: 'binding' | 'tfjs-profile';
}

interface EngineState {
  readonly numBytes: number;
  readonly numTensors: number;
}

type OutputMeta = { readonly shape: readonly number[]; readonly dtype: unknown };
type ExecuteOp = (name: string, attrs: unknown, inputs: unknown, n: number) => OutputMeta[];
type Binding = { readonly executeOp: ExecuteOp };

const engineState = (): EngineState => (tf.engine() as unknown as { state: EngineState }).state;

// float32 and int32 dominate; 4 bytes is exact for them, an estimate for the rest.
const bytesOf = (outs: readonly OutputMeta[]): number => outs.reduce((s, o) => s + 4 * o.shape.reduce((a, b) => a * b, 1), 0);

/** A binding whose `executeOp` calls `onOp(name, ms, outputs)` after each op. */
function recordingBinding(real: Binding, onOp: (name: string, ms: number, outs: readonly OutputMeta[]) => void): Binding {
  // The native binding's properties are read-only: a derived object carries the stand-in.
  const b = Object.create(real) as Binding;
  Object.defineProperty(b, 'executeOp', {
    value: (name: string, attrs: unknown, inputs: unknown, n: number) => {
      const t0 = performance.now();
      const outs = real.executeOp(name, attrs, inputs, n);
      onOp(name, performance.now() - t0, outs);
      return outs;
    },
  });
  return b;
}

const sortStats = (m: Map<string, { count: number; ms: number }>): OpStat[] =>
  [...m].map(([op, s]) => ({ op, count: s.count, ms: s.ms })).sort((a, b) => b.ms - a.ms || b.count - a.count);

function readBack(out: Tensor | Tensor[]): Tensor[] {
  const list = Array.isArray(out) ? out : [out];
  for (const o of list) o.dataSync();
  return list;
}

/**
 * Runs `fn` once (its outputs read back, then disposed) and reports its ops. Native backend:
 * every TensorFlow op by name; the peak counts each op's outputs on top of the live tensors
 * before it. Other backends: tfjs's profiler (kernels by tfjs name; its timing syncs per kernel).
 */
export async function traceOps(fn: () => Tensor | Tensor[]): Promise<OpTrace> {
  if (!isNative()) return traceWithTfjsProfile(fn);
  const backend = nativeBackend() as unknown as { binding: Binding };
  const real = backend.binding;
  const stats = new Map<string, { count: number; ms: number }>();
  const state = engineState();
  let opCount = 0;
  let opMs = 0;
  let peakBytes = state.numBytes;
  let peakTensors = state.numTensors;
  backend.binding = recordingBinding(real, (name, ms, outs) => {
    const s = stats.get(name) ?? { count: 0, ms: 0 };
    s.count++;
    s.ms += ms;
    stats.set(name, s);
    opCount++;
    opMs += ms;
    // The outputs are registered with the engine after this returns: count them now.
    peakBytes = Math.max(peakBytes, state.numBytes + bytesOf(outs));
    peakTensors = Math.max(peakTensors, state.numTensors + outs.length);
  });
  let list: Tensor[] = [];
  let wallMs: number;
  try {
    const t0 = performance.now();
    list = readBack(fn());
    wallMs = performance.now() - t0;
  } finally {
    backend.binding = real;
    tf.dispose(list);
  }
  return { wallMs, opCount, opMs, byOp: sortStats(stats), peakBytes, peakTensors, source: 'binding' };
}

async function traceWithTfjsProfile(fn: () => Tensor | Tensor[]): Promise<OpTrace> {
  const state = engineState();
  const before = { bytes: state.numBytes, tensors: state.numTensors };
  let list: Tensor[] = [];
  const t0 = performance.now();
  const info = await tf.profile(() => {
    list = readBack(fn());
    return list;
  });
  const wallMs = performance.now() - t0;
  tf.dispose(list);
  const stats = new Map<string, { count: number; ms: number }>();
  let opMs = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const s = stats.get(k.name) ?? { count: 0, ms: 0 };
    s.count++;
    s.ms += ms;
    stats.set(k.name, s);
    opMs += ms;
  }
  return {
    wallMs,
    opCount: info.kernels.length,
    opMs,
    byOp: sortStats(stats),
    peakBytes: Math.max(before.bytes, info.peakBytes),
    peakTensors: Math.max(before.tensors, ...info.kernels.map((k) => k.totalTensorsSnapshot)),
    source: 'tfjs-profile',
  };
}

/** The fixed cost of one op, in µs. */
export interface DispatchCost {
  /** Inside the op call (the binding: building and running the eager op). */
  readonly opUs: number;
  /** A whole tfjs op call (engine bookkeeping, tape check, tensor wrapping, disposal) around it. */
  readonly tfjsUs: number;
}

/**
 * The fixed cost of one op on this backend: `n` one-element AddV2s (tfjs `add`), whose kernel
 * does no work, traced. Multiplied by a run's op count it splits the run's time into dispatch
 * and kernel work.
 */
export async function dispatchCost(n = 400): Promise<DispatchCost> {
  const a = tf.scalar(1);
  const b = tf.scalar(2);
  try {
    const t = await traceOps(() => {
      let y = tf.add(a, b);
      for (let i = 1; i < n; i++) {
        y.dispose();
        y = tf.add(a, b);
      }
      return y;
    });
    return { opUs: (t.opMs * 1000) / t.opCount, tfjsUs: (t.wallMs * 1000) / n };
  } finally {
    tf.dispose([a, b]);
  }
}
