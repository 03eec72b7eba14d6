// The worker side of the page: loads the model once, then restores the frames the page sends,
// reporting each tile, with `restoreFrames` (the tiling and temporal windows of `simdeblur
// deblur`). Running here keeps the page responsive while a long photo is restored.
import { restoreFrames } from '../../infer/run.ts';
import type { Frame } from '../../infer/frames.ts';
import { startBackend } from './backend.ts';
import { loadPageModel, type PageModel } from './model.ts';
import type { FromWorker, ToWorker } from './protocol.ts';

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function run(model: PageModel, msg: Extract<ToWorker, { type: 'run' }>, post: WorkerScope['postMessage']): Promise<void> {
  const { id, frames, tile } = msg;
  const restored: Frame[] = [];
  const started = performance.now();
  await restoreFrames(
    model.restorer,
    { count: frames.length, frames: async function* () { yield* frames; } },
    async (r) => {
      restored.push({ name: r.input.name, width: r.input.width, height: r.input.height, rgb: r.rgb });
    },
    { tile, onTile: (tiles, totalTiles) => post({ type: 'progress', id, tiles, totalTiles, frames: restored.length, totalFrames: frames.length }) },
  );
  const seconds = (performance.now() - started) / 1000;
  post({ type: 'result', id, frames: restored, seconds }, restored.map((f) => f.rgb.buffer as ArrayBuffer));
}

/** Answers the page's messages (see protocol.ts); runs are taken one at a time, in order. */
export function runWorker(scope: WorkerScope): void {
  let model: Promise<PageModel> | undefined;
  let queue: Promise<void> = Promise.resolve();
  const post: WorkerScope['postMessage'] = (m, transfer) => scope.postMessage(m, transfer ?? []);
  scope.onmessage = (e) => {
    const msg = e.data;
    if (msg.type === 'init') {
      model = (async () => {
        const backend = await startBackend(msg.backend, msg.base);
        const loaded = await loadPageModel(msg.base);
        post({ type: 'ready', backend, manifest: loaded.manifest });
        return loaded;
      })();
      model.catch((err: unknown) => post({ type: 'error', message: message(err) }));
      return;
    }
    queue = queue.then(async () => {
      try {
        if (model === undefined) throw new Error('the worker was asked to run before it was initialised');
        await run(await model, msg, post);
      } catch (err) {
        post({ type: 'error', id: msg.id, message: message(err) });
      }
    });
  };
}
