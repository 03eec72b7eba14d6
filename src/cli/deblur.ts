// `simdeblur deblur INPUT... --out DIR [weights] [options]`: restores images, folders of frames
// and videos with a checkpoint, a zoo model and a weights file, or the shipped demonstration
// models. Everything that can be checked without the native runtime (arguments, configuration,
// inputs) is checked before it loads.
import fs from 'node:fs';
import path from 'node:path';
import { EXIT_INTERRUPTED, UsageError } from './exit.ts';
import { intOption, parseCommandLine } from './args.ts';
import { defaultOverlap } from '../infer/tile.ts';
import { loadRecipe } from './recipe-file.ts';
import { formatDuration } from '../engine/hooks/progress.ts';

export const DEBLUR_USAGE = `usage: simdeblur deblur INPUT... --out DIR
    [--checkpoint CKPT_DIR | RECIPE.ts --checkpoint CKPT_DIR | --model NAME [--set model.k=v]... --weights FILE [--key K]]
    [--set key=value]... [--tile N [--overlap M]] [--tlc [--tlc-size N]] [--ema] [--eager] [--gt DIR] [--side-by-side] [--frames] [--json]

  INPUT          image files (PNG, JPEG, WebP, TIFF), folders of frames, videos (.mp4 .mov .mkv .avi)
  --out DIR      outputs keep the input's name: DIR/<image>.png, DIR/<folder>/<frame>.png, DIR/<video>.mp4
  no weights     the shipped demonstration models: demo-nafnet for images, demo-dbn for frame folders and videos
  --tile N       restore in N x N tiles blended over --overlap M pixels (default 32): bounded memory
  --tlc          local instead of global pooling/attention (NAFNet, Restormer), window 1.5x the training crop
                 (the experiment's crop, or --tlc-size N)
  --ema          the exponential moving average of the weights (our checkpoints; params_ema of a .pth)
  --eager        run the model op by op, not as one TensorFlow graph per window shape (traced on its first window)
  --gt DIR       PSNR/SSIM against sharp frames of the same names (DIR/<frame>.png or DIR/<input name>/<frame>.png)
  --side-by-side also write input | output (| gt) to DIR/side-by-side/
  --frames       videos: also keep the restored frames as PNGs in DIR/<video>/
  --json         a final JSON line {frames, seconds, msPerFrame, peakRssMb, psnr?, ...}`;

const RECIPE = /\.[cm]?[jt]sx?$/;

/** The options that choose the model and how frames are tiled, shared with `simdeblur web`. */
export const MODEL_SOURCE_OPTIONS = {
  checkpoint: { type: 'string' },
  model: { type: 'string' },
  weights: { type: 'string' },
  key: { type: 'string' },
  set: { type: 'string', multiple: true, default: [] as string[] },
  ema: { type: 'boolean', default: false },
  tile: { type: 'string' },
  overlap: { type: 'string' },
} as const;

export async function deblurCommand(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandLine(
    {
      args,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        ...MODEL_SOURCE_OPTIONS,
        tlc: { type: 'boolean', default: false },
        eager: { type: 'boolean', default: false },
        'tlc-size': { type: 'string' },
        gt: { type: 'string' },
        'side-by-side': { type: 'boolean', default: false },
        frames: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    },
    DEBLUR_USAGE,
  );
  const usage = (msg: string) => new UsageError(`${msg}\n${DEBLUR_USAGE}`);
  const recipe = v.checkpoint !== undefined && positionals[0] !== undefined && RECIPE.test(positionals[0]) ? positionals[0] : undefined;
  const inputs = recipe === undefined ? positionals : positionals.slice(1);
  if (inputs.length === 0) throw usage('no INPUT given');
  if (v.out === undefined) throw usage('--out DIR is required');
  if (v.model !== undefined && v.checkpoint !== undefined) throw usage('give either --checkpoint or --model, not both');
  if (v.model !== undefined && v.weights === undefined) throw usage(`--model ${v.model} needs --weights FILE`);
  if (v.weights !== undefined && v.model === undefined) throw usage('--weights needs --model NAME (a checkpoint directory is given with --checkpoint)');
  if (v.key !== undefined && v.weights === undefined) throw usage('--key needs --weights');
  if (v.set.length > 0 && v.model === undefined && v.checkpoint === undefined) throw usage('--set needs --checkpoint or --model');
  if (v.overlap !== undefined && v.tile === undefined) throw usage('--overlap needs --tile');
  if (v['tlc-size'] !== undefined && !v.tlc) throw usage('--tlc-size needs --tlc');
  const tile = intOption('tile', v.tile, 2);
  const overlap = intOption('overlap', v.overlap, 0) ?? (tile === undefined ? undefined : defaultOverlap(tile));
  if (tile !== undefined && overlap! >= tile) throw usage(`--overlap (${overlap}) must be smaller than --tile (${tile})`);
  const tlcSize = intOption('tlc-size', v['tlc-size'], 1);
  if (v.gt !== undefined && !fs.statSync(v.gt, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--gt ${v.gt}: not a directory`);

  // Configuration and inputs, before the runtime loads.
  const { fromExperiment, fromModelName, readExperiment, experimentFileOf, shippedWeightsDir, DEMO_MODELS } = await import('../infer/load.ts');
  const { decodeRecipe } = await import('./recipe-file.ts');
  const { TLC_MODELS } = await import('../models/tlc.ts');
  type Source = ReturnType<typeof fromExperiment>;
  // Configuration problems (a bad experiment.json, an unknown model or option) are usage errors.
  const config = (fn: () => Source): Source => {
    try {
      return fn();
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
  };
  let explicit: Source | undefined;
  if (v.checkpoint !== undefined) {
    const dir = v.checkpoint;
    if (!fs.existsSync(path.join(dir, 'weights.safetensors'))) throw new UsageError(`--checkpoint ${dir}: no weights.safetensors in it (a checkpoint directory, e.g. work_dirs/<run>/checkpoints/iter_1000)`);
    if (recipe !== undefined) {
      const exp = decodeRecipe(await loadRecipe(recipe), recipe, v.set);
      if (!exp) return 2;
      explicit = config(() => fromExperiment(exp, dir, { ema: v.ema }));
    } else {
      explicit = config(() => fromExperiment(readExperiment(experimentFileOf(dir), v.set), dir, { ema: v.ema }));
    }
  } else if (v.model !== undefined) {
    const weights = { file: v.weights!, ...(v.key === undefined ? {} : { key: v.key }) };
    if (!fs.existsSync(weights.file)) throw new UsageError(`--weights ${weights.file}: no such file`);
    explicit = config(() => fromModelName(v.model!, v.set, weights, { ema: v.ema }));
  }
  const { openInputs } = await import('../infer/frames.ts');
  const { checkOutputs } = await import('../infer/sinks.ts');
  const sources = await openInputs(inputs);
  try {
    checkOutputs(sources, v.out, { keepFrames: v.frames });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  // Without weights: the shipped image model for images, the video model for folders and videos.
  const demos = new Map<keyof typeof DEMO_MODELS, Source>();
  const demo = (kind: keyof typeof DEMO_MODELS): Source => {
    const dir = path.join(shippedWeightsDir(), DEMO_MODELS[kind]);
    if (!demos.has(kind)) demos.set(kind, config(() => fromExperiment(readExperiment(path.join(dir, 'experiment.json')), dir, { ema: false, label: `${DEMO_MODELS[kind]} (shipped demonstration model)` })));
    return demos.get(kind)!;
  };
  const chosen = sources.map((s) => explicit ?? demo(s.kind === 'image' ? 'image' : 'video'));
  const tlcOverrides = (from: Source): Record<string, unknown> => {
    if (!v.tlc) return {};
    if (!TLC_MODELS.has(from.model.type)) throw new UsageError(`--tlc: model ${from.model.type} has no global operation to convert (it applies to ${[...TLC_MODELS].join(', ')})`);
    const size = tlcSize !== undefined ? [tlcSize, tlcSize] : from.trainCrop;
    if (size === undefined) throw new UsageError(`--tlc: ${from.label} has no training crop in its experiment; give --tlc-size N (the training crop's side)`);
    return { tlc: { trainSize: [size[0], size[1]] } };
  };
  const overrides = new Map(chosen.map((from) => [from, tlcOverrides(from)]));

  // The runtime loads from here on.
  const { loadRestorer } = await import('../infer/restorer.ts');
  const { deblurSource, meanMetrics } = await import('../infer/deblur.ts');
  const live = process.stderr.isTTY === true && !v.json;
  const t0 = Date.now();
  const results: Array<Awaited<ReturnType<typeof deblurSource>>> = [];
  const loaded = new Map<Source, ReturnType<typeof loadRestorer>>();
  fs.mkdirSync(v.out, { recursive: true });
  // Ctrl-C stops between model runs; the input being restored leaves no partial output.
  const stop = new AbortController();
  const interrupt = () => stop.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  try {
    for (const [i, source] of sources.entries()) {
      const from = chosen[i]!;
      let restorer = loaded.get(from);
      if (!restorer) {
        restorer = loadRestorer(from, overrides.get(from), { graph: !v.eager });
        loaded.set(from, restorer);
        if (!v.json) process.stderr.write(`model: ${from.model.type} from ${from.label}${v.tlc ? ' (TLC)' : ''}\n`);
      }
      const started = Date.now();
      let tiles = '';
      let frameCount = 0;
      const draw = (done: number) => {
        if (!live) return;
        const rate = done / Math.max(1e-3, (Date.now() - started) / 1000);
        process.stderr.write(`\r\x1b[2K${source.path}: frame ${done}/${source.count}${tiles} ${rate.toFixed(2)} frames/s ETA ${formatDuration((source.count - done) / rate)}`);
      };
      const r = await deblurSource(restorer, source, {
        outDir: v.out,
        ...(tile === undefined ? {} : { tile: { tile, overlap: overlap! } }),
        ...(v.gt === undefined ? {} : { gtDir: v.gt }),
        sideBySide: v['side-by-side'],
        keepFrames: v.frames,
        signal: stop.signal,
        onTile: (d, n) => {
          tiles = ` tile ${d}/${n}`;
          draw(frameCount);
        },
        onFrame: (_, done) => {
          tiles = '';
          frameCount = done;
          draw(done);
        },
      });
      if (live) process.stderr.write('\r\x1b[2K');
      results.push(r);
      if (!v.json) {
        const m = r.metrics && r.metrics.length > 0 ? meanMetrics(r.metrics) : undefined;
        const score = m ? `, PSNR ${m.psnr.toFixed(2)} dB (input ${m.inputPsnr.toFixed(2)} dB), SSIM ${m.ssim.toFixed(4)}` : '';
        console.log(`${source.path} -> ${r.outputs.join(', ')} (${r.frames} frame${r.frames === 1 ? '' : 's'}, ${((r.seconds * 1000) / r.frames).toFixed(0)} ms/frame${score})`);
      }
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
    if (live) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`simdeblur deblur: interrupted; ${results.length} of ${sources.length} inputs done (${results.flatMap((r) => r.outputs).join(', ') || 'no outputs'}), nothing partial kept\n`);
    return EXIT_INTERRUPTED;
  } finally {
    process.off('SIGINT', interrupt);
    for (const r of loaded.values()) r.dispose();
  }
  const frames = results.reduce((n, r) => n + r.frames, 0);
  const seconds = (Date.now() - t0) / 1000;
  // Per frame: the restoring alone (not loading the runtime and the weights).
  const restoring = results.reduce((s, r) => s + r.seconds, 0);
  const all = results.flatMap((r) => r.metrics ?? []);
  const m = all.length > 0 ? meanMetrics(all) : undefined;
  const summary = {
    frames,
    seconds,
    msPerFrame: (restoring * 1000) / Math.max(1, frames),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    ...(m ? { psnr: m.psnr, ssim: m.ssim, inputPsnr: m.inputPsnr } : {}),
    outputs: results.flatMap((r) => r.outputs),
  };
  if (v.json) console.log(JSON.stringify(summary));
  else if (m && results.length > 1) console.log(`overall: ${frames} frames, PSNR ${m.psnr.toFixed(2)} dB (input ${m.inputPsnr.toFixed(2)} dB), SSIM ${m.ssim.toFixed(4)}`);
  return 0;
}
