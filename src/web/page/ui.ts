// The page side: wires the document (drop zone, progress, before/after slider, download) to the
// worker that runs the model, and implements the scripting contract: `?image=URL` restores that
// image on load; <body data-status> goes loading → ready → running → done (or error), with the
// result as a PNG data URL in <img id="result"> and a failure's message in #error.
import type { Frame } from '../../infer/frames.ts';
import { defaultOverlap, type TileOptions } from '../../infer/tile.ts';
import type { SiteManifest } from '../manifest.ts';
import { backendRequest } from './backend.ts';
import { decodeFrame, encodePng, frameCanvas } from './pixels.ts';
import { fetchOk } from './fetch-ok.ts';
import type { BackendRequest, FromWorker, ToWorker } from './protocol.ts';

/** The page's state, as <body data-status> shows it. */
export type PageStatus = 'loading' | 'ready' | 'running' | 'done' | 'error';

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page has no #${id} element`);
  return e as T;
}

/** The tiling a page URL asks for (`?tile=N[&overlap=M]`), else the site's default. */
export function tilingOf(search: URLSearchParams, fallback: TileOptions): TileOptions {
  const int = (key: string): number | undefined => {
    const raw = search.get(key);
    if (raw === null) return undefined;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new Error(`?${key}=${raw}: expected a whole number of pixels`);
    return n;
  };
  const tile = int('tile');
  const overlap = int('overlap');
  if (tile === undefined) return overlap === undefined ? fallback : { ...fallback, overlap };
  return { tile, overlap: overlap ?? defaultOverlap(tile) };
}

const baseName = (name: string): string => name.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '') || 'image';

/** Starts the page: the worker (this same script, `scriptUrl`), then whatever the URL asks for. */
export function startPage(scriptUrl: string): void {
  const body = document.body;
  const ui = {
    status: el('status'),
    backend: el('backend'),
    model: el('model'),
    progress: el<HTMLProgressElement>('progress'),
    progressText: el('progress-text'),
    time: el('time'),
    download: el<HTMLAnchorElement>('download'),
    error: el('error'),
    viewer: el('viewer'),
    compare: el('compare'),
    before: el<HTMLImageElement>('before'),
    result: el<HTMLImageElement>('result'),
    slider: el<HTMLInputElement>('slider'),
    framesRow: el('frames-row'),
    frame: el<HTMLInputElement>('frame'),
    frameName: el('frame-name'),
    file: el<HTMLInputElement>('file'),
    drop: el('drop'),
    dropText: el('drop-text'),
  };
  const setStatus = (status: PageStatus, text: string) => {
    body.dataset.status = status;
    ui.status.textContent = text;
  };
  const fail = (message: string) => {
    ui.error.textContent = message;
    ui.error.hidden = false;
    ui.progress.hidden = true;
    setStatus('error', 'Failed.');
  };

  const search = new URLSearchParams(location.search);
  let request: BackendRequest;
  let manifest: SiteManifest | undefined;
  try {
    request = backendRequest(search);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
    return;
  }
  const worker = new Worker(scriptUrl, { type: 'module' });
  const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
  worker.onerror = (e) => fail(`the model's worker failed: ${e.message || 'unknown error (see the browser console)'}`);

  // Results of the latest run, shown frame by frame.
  let shown: Array<{ readonly input: Frame; readonly output: Frame; readonly png?: { dataUrl: string; blob: Blob } }> = [];
  let downloadUrl: string | undefined;
  const showFrame = async (i: number) => {
    const entry = shown[i];
    if (entry === undefined) return;
    ui.before.src = frameCanvas(entry.input).toDataURL('image/png');
    const png = entry.png ?? (await encodePng(entry.output));
    shown[i] = { ...entry, png };
    ui.result.src = png.dataUrl;
    if (downloadUrl !== undefined) URL.revokeObjectURL(downloadUrl);
    downloadUrl = URL.createObjectURL(png.blob);
    ui.download.href = downloadUrl;
    ui.download.download = `${entry.output.name}-deblurred.png`;
    ui.download.textContent = shown.length > 1 ? `Download frame ${entry.output.name} (PNG)` : 'Download the result (PNG)';
    ui.frameName.textContent = entry.output.name;
  };

  let runId = 0;
  let pending: { id: number; inputs: Frame[] } | undefined;
  const waitingForModel: Array<() => void> = [];

  const restore = async (sources: ReadonlyArray<{ readonly blob: Blob; readonly name: string }>) => {
    if (manifest === undefined) {
      await new Promise<void>((resolve) => waitingForModel.push(resolve));
    }
    const m = manifest!;
    ui.error.hidden = true;
    ui.download.hidden = true;
    ui.time.textContent = '';
    setStatus('running', 'Reading the image…');
    const ordered = m.kind === 'video' ? [...sources].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true })) : sources.slice(0, 1);
    const inputs = await Promise.all(ordered.map((s) => decodeFrame(s.blob, baseName(s.name))));
    const tile = tilingOf(search, m.tile);
    const id = ++runId;
    pending = { id, inputs };
    ui.progress.hidden = false;
    ui.progress.value = 0;
    ui.progressText.textContent = '';
    setStatus('running', inputs.length > 1 ? `Restoring ${inputs.length} frames…` : 'Restoring…');
    // Copies travel to the worker; the originals stay here for the before/after view.
    const frames = inputs.map((f) => ({ ...f, rgb: f.rgb.slice() }));
    send({ type: 'run', id, frames, tile }, frames.map((f) => f.rgb.buffer as ArrayBuffer));
  };
  const restoreOrFail = (sources: ReadonlyArray<{ readonly blob: Blob; readonly name: string }>) => {
    restore(sources).catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
  };

  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    const msg = e.data;
    if (msg.type === 'error') {
      if (msg.id === undefined || msg.id === runId) fail(msg.message);
      return;
    }
    if (msg.type === 'ready') {
      manifest = msg.manifest;
      ui.backend.textContent = msg.backend;
      ui.model.textContent = `${msg.manifest.label} — ${msg.manifest.model.type}, ${msg.manifest.kind} model`;
      if (msg.manifest.kind === 'video') {
        ui.file.multiple = true;
        ui.dropText.textContent = 'Drop the frames of a short clip (images, taken in name order) or one photo here, or click to choose them.';
      }
      if (body.dataset.status === 'loading') setStatus('ready', 'Ready.');
      for (const resolve of waitingForModel.splice(0)) resolve();
      return;
    }
    if (pending === undefined || msg.id !== pending.id) return;
    if (msg.type === 'progress') {
      ui.progress.value = msg.totalTiles === 0 ? 0 : msg.tiles / msg.totalTiles;
      ui.progressText.textContent = `tile ${msg.tiles}/${msg.totalTiles}${msg.totalFrames > 1 ? `, frame ${msg.frames + 1}/${msg.totalFrames}` : ''}`;
      return;
    }
    const inputs = pending.inputs;
    pending = undefined;
    shown = msg.frames.map((output, i) => ({ input: inputs[i]!, output }));
    ui.frame.max = String(shown.length - 1);
    ui.frame.value = '0';
    ui.framesRow.hidden = shown.length < 2;
    ui.time.textContent = `${msg.seconds.toFixed(2)} s`;
    showFrame(0)
      .then(() => {
        ui.viewer.hidden = false;
        ui.download.hidden = false;
        ui.progress.hidden = true;
        setStatus('done', 'Done.');
      })
      .catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
  };

  // Inputs: the file chooser, drag and drop, and ?image=URL (repeatable: a clip's frames).
  ui.file.addEventListener('change', () => {
    const files = [...(ui.file.files ?? [])];
    if (files.length > 0) restoreOrFail(files.map((f) => ({ blob: f, name: f.name })));
    ui.file.value = '';
  });
  ui.drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    ui.drop.classList.add('over');
  });
  ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
  ui.drop.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.drop.classList.remove('over');
    const files = [...(e.dataTransfer?.files ?? [])].filter((f) => f.type.startsWith('image/') || f.type === '');
    if (files.length > 0) restoreOrFail(files.map((f) => ({ blob: f, name: f.name })));
  });
  ui.slider.addEventListener('input', () => ui.compare.style.setProperty('--split', `${ui.slider.value}%`));
  ui.frame.addEventListener('input', () => {
    showFrame(Number(ui.frame.value)).catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
  });

  send({ type: 'init', base: new URL('.', scriptUrl).href, backend: request });
  const urls = search.getAll('image');
  if (urls.length > 0) {
    Promise.all(
      urls.map(async (u) => {
        const url = new URL(u, location.href);
        const res = await fetchOk(url);
        return { blob: await res.blob(), name: decodeURIComponent(url.pathname) };
      }),
    )
      .then((sources) => restore(sources))
      .catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
  }
}
