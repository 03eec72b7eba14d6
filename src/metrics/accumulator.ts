// Per-frame metric bookkeeping for evaluation: one score per unique (video, frame), a frame
// seen again overwrites its earlier score; means per video and over all frames.
import type { Tensor } from '@tensorflow/tfjs';

export interface Scores {
  readonly psnr: number;
  readonly ssim: number;
}

export interface MeanScores extends Scores {
  /** Number of unique frames averaged (psnr and ssim are NaN when 0). */
  readonly frames: number;
}

export interface FrameRecord extends Scores {
  readonly video: string;
  readonly frame: string;
}

function meanOf(scores: Iterable<Scores>): MeanScores {
  let psnr = 0;
  let ssim = 0;
  let frames = 0;
  for (const s of scores) {
    psnr += s.psnr;
    ssim += s.ssim;
    frames++;
  }
  return frames === 0 ? { psnr: NaN, ssim: NaN, frames } : { psnr: psnr / frames, ssim: ssim / frames, frames };
}

/**
 * Collects per-frame PSNR and SSIM scores during evaluation, one per unique (video, frame) (a frame
 * scored again replaces its earlier score), and gives means per video and over all frames.
 */
export class MetricAccumulator {
  /** video → frame → scores; nested so that names containing separators cannot collide. */
  private readonly videos = new Map<string, Map<string, Scores>>();

  /** Records the scores of one frame of `video`, replacing any earlier score of the same frame. */
  add(video: string, frame: string, psnr: number, ssim: number): void {
    let frames = this.videos.get(video);
    if (frames === undefined) {
      frames = new Map();
      this.videos.set(video, frames);
    }
    frames.set(frame, { psnr, ssim });
  }

  /**
   * Adds one score per batch item from per-image metric tensors (`psnrPerImage`,
   * `ssimPerImage`), reading each tensor once. The tensors are not disposed.
   */
  addBatch(videos: readonly string[], frames: readonly string[], psnr: Tensor, ssim: Tensor): void {
    const n = videos.length;
    if (frames.length !== n || psnr.size !== n || ssim.size !== n) {
      throw new Error(`MetricAccumulator.addBatch: ${n} videos, ${frames.length} frames, ${psnr.size} PSNRs and ${ssim.size} SSIMs do not match`);
    }
    const p = psnr.dataSync();
    const s = ssim.dataSync();
    for (let i = 0; i < n; i++) this.add(videos[i]!, frames[i]!, p[i]!, s[i]!);
  }

  /** Number of unique (video, frame) pairs. */
  get size(): number {
    let n = 0;
    for (const f of this.videos.values()) n += f.size;
    return n;
  }

  /** Every frame's scores, videos and frames in first-seen order. */
  records(): FrameRecord[] {
    const out: FrameRecord[] = [];
    for (const [video, frames] of this.videos) for (const [frame, s] of frames) out.push({ video, frame, ...s });
    return out;
  }

  /** Mean scores of each video's frames, in first-seen order. */
  perVideo(): Map<string, MeanScores> {
    const out = new Map<string, MeanScores>();
    for (const [video, frames] of this.videos) out.set(video, meanOf(frames.values()));
    return out;
  }

  /** Mean over all unique frames (not a mean of per-video means). */
  mean(): MeanScores {
    return meanOf(this.records());
  }
}
