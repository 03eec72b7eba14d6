// Multiply-accumulates counted from the operations a piece of work actually runs: every
// convolution (plain, grouped, depthwise, transposed, 3-D) and every matrix product, from the
// shapes the kernel was called with. On the native backend every TensorFlow op — those tfjs's
// kernels run and those our fused layers call directly (src/nn/native.ts) — goes through the
// backend's `executeSingleOutput` / `executeMultipleOutputs`, which are watched for the duration.
// (tfjs's `tf.profile` does not do here: it records a fused layer as one unnamed custom-gradient
// kernel, without the convolutions inside it.) Other backends: tfjs's profiler, whose kernels
// carry their tfjs names and input shapes. Elementwise work (activations, normalisation, gates)
// is not counted, as is usual for MAC figures.
import { tf, isNative, nativeBackend } from '../runtime/index.ts';
import type { Tensor } from '../runtime/index.ts';

/** MACs of one op type. */
export interface OpMacs {
  readonly count: number;
  readonly macs: number;
}

/** What a counted piece of work did. */
export interface MacCount {
  /** Multiply-accumulates of all convolutions and matrix products. */
  readonly macs: number;
  /** Per op name (TensorFlow's on the native backend, tfjs's elsewhere), counted ops only. */
  readonly byOp: Readonly<Record<string, OpMacs>>;
  /** Ops run, counted or not. */
  readonly ops: number;
  readonly source: 'backend' | 'tfjs-profile';
}

type Shape = readonly number[];
interface Attr {
  readonly name: string;
  readonly value: unknown;
}

const elems = (s: Shape): number => s.reduce((a, b) => a * b, 1);
const prodBut = (s: Shape, drop: number): number => elems(s.slice(0, s.length - drop));

/**
 * MACs of one TensorFlow op from its input and output shapes (TensorFlow's input order), or 0
 * for ops that are not convolutions or matrix products.
 */
export function tensorflowOpMacs(name: string, inputs: readonly Shape[], output: Shape, attrs: readonly Attr[] = []): number {
  const attr = (n: string) => attrs.find((a) => a.name === n)?.value === true;
  switch (name) {
    case 'Conv':
    case 'Conv2D':
    case 'Conv3D':
      // filter [kh, kw, in/groups, out] (3-D: [kd, kh, kw, in, out]): each output takes kh·kw·in/groups.
      return elems(output) * prodBut(inputs[1]!, 1);
    case 'DepthwiseConv2dNative':
      return elems(output) * inputs[1]![0]! * inputs[1]![1]!;
    case 'Conv2DBackpropInput':
    case 'Conv3DBackpropInputV2':
      // A transposed convolution: (input_sizes, filter [k…, in, out], out_backprop) — each element
      // of out_backprop spreads over k…·in outputs.
      return elems(inputs[2]!) * prodBut(inputs[1]!, 1);
    case 'DepthwiseConv2dNativeBackpropInput':
      return elems(inputs[2]!) * inputs[1]![0]! * inputs[1]![1]!;
    case 'MatMul': {
      const a = inputs[0]!;
      return elems(output) * (attr('transpose_a') ? a[0]! : a[1]!);
    }
    case 'BatchMatMul':
    case 'BatchMatMulV2':
    case 'BatchMatMulV3': {
      const a = inputs[0]!;
      return elems(output) * (attr('adj_x') ? a[a.length - 2]! : a[a.length - 1]!);
    }
    default:
      return 0;
  }
}

/** MACs of one tfjs kernel (tfjs's names and input order) from its shapes, or 0. */
export function tfjsKernelMacs(name: string, inputs: readonly Shape[], outputs: readonly Shape[]): number {
  const out = outputs[0] ?? [];
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D':
    case 'Conv3D':
      return elems(out) * prodBut(inputs[1]!, 1);
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D':
      return elems(out) * inputs[1]![0]! * inputs[1]![1]!;
    case 'Conv2DBackpropInput':
    case 'Conv3DBackpropInputV2':
      // inputs {dy, filter}
      return elems(inputs[0]!) * prodBut(inputs[1]!, 1);
    case 'BatchMatMul':
    case '_FusedMatMul': {
      // The kernel's transpose flags are not recorded: the shared dimension from the sizes.
      const [a, b] = [inputs[0]!, inputs[1]!];
      const batch = prodBut(out, 2);
      return Math.round(Math.sqrt((elems(a) * elems(b)) / (elems(out) * batch)) * elems(out));
    }
    default:
      return 0;
  }
}

type ExecName = 'executeSingleOutput' | 'executeMultipleOutputs';
type Execute = (name: string, attrs: readonly Attr[], inputs: readonly Tensor[], n?: number) => Tensor | Tensor[];

function add(byOp: Map<string, { count: number; macs: number }>, name: string, macs: number): void {
  if (macs === 0) return;
  const s = byOp.get(name) ?? { count: 0, macs: 0 };
  byOp.set(name, { count: s.count + 1, macs: s.macs + macs });
}

function result(byOp: Map<string, { count: number; macs: number }>, ops: number, source: MacCount['source']): MacCount {
  const entries = [...byOp].sort((a, b) => b[1].macs - a[1].macs);
  return { macs: entries.reduce((s, [, v]) => s + v.macs, 0), byOp: Object.fromEntries(entries), ops, source };
}

/**
 * Runs `fn` once and counts the multiply-accumulates of the convolutions and matrix products it
 * ran; its outputs are disposed. Not reentrant (one count at a time).
 */
export async function countMacs(fn: () => Tensor | Tensor[]): Promise<MacCount> {
  const byOp = new Map<string, { count: number; macs: number }>();
  let ops = 0;
  if (!isNative()) {
    let outs: Tensor[] = [];
    const info = await tf.profile(() => {
      const r = fn();
      outs = Array.isArray(r) ? r : [r];
      return outs;
    });
    tf.dispose(outs);
    for (const k of info.kernels) add(byOp, k.name, tfjsKernelMacs(k.name, k.inputShapes, k.outputShapes));
    return result(byOp, info.kernels.length, 'tfjs-profile');
  }
  // The backend's methods are shadowed on the instance for the duration, then put back as they were.
  const backend = nativeBackend() as unknown as Record<ExecName, Execute>;
  const names: ExecName[] = ['executeSingleOutput', 'executeMultipleOutputs'];
  const own = names.map((n) => Object.getOwnPropertyDescriptor(backend, n));
  const watch = (exec: Execute): Execute =>
    function (this: unknown, name, attrs, inputs, n) {
      const out = exec.call(this, name, attrs, inputs, n);
      ops++;
      const first = Array.isArray(out) ? out[0] : out;
      add(byOp, name, tensorflowOpMacs(name, inputs.map((t) => t.shape), first?.shape ?? [], attrs));
      return out;
    };
  for (const n of names) Object.defineProperty(backend, n, { value: watch(backend[n]), configurable: true, writable: true });
  let outs: Tensor | Tensor[] = [];
  try {
    outs = fn();
  } finally {
    names.forEach((n, i) => {
      const d = own[i];
      if (d === undefined) delete (backend as Partial<Record<ExecName, Execute>>)[n];
      else Object.defineProperty(backend, n, d);
    });
    tf.dispose(outs);
  }
  return result(byOp, ops, 'backend');
}
