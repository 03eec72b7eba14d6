// TensorBoard event files (default `<workDir>/tensorboard`): training loss and its terms, the
// learning rate and throughput every `every` steps; validation PSNR/SSIM overall and per
// video, and the validation sample images (input | output | ground truth).
import path from 'node:path';
import { tap } from 'rxjs';
import { SummaryWriter } from '../../io/tensorboard.ts';
import { perRun, positiveInt, type Hook } from './operators.ts';

function toRgb8(rgb: Float32Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, rgb[i]! || 0)) * 255);
  return out;
}

export interface TensorboardOptions {
  /** Default `<workDir>/tensorboard`. */
  readonly logDir?: string;
  /** Step period in iterations (default 10). */
  readonly every?: number;
}

export function tensorboard(opts: TensorboardOptions = {}): Hook {
  const every = positiveInt('tensorboard', 'every', opts.every ?? 10);
  return perRun(() => {
    let writer: SummaryWriter | undefined;
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
            for (const img of ev.images) w.image(`val_images/${img.name}`, { rgb: toRgb8(img.rgb), height: img.height, width: img.width }, ev.iteration);
            w.flush();
            break;
          case 'epoch':
            w.scalar('train/epoch_loss', ev.meanLoss, ev.iteration);
            break;
          case 'end':
            w.flush();
            break;
        }
      },
      finalize: () => writer?.close(),
    });
  });
}
