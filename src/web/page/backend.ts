// Which TensorFlow.js backend the page runs on: WebGL where the browser offers it, else
// WebAssembly; `?backend=webgl|wasm` forces one (and fails clearly when it is unavailable).
import { setWasmPaths, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../browser-runtime.ts';
import type { BackendRequest } from './protocol.ts';

const REQUESTS: readonly BackendRequest[] = ['auto', 'webgl', 'wasm'];

/** The backend a page URL asks for (`?backend=`); throws on an unknown name. */
export function backendRequest(search: URLSearchParams): BackendRequest {
  const raw = search.get('backend') ?? 'auto';
  if (!(REQUESTS as readonly string[]).includes(raw)) throw new Error(`?backend=${raw}: expected webgl or wasm (or nothing: WebGL when available, else WebAssembly)`);
  return raw as BackendRequest;
}

async function tryBackend(name: 'webgl' | 'wasm'): Promise<boolean> {
  try {
    // setBackend resolves false (after a console warning) when the backend cannot start.
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/** What the backend in use runs on, for the page: its name and what limits its speed or precision. */
async function describe(name: string): Promise<string> {
  const env = tf.env();
  if (name === 'webgl') return `webgl (${env.getBool('WEBGL_RENDER_FLOAT32_CAPABLE') ? 'float32' : 'float16: lower precision'})`;
  if (name === 'wasm') {
    const simd = (await env.getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
    const threads = getThreadsCount();
    return `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})`;
  }
  return name;
}

/**
 * Starts the requested backend, the WebAssembly binaries read from `wasmBase` (the site's folder):
 * returns its description. Throws when no requested backend starts.
 */
export async function startBackend(request: BackendRequest, wasmBase: string): Promise<string> {
  setWasmPaths(wasmBase);
  const order: Array<'webgl' | 'wasm'> = request === 'auto' ? ['webgl', 'wasm'] : [request];
  for (const name of order) {
    if (await tryBackend(name)) return describe(name);
  }
  throw new Error(
    request === 'auto'
      ? 'this browser offers neither WebGL nor WebAssembly to run the model on'
      : `the ${request === 'webgl' ? 'WebGL' : 'WebAssembly'} backend is not available in this browser (?backend=${request})`,
  );
}
