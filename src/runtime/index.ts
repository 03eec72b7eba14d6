// The only module that loads a TensorFlow.js backend package. Everything else imports `tf`
// from here, so that one copy of tfjs-core (the CommonJS one the native addon registers its
// backend with) is used throughout. The backend loads on first use of `tf`, not on import:
// building and decoding an experiment (and reporting its mistakes) never waits for the native
// library.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as TfNode from '@tensorflow/tfjs-node';
import { loadQuietly } from './quiet.ts';

/** The type of the tfjs namespace as the native package provides it. */
export type Tf = typeof TfNode;
export type BackendChoice = 'gpu' | 'native' | 'cpu';
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Tensor5D, Scalar, Rank, TensorLike, Variable } from '@tensorflow/tfjs';

/** Which TensorFlow.js backend is in use and what is behind it. */
export interface RuntimeInfo {
  /** tfjs backend name: 'tensorflow' for the native runtime, 'cpu' for pure JS. */
  readonly backend: string;
  /** Which package provides it. */
  readonly package: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node' | '@tensorflow/tfjs';
  /** Version of the TensorFlow C library behind the native backend; null for pure JS. */
  readonly tfVersion: string | null;
  readonly tfjsVersion: string;
  readonly devices: readonly string[];
  readonly threads: { readonly cpus: number; readonly intraOp: string; readonly interOp: string };
  readonly onednn: boolean;
  /** Why a better backend was not used (empty when the best one loaded). */
  readonly fallbacks: readonly string[];
}

export const SETUP_COMMAND = 'npx simdeblur setup';
const require = createRequire(import.meta.url);

// TensorFlow's C++ INFO logging is chatty; keep warnings unless the user chose. The lines it
// prints while loading, before it reads the level, are filtered by loadQuietly.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';

function addonPresent(pkg: string): boolean {
  try {
    const dir = path.dirname(require.resolve(`${pkg}/package.json`));
    const libDir = path.join(dir, 'lib');
    return fs.existsSync(libDir) && fs.readdirSync(libDir).some((d) => fs.existsSync(path.join(libDir, d, 'tfjs_binding.node')));
  } catch {
    return false;
  }
}

function parseChoice(raw: string | undefined): BackendChoice | undefined {
  if (raw === undefined || raw === '' || raw === 'auto') return undefined;
  if (raw === 'gpu' || raw === 'native' || raw === 'cpu') return raw;
  if (raw === 'tensorflow') return 'native';
  throw new Error(`SIMDEBLUR_BACKEND=${raw}: expected one of gpu, native, cpu (or auto)`);
}

interface Loaded {
  readonly tf: Tf;
  readonly pkg: RuntimeInfo['package'];
  readonly fallbacks: string[];
}

function loadNative(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Tf {
  if (!addonPresent(pkg)) throw new Error(`${pkg}: native addon not built (run \`${SETUP_COMMAND}${pkg.endsWith('gpu') ? ' --gpu' : ''}\`)`);
  return loadQuietly(() => require(pkg) as Tf);
}

function load(): Loaded {
  const choice = parseChoice(process.env.SIMDEBLUR_BACKEND);
  const fallbacks: string[] = [];
  const attempts: Array<RuntimeInfo['package']> =
    choice === 'gpu' ? ['@tensorflow/tfjs-node-gpu']
    : choice === 'native' ? ['@tensorflow/tfjs-node']
    : choice === 'cpu' ? ['@tensorflow/tfjs']
    : ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs'];
  for (const pkg of attempts) {
    try {
      if (pkg === '@tensorflow/tfjs') {
        const tf = require(pkg) as Tf;
        tf.setBackend('cpu');
        return { tf, pkg, fallbacks };
      }
      const tf = loadNative(pkg);
      if (pkg.endsWith('gpu') && choice !== 'gpu' && !usingGpu(tf)) {
        // A GPU build with no visible GPU still works, but say so.
        fallbacks.push(`${pkg}: loaded, but TensorFlow found no GPU; running on its CPU kernels`);
      }
      return { tf, pkg, fallbacks };
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      if (choice !== undefined) throw new Error(`SIMDEBLUR_BACKEND=${process.env.SIMDEBLUR_BACKEND}: cannot load ${pkg}: ${msg}`);
      if (pkg !== '@tensorflow/tfjs-node-gpu' || addonPresent(pkg)) fallbacks.push(`${pkg}: ${msg}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could be loaded:\n  ${fallbacks.join('\n  ')}`);
}

function usingGpu(tf: Tf): boolean {
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return backend.isUsingGpuDevice === true;
}

let loaded: Loaded | undefined;
// A backend that failed to load is not tried again on every use of `tf`: the same error is thrown.
let loadError: Error | undefined;

// Exists for the tests that check a command reports bad configuration without loading TensorFlow:
// set to 1, the first use of `tf` throws instead of loading it.
const FAIL_IF_LOADS = 'SIMDEBLUR_FAIL_IF_RUNTIME_LOADS';

function ensureLoaded(): Loaded {
  if (loaded !== undefined) return loaded;
  if (loadError !== undefined) throw loadError;
  if (process.env[FAIL_IF_LOADS] === '1') throw new Error(`${FAIL_IF_LOADS}=1: the TensorFlow runtime was about to load`);
  let l: Loaded;
  try {
    l = load();
  } catch (err) {
    loadError = err instanceof Error ? err : new Error(String(err));
    throw loadError;
  }
  loaded = l;
  // From here on every importer's `tf` binding is the namespace itself, not the stand-in.
  tf = l.tf;
  if (l.pkg === '@tensorflow/tfjs' && process.env.SIMDEBLUR_BACKEND !== 'cpu') {
    const reasons = l.fallbacks.length > 0 ? `\n  ${l.fallbacks.join('\n  ')}` : '';
    process.emitWarning(
      `simdeblur is running on the pure-JavaScript backend, 20-40x slower on convolutions and ` +
        `800x+ slower on their gradients. Install the native TensorFlow runtime with \`${SETUP_COMMAND}\`.${reasons}`,
      { code: 'SIMDEBLUR_SLOW_BACKEND' },
    );
  }
  return l;
}

/**
 * Stands in for the namespace until the backend is loaded: the first property read, `in` test
 * or key listing loads it. Symbol and `then` reads answer as the namespace would (it has
 * neither) without loading, so inspecting or awaiting the value does not pull TensorFlow in.
 */
function lazyNamespace(): Tf {
  const real = (): object => ensureLoaded().tf;
  return new Proxy({} as Tf, {
    get: (_t, key) => (loaded === undefined && (typeof key === 'symbol' || key === 'then') ? undefined : Reflect.get(real(), key)),
    set: (_t, key, value) => Reflect.set(real(), key, value),
    has: (_t, key) => Reflect.has(real(), key),
    ownKeys: () => Reflect.ownKeys(real()),
    // Reported as configurable: a proxy may not claim a non-configurable property its (empty) target lacks.
    getOwnPropertyDescriptor: (_t, key) => {
      const d = Reflect.getOwnPropertyDescriptor(real(), key);
      return d === undefined ? undefined : { ...d, configurable: true };
    },
    defineProperty: (_t, key, d) => Reflect.defineProperty(real(), key, d),
    deleteProperty: (_t, key) => Reflect.deleteProperty(real(), key),
  });
}

/**
 * The tfjs namespace, bound to the chosen backend. The backend loads on first use; until then
 * this is a stand-in that loads it, after which the binding is the namespace itself.
 */
export let tf: Tf = lazyNamespace();

/** Whether the TensorFlow.js backend has been loaded (by a first use of `tf` or of this module's functions). */
export function runtimeLoaded(): boolean {
  return loaded !== undefined;
}

/** Whether the native TensorFlow backend (rather than pure JavaScript) is in use. */
export function isNative(): boolean {
  return tf.getBackend() === 'tensorflow';
}

/** The native backend object, for running TensorFlow ops by name. Throws on pure JS. */
export interface NativeAttr {
  readonly name: string;
  readonly type: number;
  readonly value: boolean | number | Array<number> | string | Array<string>;
}
export interface NativeBackend {
  readonly binding: { readonly TF_ATTR_INT: number; readonly TF_ATTR_STRING: number; readonly TF_ATTR_BOOL: number; readonly TF_ATTR_TYPE: number; readonly TF_ATTR_FLOAT: number; readonly TF_FLOAT: number; readonly TF_INT32: number };
  executeSingleOutput(name: string, attrs: NativeAttr[], inputs: TfNode.Tensor[]): TfNode.Tensor;
  executeMultipleOutputs(name: string, attrs: NativeAttr[], inputs: TfNode.Tensor[], numOutputs: number): TfNode.Tensor[];
}
export function nativeBackend(): NativeBackend {
  if (!isNative()) throw new Error(`native TensorFlow op requested on the '${tf.getBackend()}' backend`);
  return tf.backend() as unknown as NativeBackend;
}

/** Describes the backend in use: package, versions, devices, threads and why a better backend was not used. */
export function runtimeInfo(): RuntimeInfo {
  const native = isNative();
  const gpu = native && usingGpu(tf);
  const nodeVersion = (tf.version as Record<string, string>)['tfjs-node'];
  const tfVersion = native ? ((tf.backend() as unknown as { binding: { TF_Version: string } }).binding.TF_Version ?? null) : null;
  return {
    backend: tf.getBackend(),
    package: ensureLoaded().pkg,
    tfVersion,
    tfjsVersion: nodeVersion ?? tf.version.tfjs ?? tf.version_core,
    devices: gpu ? ['/device:CPU:0', '/device:GPU:0'] : ['/device:CPU:0'],
    threads: {
      cpus: os.cpus().length,
      intraOp: process.env.TF_NUM_INTRAOP_THREADS ?? 'auto',
      interOp: process.env.TF_NUM_INTEROP_THREADS ?? 'auto',
    },
    onednn: native && process.env.TF_ENABLE_ONEDNN_OPTS !== '0',
    fallbacks: ensureLoaded().fallbacks,
  };
}
