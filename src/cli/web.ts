// `simdeblur web`: writes a static site that deblurs photos in the browser with a model of ours
// (docs/web.md), and optionally serves it on 127.0.0.1 for a quick look.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from './exit.ts';
import { intOption, parseCommandLine } from './args.ts';
import { MODEL_SOURCE_OPTIONS } from './deblur.ts';

export const WEB_USAGE = `usage: simdeblur web --out DIR [model] [--tile N [--overlap M]]
       simdeblur web --serve [--port P] [--out DIR] [model] [--tile N [--overlap M]]

  --out DIR      write the site there: index.html, simdeblur-web.js, model.json, weights.safetensors,
                 and tfjs's .wasm files (other files in DIR are left alone)
  --serve        serve the site on http://127.0.0.1:P/ until Ctrl-C (built into a temporary folder
                 unless --out is given); --port 0 (the default) takes any free port
  model          --checkpoint CKPT_DIR | --model NAME [--set model.k=v]... --weights FILE [--key K];
                 [--set key=value]... [--ema]. None: the shipped demonstration image model (demo-nafnet)
  --tile N       the page restores in N x N tiles (default 256) blended over --overlap M pixels
                 (default min(32, N/4)); a page URL may ask for others (?tile=N)`;

/** The page's tile side unless --tile says otherwise: small enough for a phone's GPU memory. */
const DEFAULT_TILE = 256;

export async function webCommand(args: string[]): Promise<number> {
  const { values: v } = parseCommandLine(
    {
      args,
      options: {
        out: { type: 'string' },
        serve: { type: 'boolean', default: false },
        port: { type: 'string' },
        ...MODEL_SOURCE_OPTIONS,
      },
    },
    WEB_USAGE,
  );
  const usage = (msg: string) => new UsageError(`${msg}\n${WEB_USAGE}`);
  if (v.out === undefined && !v.serve) throw usage('give --out DIR, --serve, or both');
  if (v.port !== undefined && !v.serve) throw usage('--port needs --serve');
  if (v.model !== undefined && v.checkpoint !== undefined) throw usage('give either --checkpoint or --model, not both');
  if (v.model !== undefined && v.weights === undefined) throw usage(`--model ${v.model} needs --weights FILE`);
  if (v.weights !== undefined && v.model === undefined) throw usage('--weights needs --model NAME (a checkpoint directory is given with --checkpoint)');
  if (v.key !== undefined && v.weights === undefined) throw usage('--key needs --weights');
  if (v.set.length > 0 && v.model === undefined && v.checkpoint === undefined) throw usage('--set needs --checkpoint or --model');
  if (v.overlap !== undefined && v.tile === undefined) throw usage('--overlap needs --tile');
  const port = intOption('port', v.port, 0, 65535) ?? 0;
  const { defaultOverlap } = await import('../infer/tile.ts');
  const tileSize = intOption('tile', v.tile, 2) ?? DEFAULT_TILE;
  const overlap = intOption('overlap', v.overlap, 0) ?? defaultOverlap(tileSize);
  if (overlap >= tileSize) throw usage(`--overlap (${overlap}) must be smaller than --tile (${tileSize})`);

  // The model, resolved as `simdeblur deblur` resolves it; configuration problems are usage errors.
  const { fromExperiment, fromModelName, readExperiment, experimentFileOf, shippedWeightsDir, DEMO_MODELS } = await import('../infer/load.ts');
  const config = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
  };
  let source;
  if (v.checkpoint !== undefined) {
    const dir = v.checkpoint;
    if (!fs.existsSync(path.join(dir, 'weights.safetensors'))) throw new UsageError(`--checkpoint ${dir}: no weights.safetensors in it (a checkpoint directory, e.g. work_dirs/<run>/checkpoints/iter_1000)`);
    source = config(() => fromExperiment(readExperiment(experimentFileOf(dir), v.set), dir, { ema: v.ema }));
  } else if (v.model !== undefined) {
    const weights = { file: v.weights!, ...(v.key === undefined ? {} : { key: v.key }) };
    if (!fs.existsSync(weights.file)) throw new UsageError(`--weights ${weights.file}: no such file`);
    source = config(() => fromModelName(v.model!, v.set, weights, { ema: v.ema }));
  } else {
    if (v.ema) throw usage('--ema needs --checkpoint or --model');
    const dir = path.join(shippedWeightsDir(), DEMO_MODELS.image);
    source = config(() => fromExperiment(readExperiment(path.join(dir, 'experiment.json')), dir, { ema: false, label: `${DEMO_MODELS.image} (shipped demonstration model)` }));
  }

  const { buildSite } = await import('../web/site.ts');
  const temp = v.out === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'simdeblur-web-')) : undefined;
  const outDir = v.out ?? temp!;
  try {
    const t0 = Date.now();
    const site = await buildSite({ outDir, source, tile: { tile: tileSize, overlap }, log: (line) => process.stderr.write(`${line}\n`) });
    const mb = site.files.reduce((n, f) => n + f.bytes, 0) / 2 ** 20;
    process.stderr.write(`wrote ${site.files.length} files (${mb.toFixed(1)} MB) to ${outDir} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${site.manifest.kind} model ${site.manifest.model.type}\n`);
    if (site.manifest.kind === 'video') process.stderr.write('a video model: the page takes the frames of a short clip as images (video files are not decoded in the page)\n');
    if (!v.serve) {
      if (v.out !== undefined) console.log(path.join(outDir, 'index.html'));
      return 0;
    }
    const { serveDirectory } = await import('../web/serve.ts');
    let server;
    try {
      server = await serveDirectory(outDir, { port });
    } catch (err) {
      throw new Error(`cannot serve on 127.0.0.1:${port}: ${err instanceof Error ? err.message : String(err)}`);
    }
    console.log(server.url);
    process.stderr.write('serving on the loopback interface only; Ctrl-C stops\n');
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    process.stderr.write('stopped\n');
    return 0;
  } finally {
    if (temp !== undefined) fs.rmSync(temp, { recursive: true, force: true });
  }
}
