// Deblurs opened inputs into an output folder: each source's frames go through its restorer
// and out through a sink that makes the outputs visible only when the source is complete; an
// error anywhere removes that source's partial outputs. With ground truth, PSNR/SSIM per frame
// (the same metrics as evaluation) and of the blurry input.
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../runtime/index.ts';
import { psnrPerImage, ssimPerImage } from '../metrics/index.ts';
import { openInputs, type Frame, type FrameSource } from './frames.ts';
import { sinkFor, type FrameSink } from './sinks.ts';
import { sideBySide } from './side-by-side.ts';
import { restoreFrames, type Restorer, type RestoreOptions } from './run.ts';

/** Image extensions looked for as ground truth. */
const GT_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff'];

/** Options of {@link deblurSource}. */
export interface DeblurOptions extends RestoreOptions {
  readonly outDir: string;
  /** Folder of sharp frames named as the inputs' frames (`DIR/<frame>.png` or `DIR/<source>/<frame>.png`). */
  readonly gtDir?: string;
  /** Also write input | output (| gt) images to `outDir/side-by-side/`. */
  readonly sideBySide?: boolean;
  /** Videos: also keep the restored frames as PNGs. */
  readonly keepFrames?: boolean;
  /** Called after each restored frame of a source. */
  readonly onFrame?: (source: FrameSource, done: number) => void;
}

/** Metrics of one frame against its ground truth. */
export interface FrameMetrics {
  readonly frame: string;
  readonly psnr: number;
  readonly ssim: number;
  readonly inputPsnr: number;
}

/** What one source produced. */
export interface SourceResult {
  readonly input: string;
  readonly outputs: readonly string[];
  readonly frames: number;
  readonly seconds: number;
  /** Per-frame metrics (with ground truth). */
  readonly metrics?: readonly FrameMetrics[];
}

/** The ground-truth file of a frame, or an error that says where it was looked for. */
export function gtFileOf(gtDir: string, source: FrameSource, frame: string): string {
  const dirs = [gtDir, path.join(gtDir, source.name)];
  for (const d of dirs) for (const ext of GT_EXTENSIONS) {
    const f = path.join(d, frame + ext);
    if (fs.existsSync(f)) return f;
  }
  throw new Error(`no ground truth for frame ${frame} of ${source.path}: looked for ${frame}{${GT_EXTENSIONS.join(',')}} in ${dirs.join(' and ')}`);
}

async function readGt(file: string, like: Frame): Promise<Frame> {
  const [src] = await openInputs([file]);
  for await (const f of src!.frames()) {
    if (f.width !== like.width || f.height !== like.height) throw new Error(`ground truth ${file} is ${f.width}x${f.height}, the input frame ${like.name} is ${like.width}x${like.height}`);
    return f;
  }
  throw new Error(`ground truth ${file} has no frame`);
}

function frameMetrics(name: string, gt: Frame, out: Float32Array, input: Frame): FrameMetrics {
  const [psnr, ssim, inputPsnr] = tf.tidy(() => {
    const shape: [number, number, number, number] = [1, gt.height, gt.width, 3];
    const g = tf.tensor4d(gt.rgb, shape);
    const o = tf.tensor4d(out, shape);
    return tf.concat([psnrPerImage(g, o), ssimPerImage(g, o), psnrPerImage(g, tf.tensor4d(input.rgb, shape))]).dataSync();
  }) as unknown as [number, number, number];
  return { frame: name, psnr, ssim, inputPsnr };
}

/**
 * Restores every frame of `source` with `restorer` into `opts.outDir`; the outputs appear only
 * when the whole source is done.
 */
export async function deblurSource(restorer: Restorer, source: FrameSource, opts: DeblurOptions): Promise<SourceResult> {
  const t0 = Date.now();
  const sinks: FrameSink[] = [sinkFor(source, opts.outDir, { keepFrames: opts.keepFrames ?? false })];
  if (opts.sideBySide) sinks.push(sinkFor(source, path.join(opts.outDir, 'side-by-side'), { keepFrames: opts.keepFrames ?? false }));
  const metrics: FrameMetrics[] = [];
  let done = 0;
  try {
    await restoreFrames(
      restorer,
      source,
      async ({ input, rgb }) => {
        const out: Frame = { name: input.name, width: input.width, height: input.height, rgb };
        const gt = opts.gtDir === undefined ? undefined : await readGt(gtFileOf(opts.gtDir, source, input.name), input);
        if (gt) metrics.push(frameMetrics(input.name, gt, rgb, input));
        await sinks[0]!.write(out);
        if (sinks[1]) await sinks[1].write(sideBySide(input.name, gt ? [input.rgb, rgb, gt.rgb] : [input.rgb, rgb], input.width, input.height));
        opts.onFrame?.(source, ++done);
      },
      opts,
    );
    const outputs: string[] = [];
    for (const s of sinks) outputs.push(...(await s.finish()));
    return { input: source.path, outputs, frames: done, seconds: (Date.now() - t0) / 1000, ...(opts.gtDir === undefined ? {} : { metrics }) };
  } catch (err) {
    await Promise.allSettled(sinks.map((s) => s.abort()));
    throw err;
  }
}

/** Mean PSNR/SSIM of frame metrics (and of the blurry inputs). */
export function meanMetrics(all: readonly FrameMetrics[]): { psnr: number; ssim: number; inputPsnr: number } {
  const mean = (f: (m: FrameMetrics) => number) => all.reduce((s, m) => s + f(m), 0) / all.length;
  return { psnr: mean((m) => m.psnr), ssim: mean((m) => m.ssim), inputPsnr: mean((m) => m.inputPsnr) };
}
