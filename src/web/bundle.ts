// Bundles the page's script with esbuild, at the time a site is built: from the TypeScript
// sources in a checkout, from the compiled dist/ in an installed package (whichever this module
// is running from), so the page always runs the same model, tiling and padding modules as
// `simdeblur deblur`. Two substitutions make those modules run in a browser:
//   - src/runtime/index.ts (which loads the native backend) becomes src/web/browser-runtime.ts;
//   - Node's built-in modules, which the shared modules use only in functions the page never
//     calls (reading files), become stand-ins that throw if they are ever used.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

const here = fileURLToPath(import.meta.url);
/** '.ts' when running from the sources, '.js' from dist/. */
const ext = path.extname(here);
const webDir = path.dirname(here);

/** The page script's entry module. */
export const PAGE_ENTRY = path.join(webDir, 'page', `main${ext}`);
const RUNTIME_MODULE = path.resolve(webDir, '..', 'runtime', `index${ext}`);
const BROWSER_RUNTIME = path.join(webDir, `browser-runtime${ext}`);

/** The WebAssembly binaries of tfjs-backend-wasm, which the page loads from its own folder. */
export function wasmFiles(): string[] {
  const dist = path.join(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  return ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'].map((f) => path.join(dist, f));
}

const browserSubstitutes: Plugin = {
  name: 'simdeblur-browser',
  setup(build) {
    build.onResolve({ filter: /runtime[\\/]index\.[jt]s$/ }, (args) =>
      path.resolve(args.resolveDir, args.path) === RUNTIME_MODULE ? { path: BROWSER_RUNTIME } : undefined,
    );
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-builtin' }));
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
      loader: 'js',
      contents: `module.exports = new Proxy({}, { get(_, key) {
        if (typeof key === 'symbol' || key === '__esModule') return undefined;
        return () => { throw new Error(${JSON.stringify(args.path)} + '.' + String(key) + ' is not available in a browser'); };
      } });`,
    }));
  },
};

/** The page's script as one ES module (minified), with the warnings esbuild printed. */
export async function bundlePage(opts: { readonly minify?: boolean } = {}): Promise<{ readonly code: string; readonly warnings: readonly string[] }> {
  const esbuild = await import('esbuild');
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [PAGE_ENTRY],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2020',
      minify: opts.minify ?? true,
      legalComments: 'none',
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"' },
      plugins: [browserSubstitutes],
    });
  } catch (err) {
    throw new Error(`bundling the page script from ${PAGE_ENTRY} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error(`bundling ${PAGE_ENTRY} produced no output`);
  const warnings = result.warnings.map((w) => `${w.location ? `${w.location.file}:${w.location.line}: ` : ''}${w.text}`);
  return { code: file.text, warnings };
}
