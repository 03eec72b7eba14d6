// The browser's stand-in for src/runtime/index.ts. The page's bundler (bundle.ts) resolves every
// import of the runtime module to this one, so the model, tiling and padding code run unchanged
// on TensorFlow.js's WebGL and WebAssembly backends: `isNative()` is false here, which selects
// the pure-tfjs path of every layer that has a native fast path in Node.
import * as tfjs from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type * as NodeRuntime from '../runtime/index.ts';

export type { Tf, NativeAttr, NativeBackend, Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Tensor5D, Scalar, Rank, TensorLike, Variable } from '../runtime/index.ts';

/**
 * The tfjs namespace (webgl, cpu and wasm backends registered); the page chooses the backend
 * before the first model runs. Typed as Node's namespace: the shared code uses core ops only.
 */
export const tf: NodeRuntime.Tf = tfjs as unknown as NodeRuntime.Tf;

/** Always false in a browser: there is no native TensorFlow backend. */
export function isNative(): boolean {
  return false;
}

/** Always throws: native ops exist only in Node (callers check `isNative()` first). */
export function nativeBackend(): NodeRuntime.NativeBackend {
  throw new Error(`native TensorFlow op requested in a browser (backend '${tfjs.getBackend()}')`);
}

/** Always true: the backends are bundled with the page. */
export function runtimeLoaded(): boolean {
  return true;
}

// The functions above have the signatures of the Node module's: a change there fails here.
const sameShape: Pick<typeof NodeRuntime, 'isNative' | 'nativeBackend' | 'runtimeLoaded'> = { isNative, nativeBackend, runtimeLoaded };
void sameShape;
