// TensorBoard event files (default `<workDir>/tensorboard`): training loss and its terms, the
// learning rate and throughput every `every` steps; validation PSNR/SSIM overall and per
// video, and the validation sample images (input | output | ground truth).
import path from 'node:path';
import { tap } from 'rxjs';
import { SummaryWriter } from '../../io/tensorboard.ts';
import { encodeImage } from '../../synth/encode.ts';
import type { ValidationEvent } from '../events.ts';
import { perRun, positiveInt, type Hook } from './operators.ts';

function toRgb8(rgb: Float32Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, rgb[i]! || 0)) * 255);
  return out;
}

/** Options of the `tensorboard` hook. */
export interface TensorboardOptions {
  /** Default `<workDir>/tensorboard`. */
  readonly logDir?: string;
  /** Step period in iterations (default 10). */
  readonly every?: number;
}

/**
 * A hook that writes TensorBoard event files (default `<workDir>/tensorboard`): training loss, its
 * terms, learning rate and throughput every `every` steps; validation PSNR/SSIM overall and per video,
 * and the validation images.
 */
export function tensorboard(opts: TensorboardOptions = {}): Hook {
  const every = positiveInt('tensorboard', 'every', opts.every ?? 10);
  return perRun(() => {
    let writer: SummaryWriter | undefined;
    // sharp encodes PNGs asynchronously: image writes are chained here in event order, and the
    // writer is closed only after the last of them.
    let images: Promise<void> = Promise.resolve();
    const writeImages = (w: SummaryWriter, ev: ValidationEvent): void => {
      const pending = ev.images.map((img) => ({ tag: `val_images/${img.name}`, rgb: toRgb8(img.rgb), width: img.width, height: img.height }));
      images = images.then(async () => {
        const pngs = await Promise.all(pending.map((img) => encodeImage(img.rgb, img.width, img.height, { format: 'png' })));
        pending.forEach((img, i) => w.image(img.tag, pngs[i]!, ev.iteration));
        w.flush();
      });
      ev.ctx.wait(images);
    };
    return tap({
      next(ev) {
        writer ??= new SummaryWriter(opts.logDir ?? path.join(ev.ctx.setup.workDir, 'tensorboard'));
        const w = writer;
        switch (ev.type) {
          case 'step':
            if (ev.iteration % every !== 0) break;
            w.scalar('train/loss', ev.loss, ev.iteration);
            for (const [k, v] of Object.entries(ev.terms)) w.scalar(`train/${k}`, v, ev.iteration);
            w.scalar('train/lr', ev.lr, ev.iteration);
            w.scalar('train/images_per_sec', ev.imagesPerSec, ev.iteration);
            break;
          case 'validation':
            w.scalar('val/psnr', ev.psnr, ev.iteration);
            w.scalar('val/ssim', ev.ssim, ev.iteration);
            for (const [video, m] of Object.entries(ev.perVideo)) w.scalar(`val_video/${video}/psnr`, m.psnr, ev.iteration);
            if (ev.images.length === 0) w.flush();
            else writeImages(w, ev);
            break;
          case 'epoch':
            w.scalar('train/epoch_loss', ev.meanLoss, ev.iteration);
            break;
          case 'end':
            w.flush();
            break;
        }
      },
      finalize: () => {
        const w = writer;
        // A failed image write has already failed the run (through ctx.wait); the records
        // before it are still worth closing the file for.
        if (w) void images.catch(() => undefined).then(() => w.close());
      },
    });
  });
}
