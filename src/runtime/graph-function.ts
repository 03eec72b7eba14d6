// Graph functions: a piece of tensor code traced once into one TensorFlow graph and then run with
// a single native call. Tracing runs the code eagerly while a stand-in binding records every op it
// executes (tfjs's kernels and our own native ops all reach `executeOp`), every constant it makes
// from JavaScript data, and every variable it writes. The record becomes a function in the eager
// context (native/tfjs-graph/tfjs_graph.cc); TensorFlow then optimises the whole graph, runs
// independent ops in parallel and frees each intermediate as soon as its last reader is done,
// where eager execution pays a JavaScript round trip per op and keeps what a `tidy` holds.
//
// A trace is a faithful replay only of code whose ops depend on nothing but the shapes of its
// inputs: the trace refuses (NotTraceable) code that reads a tensor's values, or reads or writes a
// variable that is not an input. Other tensors made outside the trace (caches of constants) and
// values made in JavaScript inside it are frozen into the graph as constants: whatever changes
// between runs must be an input, and code that draws random numbers in JavaScript is kept out by
// the caller (see `withoutDraws` in src/util/rng.ts).
import { tf, isNative, nativeBackend } from './index.ts';
import type { Tensor, Variable } from './index.ts';

/** The code cannot be replayed from a trace; the message says why. */
export class NotTraceable extends Error {
  override name = 'NotTraceable';
}

type OpAttr = { readonly name: string; readonly type: number; readonly value: unknown };
type OutputInfo = { readonly id: number; readonly shape: number[]; readonly dtype: number };
type TensorData = { id: number; shape: number[]; dtype: number; values: unknown };

interface Binding {
  readonly TF_ATTR_TYPE: number;
  executeOp(name: string, attrs: OpAttr[], inputs: number[], n: number): OutputInfo[];
  createTensor(shape: number[], dtype: number, values: unknown): number;
  tensorDataSync(id: number): unknown;
  buildGraphFunction?(name: string, nodes: GraphNode[], outputs: Int32Array): void;
  removeGraphFunction?(name: string): void;
}

interface Backend {
  binding: Binding;
  readonly tensorMap: { get(dataId: object): TensorData };
  getInputTensorIds(tensors: readonly Tensor[]): number[];
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: readonly Tensor[], n: number): Tensor[];
}

/** One node of the recorded graph, as native/tfjs-graph/tfjs_graph.cc takes it. */
type GraphNode =
  | { readonly kind: 0; readonly dtype: number; readonly shape: readonly number[] }
  | { readonly kind: 1; readonly dtype: number; readonly shape: readonly number[]; readonly data: unknown }
  | { readonly kind: 2; readonly op: string; readonly attrs: readonly OpAttr[]; readonly inputs: Int32Array; readonly lists: Int32Array };

/** A tensor in the graph: (node, output). */
type Ref = readonly [number, number];

// Ops with a list argument (a variable number of tensors, counted by attr N): the size of each
// argument given the number of inputs (-1: a single tensor). Other ops take one tensor per argument.
const LIST_ARGUMENTS: Readonly<Record<string, (inputs: number) => number[]>> = {
  AddN: (n) => [n],
  Pack: (n) => [n],
  ConcatV2: (n) => [n - 1, -1],
  Concat: (n) => [-1, n - 1],
};

/** Whether graph functions can run here: the native backend with the binding `simdeblur setup` builds. */
export function graphFunctionsAvailable(): boolean {
  return isNative() && typeof (nativeBackend() as unknown as Backend).binding.buildGraphFunction === 'function';
}

/** A traced piece of tensor code, run with one native call. */
export interface GraphFunction {
  readonly name: string;
  /** Ops in the graph (as recorded, before TensorFlow's optimisations). */
  readonly opCount: number;
  /**
   * Runs the graph on tensors shaped and typed as the traced inputs, in the same order; returns
   * the outputs and writes the variables the traced code wrote. The caller owns the outputs.
   */
  run(inputs: readonly Tensor[]): Tensor[];
  /** Removes the function from the runtime. */
  dispose(): void;
}

let functionCounter = 0;

/**
 * Traces `fn` (run once, eagerly, on `inputs`) into a graph function. Every variable `fn` reads or
 * writes must be one of `inputs`; other tensors made outside `fn` become constants. The graph's
 * outputs are what `fn` returns, then the final values of the variables it wrote. The trace's own
 * writes are undone, so tracing leaves every variable as it was. `onTraced` receives what the
 * eager run returned (the caller then owns it); otherwise it is disposed. Throws NotTraceable.
 */
export function traceGraphFunction(fn: () => Tensor[], inputs: readonly Tensor[], onTraced?: (outputs: Tensor[]) => void): GraphFunction {
  if (!graphFunctionsAvailable()) throw new NotTraceable('graph functions need the native backend with the binding `simdeblur setup` builds (collective ops and graph functions)');
  const backend = nativeBackend() as unknown as Backend;
  const real = backend.binding;
  const nodes: GraphNode[] = [];
  const source = new Map<number, Ref>();
  const inputIds = backend.getInputTensorIds(inputs);
  inputIds.forEach((id, i) => {
    if (source.has(id)) throw new NotTraceable(`input ${i} is the same tensor as an earlier input`);
    const info = backend.tensorMap.get(inputs[i]!.dataId);
    source.set(id, [nodes.length, 0]);
    nodes.push({ kind: 0, dtype: info.dtype, shape: info.shape });
  });
  let opCount = 0;
  const constant = (shape: readonly number[], dtype: number, data: unknown): Ref => {
    nodes.push({ kind: 1, dtype, shape, data });
    return [nodes.length - 1, 0];
  };
  const ref = (id: number): Ref => {
    const r = source.get(id);
    if (r === undefined) throw new NotTraceable(`the traced code passes tensor ${id} to an op without going through the backend`);
    return r;
  };
  const stand = Object.create(real) as Binding;
  Object.defineProperties(stand, {
    executeOp: {
      value: (name: string, attrs: OpAttr[], ids: number[], n: number): OutputInfo[] => {
        const refs = ids.map(ref);
        const lists = LIST_ARGUMENTS[name]?.(ids.length) ?? ids.map(() => -1);
        if (LIST_ARGUMENTS[name] === undefined && attrs.some((a) => a.name === 'N')) throw new NotTraceable(`op ${name} takes a list of tensors, which the tracer does not know how to split into its arguments`);
        const outs = real.executeOp(name, attrs, ids, n);
        nodes.push({ kind: 2, op: name, attrs, inputs: Int32Array.from(refs.flat()), lists: Int32Array.from(lists) });
        opCount++;
        outs.forEach((o, k) => source.set(o.id, [nodes.length - 1, k]));
        return outs;
      },
    },
    createTensor: {
      value: (shape: number[], dtype: number, values: unknown): number => {
        const id = real.createTensor(shape, dtype, values);
        source.set(id, constant(shape, dtype, values));
        return id;
      },
    },
    tensorDataSync: {
      value: (id: number): unknown => {
        if (source.has(id)) throw new NotTraceable('the traced code reads a tensor value (dataSync, data, arraySync); its ops would depend on data');
        return real.tensorDataSync(id);
      },
    },
  });
  const realIds = backend.getInputTensorIds;
  const writes = new Set<Variable>();
  const realAssign = tf.Variable.prototype.assign;
  const undo: { variable: Variable; saved: Tensor }[] = [];
  const patched = backend as Partial<Backend>;
  const detach = () => {
    backend.binding = real;
    delete patched.getInputTensorIds;
    tf.Variable.prototype.assign = realAssign;
  };
  backend.binding = stand;
  backend.getInputTensorIds = function (this: Backend, tensors) {
    // A variable changes between runs: it must be an input (or written inside the trace).
    for (const t of tensors) {
      if (!(t instanceof tf.Variable)) continue;
      const { id } = this.tensorMap.get(t.dataId);
      if (!(id >= 0 && source.has(id))) throw new NotTraceable(`the traced code reads variable ${t.name}, which is not an input`);
    }
    // Anything else made outside the trace and not an input (a cache of constants) is frozen
    // into the graph: values not yet sent to TensorFlow reach `createTensor` above, the others here.
    const ids = realIds.call(this, tensors);
    tensors.forEach((t, i) => {
      if (!source.has(ids[i]!)) source.set(ids[i]!, constant(t.shape, this.tensorMap.get(t.dataId).dtype, real.tensorDataSync(ids[i]!)));
    });
    return ids;
  };
  tf.Variable.prototype.assign = function (this: Variable, value: Tensor) {
    if (!writes.has(this)) undo.push({ variable: this, saved: tf.keep(this.clone()) });
    realAssign.call(this, value);
    writes.add(this);
  };
  let outputs: Tensor[] = [];
  let written: Variable[] = [];
  let outRefs: Int32Array;
  const engine = tf.engine() as unknown as { state: { activeTape: { saved?: Tensor[] }[] | null; gradientDepth: number } };
  const tapeBefore = engine.state.activeTape;
  let recorded = false;
  try {
    outputs = tf.tidy(fn);
    written = [...writes];
    const inputSet = new Set(inputs);
    const stray = written.find((v) => !inputSet.has(v));
    if (stray !== undefined) throw new NotTraceable(`the traced code writes variable ${stray.name}, which is not an input`);
    const refs = backend.getInputTensorIds([...outputs, ...written]).map(ref);
    // An output that is an argument, or a tensor already returned, goes through Identity: a
    // function's results are distinct op outputs.
    const seen = new Set<string>();
    outRefs = Int32Array.from(
      refs.flatMap(([node, k], i) => {
        const key = `${node}:${k}`;
        if (nodes[node]!.kind !== 0 && !seen.has(key)) {
          seen.add(key);
          return [node, k];
        }
        const t = i < outputs.length ? outputs[i]! : written[i - outputs.length]!;
        nodes.push({ kind: 2, op: 'Identity', attrs: [{ name: 'T', type: real.TF_ATTR_TYPE, value: backend.tensorMap.get(t.dataId).dtype }], inputs: Int32Array.from([node, k]), lists: Int32Array.from([-1]) });
        return [nodes.length - 1, 0];
      }),
    );
    recorded = true;
  } catch (err) {
    // tfjs keeps what a gradient tape saves until its backward pass runs: a trace stopped in the
    // forward pass of a gradient would leave those tensors behind.
    const st = engine.state;
    if (st.gradientDepth === 0 && st.activeTape !== null && st.activeTape !== tapeBefore) {
      for (const node of st.activeTape) tf.dispose(node.saved ?? []);
      st.activeTape = null;
    }
    throw err;
  } finally {
    detach();
    if (!recorded) tf.dispose(outputs);
    for (const { variable, saved } of undo) {
      variable.assign(saved);
      saved.dispose();
    }
  }
  const name = `simdeblur_graph_${process.pid}_${functionCounter++}`;
  try {
    real.buildGraphFunction!(name, nodes, outRefs);
  } catch (err) {
    tf.dispose(outputs);
    // An op or value the graph builder does not take (a string tensor, an attribute TensorFlow rejects).
    throw new NotTraceable(`TensorFlow did not accept the traced graph: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (onTraced) onTraced(outputs);
  else tf.dispose(outputs);
  const numOut = outRefs.length / 2;
  const numUser = numOut - written.length;
  const shapes = inputs.map((t) => t.shape.join(','));
  return {
    name,
    opCount,
    run(xs) {
      if (xs.length !== inputs.length) throw new Error(`graph function ${name}: ${xs.length} inputs, traced with ${inputs.length}`);
      xs.forEach((x, i) => {
        if (x.shape.join(',') !== shapes[i] || x.dtype !== inputs[i]!.dtype) throw new Error(`graph function ${name}: input ${i} is ${x.dtype} [${x.shape}], traced as ${inputs[i]!.dtype} [${shapes[i]}]`);
      });
      const outs = backend.executeMultipleOutputs(name, [], xs, numOut);
      written.forEach((v, i) => {
        v.assign(outs[numUser + i]!);
        outs[numUser + i]!.dispose();
      });
      return outs.slice(0, numUser);
    },
    dispose: () => real.removeGraphFunction!(name),
  };
}
