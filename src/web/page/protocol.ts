// Messages between the page and the worker that runs the model. Frames travel as transferred
// Float32Array buffers (float RGB HWC in [0, 1], the layout `restoreFrames` takes and returns).
import type { Frame } from '../../infer/frames.ts';
import type { TileOptions } from '../../infer/tile.ts';
import type { SiteManifest } from '../manifest.ts';

/** The backends the page can be asked for (`?backend=`); 'auto' is WebGL, else WebAssembly. */
export type BackendRequest = 'auto' | 'webgl' | 'wasm';

/** Page to worker. */
export type ToWorker =
  /** Load the model from the site at `base` on the requested backend. */
  | { readonly type: 'init'; readonly base: string; readonly backend: BackendRequest }
  /** Restore `frames` (one image, or the frames of a clip for a video model). */
  | { readonly type: 'run'; readonly id: number; readonly frames: readonly Frame[]; readonly tile: TileOptions };

/** Worker to page. */
export type FromWorker =
  | { readonly type: 'ready'; readonly backend: string; readonly manifest: SiteManifest }
  /** After each tile: tiles done of the current model run, and restored frames so far. */
  | { readonly type: 'progress'; readonly id: number; readonly tiles: number; readonly totalTiles: number; readonly frames: number; readonly totalFrames: number }
  /** Every frame restored; `seconds` is the restoring alone (not loading the model). */
  | { readonly type: 'result'; readonly id: number; readonly frames: readonly Frame[]; readonly seconds: number }
  | { readonly type: 'error'; readonly id?: number; readonly message: string };
