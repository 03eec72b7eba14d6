// Worker thread of the parallel loader: opens the dataset source it was started with, then
// loads the batches it is asked for and sends them back with their buffers transferred.
import { parentPort, workerData } from 'node:worker_threads';
import { LoaderError, loadBatch, openDatasetSource, type FromWorker, type ToWorker, type WorkerData } from './parallel-loader.ts';

const port = parentPort;
if (!port) throw new Error('loader-worker.ts is a worker thread entry point; the parallel loader starts it');

const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const { source } = workerData as WorkerData;

try {
  const ds = await openDatasetSource(source);
  port.on('message', (m: ToWorker) => {
    loadBatch(ds, m.indices, m.states).then(
      (batch) => {
        const buffers = [batch.input.buffer, batch.gt.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
        send({ type: 'batch', id: m.id, batch }, buffers[0] === buffers[1] ? buffers.slice(0, 1) : buffers);
      },
      (err: unknown) => {
        const e = err instanceof LoaderError ? err : new LoaderError(ds.name, null, err);
        const cause = e.cause instanceof Error ? e.cause : e;
        send({ type: 'error', id: m.id, dataset: e.dataset, index: e.index, message: cause.message, stack: cause.stack });
      },
    );
  });
  send({ type: 'ready', name: ds.name, length: ds.length });
} catch (err) {
  send({ type: 'init-error', message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined });
}
