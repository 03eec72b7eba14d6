// `simdeblur bench`: prints one JSON object per line. Each row carries the same-process conv
// calibration (`calibration.convGflops`), so rows taken at different times compare as ratios.
import { tf, isNative } from '../runtime/index.ts';
import { convBench, type ConvBenchRow } from '../bench/conv.ts';
import { peakRssMb } from '../bench/timing.ts';
import { benchModel, modelBenchCases } from '../bench/models.ts';
import { convTransposeBench, deformConvBench } from '../bench/ops.ts';
import { opsFlowBench } from '../bench/ops-flow.ts';
import { facBench } from '../bench/ops-fac.ts';
import { loaderBenchRows } from '../bench/loader.ts';
import { dataWaitRows } from '../bench/data-wait.ts';
import { optimBenchRows } from '../bench/optim.ts';
import { deblurBenchRows } from '../bench/deblur.ts';
import { profileRows } from '../bench/profile.ts';
import { frameRows } from '../bench/frame.ts';

export interface BenchOptions {
  /** Backends to run the conv benchmark on; default: every one available. */
  readonly backends?: readonly string[];
  readonly runs?: number;
  readonly only?: readonly string[];
  /** Model rows to run (default: all). */
  readonly models?: readonly string[];
  /** Model rows: each pass as a graph function (src/runtime/graph-function.ts) instead of op by op. */
  readonly graph?: boolean;
}

export type BenchRow = Record<string, unknown>;
export type BenchSuite = (calibration: ConvBenchRow, opts: BenchOptions) => Iterable<BenchRow> | AsyncIterable<BenchRow>;

/** Suites by name (`--only` selects among them and `conv`); all but those in `ON_REQUEST` run by default. */
const suites = new Map<string, BenchSuite>([
  [
    'models',
    async function* (_cal, opts) {
      for (const c of modelBenchCases) if (!opts.models || opts.models.includes(c.name)) yield await benchModel(c, { warmup: 1, runs: opts.runs ?? 5, graph: opts.graph === true });
    },
  ],
  ['frame', (_cal, opts) => frameRows({ ...(opts.models ? { models: opts.models } : {}), ...(opts.runs === undefined ? {} : { runs: opts.runs }) })],
  ['profile', (_cal, opts) => profileRows({ ...(opts.models ? { models: opts.models } : {}), ...(opts.runs === undefined ? {} : { runs: opts.runs }) })],
  ['ops', (): BenchRow[] => [{ ...deformConvBench() }, { ...deformConvBench({ pass: 'forward+backward' }) }, ...opsFlowBench().map((r) => ({ ...r })), { ...facBench() }, { ...facBench({ pass: 'forward+backward' }) }, { ...convTransposeBench() }, { ...convTransposeBench({ pass: 'forward+backward' }) }]],
  ['loader', () => loaderBenchRows()],
  ['data-wait', () => dataWaitRows()],
  ['deblur', () => deblurBenchRows()],
  ['optim', (_cal, opts): BenchRow[] => [...optimBenchRows(opts.runs === undefined ? {} : { runs: opts.runs })].map((r) => ({ ...r }))],
]);
/** Suites run only when named in `--only`: op-level traces and whole frames, for looking into one model at a time. */
const ON_REQUEST = new Set(['profile', 'frame']);
// Distributed training (src/bench/distributed.ts): worker processes over loopback, only when named.
suites.set('distributed', async function* (_cal, opts) {
  yield* (await import('../bench/distributed.ts')).distributedRows({ ...(opts.runs === undefined ? {} : { runs: opts.runs }), ...(opts.models ? { models: opts.models } : {}) });
});
ON_REQUEST.add('distributed');

export function registerBenchSuite(name: string, suite: BenchSuite): void {
  suites.set(name, suite);
}

function availableBackends(): string[] {
  return isNative() ? ['tensorflow', 'cpu'] : [tf.getBackend()];
}

export async function runBench(opts: BenchOptions, emit: (row: BenchRow) => void): Promise<void> {
  const home = tf.getBackend();
  const backends = opts.backends ?? availableBackends();
  let calibration: ConvBenchRow | undefined;
  const wanted = (name: string) => (opts.only === undefined ? !ON_REQUEST.has(name) : opts.only.includes(name));
  if (wanted('conv')) {
    const rows = new Map<string, ConvBenchRow>();
    for (const b of backends) {
      if (!(await tf.setBackend(b))) throw new Error(`backend '${b}' is not available`);
      // The pure-JS backend needs ~2 minutes per forward+backward pass here: one timed run.
      const slow = b === 'cpu';
      const row = convBench({ warmup: slow ? 0 : 2, runs: slow ? 1 : (opts.runs ?? 5) });
      emit({ ...row, peakRssMb: peakRssMb() });
      rows.set(b, row);
    }
    await tf.setBackend(home);
    calibration = rows.get(home);
    const native = rows.get('tensorflow');
    const js = rows.get('cpu');
    if (native && js) {
      emit({
        bench: 'conv3x3-speedup',
        of: 'tensorflow',
        over: 'cpu',
        forward: Math.round(js.forwardMs / native.forwardMs),
        forwardBackward: Math.round(js.forwardBackwardMs / native.forwardBackwardMs),
      });
    }
  }
  calibration ??= convBench({ runs: opts.runs ?? 5 });
  for (const [name, suite] of suites) {
    if (!wanted(name)) continue;
    for await (const row of suite(calibration, opts)) emit({ ...row, calibration: { backend: calibration.backend, convGflops: calibration.forwardBackwardGflops } });
  }
}
