// Writes the static site that deblurs in a browser: index.html, the bundled script, the
// WebAssembly binaries of tfjs's wasm backend, the model's weights and its manifest. The model is
// loaded here first, exactly as `simdeblur deblur` loads it, so a site is only written for
// weights that load into the model; its weights are then written back in one format (PyTorch
// layout safetensors) whatever they came from (a checkpoint, its EMA, a .pth file).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { serializeSafetensors } from '../io/safetensors.ts';
import { stateDict } from '../models/model.ts';
import { CDVD_FLOW_WEIGHTS } from '../models/cdvd-tsp.ts';
import { PVDNET_BIMNET_WEIGHTS } from '../models/pvdnet.ts';
import type { ComponentSpec } from '../config/registry.ts';
import type { RestorerSource } from '../infer/load.ts';
import type { TileOptions } from '../infer/tile.ts';
import { bundlePage, wasmFiles } from './bundle.ts';
import { indexHtml, SCRIPT_FILE } from './html.ts';
import { kindOfPlan, MANIFEST_FILE, MANIFEST_VERSION, WEIGHTS_FILE, type SiteManifest } from './manifest.ts';

/** What to build a site from. */
export interface SiteOptions {
  readonly outDir: string;
  readonly source: RestorerSource;
  /** Model option overrides applied when building it (as `loadRestorer`'s). */
  readonly modelOverrides?: Readonly<Record<string, unknown>>;
  /** The page's default tiling. */
  readonly tile: TileOptions;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

/** What was written. */
export interface SiteSummary {
  readonly outDir: string;
  /** Files written, relative to `outDir`, with their sizes in bytes. */
  readonly files: ReadonlyArray<{ readonly name: string; readonly bytes: number }>;
  readonly manifest: SiteManifest;
}

/**
 * The model spec the page builds: without the options that name a file to read a flow network
 * from (a browser reads no files; the site's weights hold that network).
 */
export function pageModelSpec(spec: ComponentSpec): ComponentSpec {
  const fileOptions = new Set([CDVD_FLOW_WEIGHTS.option, PVDNET_BIMNET_WEIGHTS.option]);
  return Object.fromEntries(Object.entries(spec).filter(([key]) => !fileOptions.has(key))) as ComponentSpec;
}

function packageVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

/** Builds the site into `outDir` (created if needed; files of other names in it are left alone). */
export async function buildSite(opts: SiteOptions): Promise<SiteSummary> {
  const log = opts.log ?? (() => undefined);
  const { source, modelOverrides = {} } = opts;
  // The runtime loads here (the model is built and its weights checked), not before.
  const { loadRestorer } = await import('../infer/restorer.ts');
  log(`loading ${source.model.type} from ${source.label}`);
  const restorer = loadRestorer(source, modelOverrides);
  let weights: Uint8Array;
  let manifest: SiteManifest;
  try {
    weights = serializeSafetensors(stateDict(restorer.model, 'pytorch'), { format: 'pt', layout: 'pytorch', model: restorer.model.name });
    manifest = {
      version: MANIFEST_VERSION,
      label: source.label,
      kind: kindOfPlan(restorer.plan),
      model: pageModelSpec({ ...source.model, ...modelOverrides }),
      strategy: source.strategy,
      plan: restorer.plan,
      sizeMultiple: restorer.sizeMultiple,
      align: restorer.align,
      seed: source.seed,
      tile: opts.tile,
      builtWith: packageVersion(),
    };
  } finally {
    restorer.dispose();
  }
  log('bundling the page script');
  const { code, warnings } = await bundlePage();
  for (const w of warnings) log(`bundler warning: ${w}`);

  await fsp.mkdir(opts.outDir, { recursive: true });
  const files: Array<{ name: string; bytes: number }> = [];
  const write = async (name: string, data: string | Uint8Array): Promise<void> => {
    await writeFileAtomic(path.join(opts.outDir, name), data);
    files.push({ name, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength });
  };
  // index.html last: a page never loads before everything it loads is in place.
  for (const file of wasmFiles()) await write(path.basename(file), await fsp.readFile(file));
  await write(WEIGHTS_FILE, weights);
  await write(MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`);
  await write(SCRIPT_FILE, code);
  await write('index.html', indexHtml(source.label));
  return { outDir: opts.outDir, files, manifest };
}
