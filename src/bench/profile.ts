// `bench --only profile`: where a model's time goes, per op type, for a forward pass (eval, no
// gradients) and a training step (forward, loss, gradients), at the sizes of the models suite.
// The split: time inside op calls (kernels plus their fixed dispatch cost, estimated from an
// empty op) and time outside them (tfjs's engine, the gradient tape, our JavaScript).
import { modelBenchCases, prepareModelCase, type ModelBenchCase } from './models.ts';
import { dispatchCost, traceOps, type DispatchCost, type OpTrace } from './op-trace.ts';
import { round } from './conv.ts';

/** Op types listed by name in a row; the rest are summed as `other`. */
const TOP_OPS = 15;

/** One profile row: a model's pass, traced. */
export interface ProfileRow {
  readonly bench: 'profile';
  readonly model: string;
  readonly pass: 'forward' | 'forward+backward';
  readonly wallMs: number;
  /** Ops run by the pass. */
  readonly ops: number;
  /** Inside op calls; `kernelMs` estimates its kernel part (opMs less ops × an empty op's call). */
  readonly opMs: number;
  readonly kernelMs: number;
  readonly dispatchMs: number;
  /** Outside op calls: engine bookkeeping, the tape, disposal, our code. */
  readonly jsMs: number;
  readonly peakTensorMb: number;
  readonly peakTensors: number;
  /** Per op type: count, total ms, share of op time; most time first. */
  readonly byOp: readonly { readonly op: string; readonly count: number; readonly ms: number; readonly pct: number }[];
  readonly source: OpTrace['source'];
}

/** The trace with the median wall time of `runs` traced runs. */
async function medianTrace(fn: () => ReturnType<Parameters<typeof traceOps>[0]>, runs: number): Promise<OpTrace> {
  const traces: OpTrace[] = [];
  for (let i = 0; i < runs; i++) traces.push(await traceOps(fn));
  return traces.sort((a, b) => a.wallMs - b.wallMs)[traces.length >> 1]!;
}

/** A traced pass as a row. */
export function profileRow(model: string, pass: ProfileRow['pass'], t: OpTrace, cost: DispatchCost): ProfileRow {
  const top = t.byOp.slice(0, TOP_OPS);
  const rest = t.byOp.slice(TOP_OPS);
  const entry = (op: string, count: number, ms: number) => ({ op, count, ms: round(ms, 2), pct: t.opMs > 0 ? round((100 * ms) / t.opMs, 1) : 0 });
  const byOp = top.map((s) => entry(s.op, s.count, s.ms));
  if (rest.length > 0) byOp.push(entry(`other (${rest.length} types)`, rest.reduce((n, s) => n + s.count, 0), rest.reduce((n, s) => n + s.ms, 0)));
  const dispatchMs = (t.opCount * cost.opUs) / 1000;
  return {
    bench: 'profile',
    model,
    pass,
    wallMs: round(t.wallMs, 1),
    ops: t.opCount,
    opMs: round(t.opMs, 1),
    kernelMs: round(Math.max(0, t.opMs - dispatchMs), 1),
    dispatchMs: round(dispatchMs, 1),
    jsMs: round(Math.max(0, t.wallMs - t.opMs), 1),
    peakTensorMb: Math.round(t.peakBytes / 2 ** 20),
    peakTensors: t.peakTensors,
    byOp,
    source: t.source,
  };
}

/** Rows for the named cases (default: all): a dispatch-cost row, then each case's two passes after a warm-up of each. */
export async function* profileRows(opts: { models?: readonly string[]; runs?: number } = {}): AsyncIterable<Record<string, unknown>> {
  const cost = await dispatchCost();
  yield { bench: 'profile-dispatch', opUs: round(cost.opUs, 1), tfjsOpUs: round(cost.tfjsUs, 1) };
  const cases: readonly ModelBenchCase[] = modelBenchCases.filter((c) => !opts.models || opts.models.includes(c.name));
  for (const c of cases) {
    const run = prepareModelCase(c);
    try {
      const runs = opts.runs ?? 1;
      run.forward().forEach((t) => t.dispose());
      yield { ...profileRow(c.name, 'forward', await medianTrace(run.forward, runs), cost) };
      run.forwardBackward().forEach((t) => t.dispose());
      yield { ...profileRow(c.name, 'forward+backward', await medianTrace(run.forwardBackward, runs), cost) };
    } finally {
      run.dispose();
    }
  }
}
