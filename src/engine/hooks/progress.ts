// Console progress: on a terminal, one live line (bar, loss, lr, images/s, ETA) redrawn in
// place; elsewhere (logs, CI), a plain line every `every` steps. Validation, checkpoints
// and the end of the run always get their own line.
import { tap } from 'rxjs';
import { perRun, positiveInt, type Hook } from './operators.ts';

/** Options of the `progress` hook: the output stream (default stdout) and the plain-line period. */
export interface ProgressOptions {
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Plain-line period in steps (default 10). */
  readonly every?: number;
}

/** Formats a duration in seconds as `mm:ss` or `h:mm:ss` (`--:--` when not finite or negative). */
/** `PSNR 30.12 dB (input 27.50 dB, gain +2.62 dB)`: a PSNR beside what the blurry input scores. */
export function formatPsnr(psnr: number, inputPsnr: number | null): string {
  const base = `PSNR ${psnr.toFixed(2)} dB`;
  if (inputPsnr === null || !Number.isFinite(inputPsnr)) return base;
  const gain = psnr - inputPsnr;
  return `${base} (input ${inputPsnr.toFixed(2)} dB, gain ${gain >= 0 ? '+' : '-'}${Math.abs(gain).toFixed(2)} dB)`;
}

/** A duration as `mm:ss`, or `h:mm:ss` from an hour on (`--:--` when unknown). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (v: number) => String(v).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/**
 * A console progress hook: on a terminal, one live line (bar, loss, learning rate, images/s, ETA)
 * redrawn in place; otherwise a plain line every `every` steps. Validation, checkpoints and the end of
 * the run get their own line.
 */
export function progress(opts: ProgressOptions = {}): Hook {
  const out = opts.stream ?? process.stdout;
  const live = out.isTTY === true;
  const every = positiveInt('progress', 'every', opts.every ?? 10);
  return perRun(() => {
    let total = 0;
    let startIter = 0;
    let startTime = Date.now();
    let lossEma: number | undefined;
    let liveShown = false;
    let diverged = false;
    const line = (text: string) => {
      if (liveShown) out.write('\r\x1b[2K');
      liveShown = false;
      out.write(`${text}\n`);
    };
    return tap({
      next(ev) {
        switch (ev.type) {
          case 'start':
            total = ev.totalIterations;
            startIter = ev.iteration;
            startTime = Date.now();
            line(`${ev.ctx.setup.name}: ${ev.ctx.setup.model.name}, ${(ev.params / 1e6).toFixed(3)} M params, ${total} iterations (${ev.itersPerEpoch}/epoch)${ev.resumedFrom ? `, resumed at iteration ${ev.iteration} from ${ev.resumedFrom}` : ''}`);
            break;
          case 'step': {
            if (Number.isFinite(ev.loss)) lossEma = lossEma === undefined ? ev.loss : 0.9 * lossEma + 0.1 * ev.loss;
            const rate = (ev.iteration - startIter) / Math.max(1e-3, (Date.now() - startTime) / 1000);
            const eta = (total - ev.iteration) / rate;
            const text = `epoch ${ev.epoch + 1} iter ${ev.iteration}/${total} loss ${ev.loss.toPrecision(5)} (avg ${lossEma?.toPrecision(5) ?? '-'}) lr ${ev.lr.toExponential(2)} ${ev.imagesPerSec.toFixed(1)} img/s data ${ev.dataMs.toFixed(0)}ms ETA ${formatDuration(eta)}${ev.skipped ? ' [non-finite loss: update skipped]' : ''}`;
            if (live) {
              out.write(`\r\x1b[2K${bar(ev.iteration / total, 20)} ${text}`.slice(0, (out.columns ?? 160) + 6));
              liveShown = true;
            } else if (ev.iteration % every === 0 || ev.skipped || ev.iteration === total) {
              line(text);
            }
            break;
          }
          case 'validation':
            line(`validation @ epoch ${ev.epoch + 1}, iter ${ev.iteration}: ${formatPsnr(ev.psnr, ev.inputPsnr ?? null)}, SSIM ${ev.ssim.toFixed(4)} (${Object.keys(ev.perVideo).length} videos, ${ev.seconds.toFixed(1)} s)`);
            break;
          case 'checkpoint':
            line(`checkpoint (${ev.reason}): ${ev.path}`);
            break;
          case 'warning':
            if (ev.kind === 'divergence') diverged = true;
            line(`warning: ${ev.message}`);
            break;
          case 'epoch':
            if (!live) break;
            line(`epoch ${ev.epoch + 1} done: mean loss ${ev.meanLoss.toPrecision(5)}, ${ev.seconds.toFixed(1)} s`);
            break;
          case 'end':
            line(`${ev.reason === 'completed' ? 'finished' : 'stopped'} at iteration ${ev.iteration} (${(ev.ctx.epoch + ev.ctx.batch / ev.ctx.itersPerEpoch).toFixed(2)} epochs) after ${formatDuration(ev.seconds)}${diverged ? '; the loss diverged (see the warning above)' : ''}`);
            break;
        }
      },
      finalize: () => {
        if (liveShown) out.write('\n');
      },
    });
  });
}
