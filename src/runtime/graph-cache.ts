// Graph functions by computation and input shapes: a computation (a training step's forward pass,
// loss and gradients; an evaluation forward pass) is traced once per input shape into one
// TensorFlow graph (graph-function.ts) and then run with one native call. A computation the
// tracer refuses (one that draws random numbers in JavaScript or reads tensor values) is
// reported, once, so that the caller runs it eagerly.
import { NotTraceable, traceGraphFunction, type GraphFunction } from './graph-function.ts';
import type { Tensor } from './index.ts';
import { RandomDrawError, withoutDraws } from '../util/rng.ts';

/** What a traced computation returns: its output tensors and plain data fixed at trace time. */
export interface Traced<M> {
  readonly outputs: Tensor[];
  readonly meta: M;
}

/** The outcome of `GraphCache.run`: the outputs, or why the step runs eagerly (`first`: said for the first time). */
export type GraphRun<M> = { readonly outputs: Tensor[]; readonly meta: M } | { readonly refused: string; readonly first: boolean };

/** Graph functions by computation and input shapes (one cache per model). */
export class GraphCache {
  private readonly traced = new Map<string, { fn: GraphFunction; meta: unknown } | { refused: string }>();

  /**
   * `useTrace`: a computation's first call returns what its trace computed eagerly instead of
   * running the new graph as well (for computations whose graph gives bit-identical results, as
   * evaluation forward passes do; training discards the trace, so that every step of a run,
   * resumed or not, comes from the same graph).
   */
  constructor(private readonly opts: { readonly useTrace?: boolean } = {}) {}

  /**
   * Runs `compute` (which reads only `inputs` and tensors it makes) through its graph function
   * for `key` and these input shapes, tracing it on first use.
   */
  run<M>(key: string, inputs: readonly Tensor[], compute: () => Traced<M>): GraphRun<M> {
    const id = `${key}|${inputs.map((t) => `${t.dtype}[${t.shape}]`).join(';')}`;
    let entry = this.traced.get(id);
    let first = false;
    let eager: Tensor[] | undefined;
    if (entry === undefined) {
      first = true;
      let meta: unknown;
      try {
        const fn = withoutDraws(`${key} draws random numbers in JavaScript, which a graph would freeze`, () =>
          traceGraphFunction(
            () => {
              const r = compute();
              meta = r.meta;
              return r.outputs;
            },
            inputs,
            this.opts.useTrace ? (outs) => (eager = outs) : undefined,
          ),
        );
        entry = { fn, meta };
      } catch (err) {
        if (!(err instanceof NotTraceable || err instanceof RandomDrawError)) throw err;
        entry = { refused: err.message };
      }
      this.traced.set(id, entry);
    }
    if ('refused' in entry) return { refused: entry.refused, first };
    return { outputs: eager ?? entry.fn.run(inputs), meta: entry.meta as M };
  }

  /** Removes every graph function from the runtime. */
  dispose(): void {
    for (const e of this.traced.values()) if ('fn' in e) e.fn.dispose();
    this.traced.clear();
  }
}
