// Batches of a dataset decoded in worker threads, identical (order and content) to
// `epochBatches` of loader.ts for the same seed: the parent fixes the sample order and each
// sample's random stream, workers only execute. A dataset reaches a worker as a serialisable
// `DatasetSource` (module + exported factory + arguments) that the worker imports and calls.
// Batches come back as transferred buffers (no copies); `workers: 0` runs the same plan in
// this thread.
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Rng, type RngState } from '../util/rng.ts';
import { siblingModule } from '../util/module-url.ts';
import { batchIndices, batchesPerEpoch, collate, epochOrder, type Batch, type LoaderOptions } from './loader.ts';
import type { Dataset, Sample } from './dataset.ts';
import type { SyntheticOptions } from './synthetic.ts';

// ---------------------------------------------------------------------------------------
// Dataset sources

/**
 * How to build a dataset anywhere: `import(module)[export](...args)`, which returns a Dataset
 * (or a promise of one). Arguments must survive structured cloning (plain data).
 */
export interface DatasetSource {
  /** file: URL of the module (absolute paths are converted by `datasetSource`). */
  readonly module: string;
  /** Name of the exported factory function. */
  readonly export: string;
  readonly args: readonly unknown[];
}

/**
 * A {@link DatasetSource} for `import(module)[exportName](...args)`; `module` must be a URL or an
 * absolute path, and `args` must survive structured cloning.
 */
export function datasetSource(module: string | URL, exportName: string, ...args: unknown[]): DatasetSource {
  let href: string;
  if (module instanceof URL) href = module.href;
  else if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) href = module; // a URL, not a Windows drive path
  else if (path.isAbsolute(module)) href = pathToFileURL(module).href;
  else throw new Error(`datasetSource: module must be a URL or an absolute path (workers resolve relative paths differently), got '${module}'`);
  if (exportName === '') throw new Error('datasetSource: export name is empty');
  return { module: href, export: exportName, args };
}

/** `syntheticDataset(options, name)` of synthetic.ts as a source. */
export function syntheticSource(options: Partial<SyntheticOptions> = {}, name?: string): DatasetSource {
  return datasetSource(siblingModule('./synthetic.ts', import.meta.url), 'syntheticDataset', options, ...(name === undefined ? [] : [name]));
}

export function describeSource(s: DatasetSource): string {
  return `${s.export} from ${s.module}`;
}

function isDataset(x: unknown): x is Dataset {
  if (typeof x !== 'object' || x === null) return false;
  const d = x as Partial<Dataset>;
  return typeof d.get === 'function' && typeof d.name === 'string' && Number.isInteger(d.length) && (d.length ?? -1) >= 0;
}

/** Imports the module and calls the factory. */
export async function openDatasetSource(s: DatasetSource): Promise<Dataset> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(s.module)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`dataset source ${describeSource(s)}: cannot import the module: ${message(err)}`, { cause: err });
  }
  const factory = mod[s.export];
  if (typeof factory !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new Error(`dataset source ${describeSource(s)}: no exported function '${s.export}' (functions exported: ${names.join(', ') || 'none'})`);
  }
  const ds: unknown = await (factory as (...a: unknown[]) => unknown)(...s.args);
  if (!isDataset(ds)) throw new Error(`dataset source ${describeSource(s)}: the factory did not return a Dataset (name, length, get)`);
  return ds;
}

// ---------------------------------------------------------------------------------------
// Loading one batch (the same code in workers and in process)

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A failure while loading a batch; `index` is the sample at fault (null: the batch as a whole). */
export class LoaderError extends Error {
  constructor(
    readonly dataset: string,
    readonly index: number | null,
    cause: unknown,
    context = '',
  ) {
    super(`dataset '${dataset}', ${index === null ? 'batch' : `sample ${index}`}${context}: ${message(cause)}`, { cause });
    this.name = 'LoaderError';
  }
}

/** Samples `indices` with their random streams, collated as `epochBatches` does. */
export async function loadBatch(ds: Dataset, indices: readonly number[], states: readonly RngState[]): Promise<Batch> {
  const samples = await Promise.all(
    indices.map(async (i, k) => {
      try {
        return await ds.get(i, Rng.fromState(states[k]!));
      } catch (err) {
        throw new LoaderError(ds.name, i, err);
      }
    }),
  );
  try {
    return collate(samples);
  } catch (err) {
    throw new LoaderError(ds.name, null, err, ` [${indices.join(', ')}]`);
  }
}

// ---------------------------------------------------------------------------------------
// Messages between the parent and a worker

export type ToWorker = { readonly type: 'batch'; readonly id: number; readonly indices: readonly number[]; readonly states: readonly RngState[] };

export type FromWorker =
  | { readonly type: 'ready'; readonly name: string; readonly length: number }
  | { readonly type: 'init-error'; readonly message: string; readonly stack?: string }
  | { readonly type: 'batch'; readonly id: number; readonly batch: Batch }
  | { readonly type: 'error'; readonly id: number; readonly dataset: string; readonly index: number | null; readonly message: string; readonly stack?: string };

export interface WorkerData {
  readonly source: DatasetSource;
}

// ---------------------------------------------------------------------------------------
// Executors: where batches are loaded

interface Executor {
  readonly name: string;
  readonly length: number;
  run(indices: readonly number[], states: readonly RngState[]): Promise<Batch>;
  close(): Promise<void>;
}

function inProcess(ds: Dataset): Executor {
  let closed = false;
  return {
    name: ds.name,
    length: ds.length,
    run: (indices, states) => (closed ? Promise.reject(new Error(`parallel loader for '${ds.name}' is closed`)) : loadBatch(ds, indices, states)),
    async close() {
      closed = true;
    },
  };
}

const live = new Set<Worker>();

/** Worker threads of parallel loaders that have not exited yet (all loaders of this thread). */
export function liveWorkers(): number {
  return live.size;
}

const workerFile = siblingModule('./loader-worker.ts', import.meta.url);

/** Starts a worker; TypeScript entry points first register tsx inside the new thread. */
function spawn(data: WorkerData): Worker {
  let w: Worker;
  if (workerFile.pathname.endsWith('.ts')) {
    const tsx = import.meta.resolve('tsx/esm/api');
    const boot = `import { register } from ${JSON.stringify(tsx)};\nregister();\nawait import(${JSON.stringify(workerFile.href)});\n`;
    w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData: data });
  } else {
    w = new Worker(workerFile, { workerData: data });
  }
  live.add(w);
  w.once('exit', () => live.delete(w));
  return w;
}

interface Task {
  readonly indices: readonly number[];
  resolve(b: Batch): void;
  reject(e: Error): void;
}

class WorkerSlot {
  readonly tasks = new Map<number, Task>();
  dead: Error | undefined;
  constructor(readonly worker: Worker) {}
}

async function workerPool(source: DatasetSource, count: number): Promise<Executor> {
  const label = describeSource(source);
  const slots = Array.from({ length: count }, () => new WorkerSlot(spawn({ source })));
  let nextId = 0;
  let name = source.export;
  let closed = false;

  const closeAll = async () => {
    closed = true;
    // An unref'd worker would let the process exit before its termination is reported.
    for (const s of slots) s.worker.ref();
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const s of slots) failAll(s, new Error(`parallel loader for '${name}' was closed`));
  };
  const failAll = (slot: WorkerSlot, err: Error) => {
    slot.dead ??= err;
    for (const t of slot.tasks.values()) t.reject(err);
    slot.tasks.clear();
  };

  const ready = slots.map(
    (slot, k) =>
      new Promise<{ name: string; length: number }>((resolve, reject) => {
        const w = slot.worker;
        w.on('message', (m: FromWorker) => {
          if (m.type === 'ready') resolve({ name: m.name, length: m.length });
          else if (m.type === 'init-error') reject(new Error(`parallel loader: cannot open dataset source ${label} in worker ${k}: ${m.message}`));
          else {
            const task = slot.tasks.get(m.id);
            if (!task) return; // the epoch that asked for it has stopped
            slot.tasks.delete(m.id);
            // An idle loader must not keep the process alive (a closing one must, until it exits).
            if (slot.tasks.size === 0 && !closed) w.unref();
            if (m.type === 'batch') task.resolve(m.batch);
            else {
              const cause = Object.assign(new Error(m.message), m.stack === undefined ? {} : { stack: m.stack });
              task.reject(new LoaderError(m.dataset, m.index, cause, m.index === null ? ` [${task.indices.join(', ')}]` : ''));
            }
          }
        });
        const died = (why: string) => {
          const err = new Error(`parallel loader: worker ${k} for dataset '${name}' ${why}`);
          reject(err);
          const pending = [...slot.tasks.values()].flatMap((t) => t.indices);
          failAll(slot, pending.length > 0 ? new Error(`${err.message} while loading samples ${pending.join(', ')}`) : err);
        };
        w.on('error', (err) => died(`failed: ${message(err)}`));
        w.on('exit', (code) => {
          if (!closed) died(`exited with code ${code}`);
        });
      }),
  );
  let info: Array<{ name: string; length: number }>;
  try {
    info = await Promise.all(ready);
  } catch (err) {
    await closeAll();
    throw err;
  }
  name = info[0]!.name;
  if (info.some((i) => i.length !== info[0]!.length)) {
    await closeAll();
    throw new Error(`parallel loader: workers opened '${name}' with different lengths (${info.map((i) => i.length).join(', ')}); the source must be deterministic`);
  }
  for (const s of slots) s.worker.unref();

  return {
    name,
    length: info[0]!.length,
    run(indices, states) {
      if (closed) return Promise.reject(new Error(`parallel loader for '${name}' is closed`));
      const alive = slots.filter((s) => s.dead === undefined);
      if (alive.length === 0) return Promise.reject(slots[0]!.dead!);
      // The least busy worker; content does not depend on the choice.
      const slot = alive.reduce((a, b) => (b.tasks.size < a.tasks.size ? b : a));
      const id = nextId++;
      return new Promise<Batch>((resolve, reject) => {
        slot.tasks.set(id, { indices, resolve, reject });
        slot.worker.ref();
        const msg: ToWorker = { type: 'batch', id, indices, states };
        slot.worker.postMessage(msg);
      });
    },
    close: closeAll,
  };
}

// ---------------------------------------------------------------------------------------
// The loader

/** Options of the parallel loader: the number of worker threads and how many batches to request ahead. */
export interface ParallelOptions {
  /** Worker threads; 0 loads in this thread. */
  readonly workers: number;
  /** Batches requested ahead of the one being consumed (default: max(1, 2 × workers)). */
  readonly prefetch?: number;
}

/**
 * A loader that prepares batches in worker threads (or in this thread with 0 workers), in the same
 * order and with the same random draws as the in-thread loader; call `close` when done.
 */
export interface ParallelLoader {
  /**
   * The dataset as seen from this thread: name and length, and `get` loading one sample where
   * the batches are loaded. (With workers, `get` does not advance the `rng` passed in.)
   */
  readonly dataset: Dataset;
  readonly workers: number;
  readonly prefetch: number;
  /** The batches of one epoch from batch `from`, exactly as `epochBatches` gives them. */
  batches(o: LoaderOptions, epoch: number, from?: number): AsyncGenerator<Batch>;
  /** Stops the workers (idempotent). */
  close(): Promise<void>;
}

function checkParallel(o: ParallelOptions): number {
  if (!Number.isInteger(o.workers) || o.workers < 0) throw new Error(`parallel loader: workers must be an integer >= 0, got ${o.workers}`);
  const prefetch = o.prefetch ?? Math.max(1, 2 * o.workers);
  if (!Number.isInteger(prefetch) || prefetch < 1) throw new Error(`parallel loader: prefetch must be an integer >= 1, got ${o.prefetch}`);
  return prefetch;
}

function sampleOf(b: Batch): Sample {
  const [, ...inputShape] = b.inputShape;
  const [, ...gtShape] = b.gtShape;
  const s = b.samples[0]!;
  return { video: s.video, frames: s.frames, input: b.input, inputShape: inputShape as unknown as Sample['inputShape'], gt: b.gt, gtShape: gtShape as unknown as Sample['gtShape'] };
}

/** Opens the source in `workers` threads (or here, for 0) and keeps them until `close`. */
export async function openParallelLoader(source: DatasetSource, o: ParallelOptions): Promise<ParallelLoader> {
  const prefetch = checkParallel(o);
  const exec = o.workers === 0 ? inProcess(await openDatasetSource(source)) : await workerPool(source, o.workers);
  const dataset: Dataset = {
    name: exec.name,
    length: exec.length,
    async get(index, rng) {
      if (!Number.isInteger(index) || index < 0 || index >= exec.length) throw new RangeError(`${exec.name}: sample index ${index} out of range [0, ${exec.length})`);
      return sampleOf(await exec.run([index], [rng.state()]));
    },
  };
  return {
    dataset,
    workers: o.workers,
    prefetch,
    async *batches(lo, epoch, from = 0) {
      const order = epochOrder(dataset, lo, epoch);
      const n = batchesPerEpoch(dataset, lo);
      const inflight = new Map<number, Promise<Batch>>();
      let next = from;
      const request = (upTo: number) => {
        for (; next < n && next <= upTo; next++) {
          const idx = batchIndices(order, next, lo);
          const p = exec.run(
            idx,
            idx.map((i) => Rng.derive(lo.seed, `sample:${epoch}:${i}`).state()),
          );
          p.catch(() => undefined); // a prefetch abandoned by an early stop must not be an unhandled rejection
          inflight.set(next, p);
        }
      };
      try {
        for (let b = from; b < n; b++) {
          request(b + prefetch);
          const batch = await inflight.get(b)!;
          inflight.delete(b);
          yield batch;
        }
      } finally {
        inflight.clear();
      }
    },
    close: () => exec.close(),
  };
}

/**
 * One epoch with its own workers, stopped when the epoch ends, fails, or the consumer stops
 * early (the generator's `return`).
 */
export async function* parallelEpochBatches(source: DatasetSource, o: LoaderOptions & ParallelOptions, epoch: number, from = 0): AsyncGenerator<Batch> {
  const loader = await openParallelLoader(source, o);
  try {
    yield* loader.batches(o, epoch, from);
  } finally {
    await loader.close();
  }
}
