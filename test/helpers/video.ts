// Small test videos made with the ffmpeg the package finds, from raw RGB frames generated here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Ffmpeg } from '../../src/io/video.ts';

/** Frame `i` of a test clip: smooth gradients that move with `i` (survive lossy codecs well). */
export function pattern(i: number, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      out[o] = (x * 2 + i * 4) & 255;
      out[o + 1] = (y * 3 + i * 2) & 255;
      out[o + 2] = (40 + i * 10) & 255;
    }
  }
  return out;
}

/**
 * Encodes `frames` (packed RGB) into `file` at `fps` with `codec` (ffmpeg output options, e.g.
 * `['-c:v', 'ffv1']`, lossless). Throws with ffmpeg's stderr on failure.
 */
export function makeVideo(ff: Ffmpeg, file: string, frames: readonly Uint8Array[], width: number, height: number, fps: string, codec: readonly string[]): void {
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-video_size', `${width}x${height}`, '-framerate', fps, '-i', 'pipe:0', ...codec, file];
  const r = spawnSync(ff.path, args, { input: Buffer.concat(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength))) });
  assert.equal(r.status, 0, `ffmpeg ${args.join(' ')} failed: ${r.stderr?.toString()}`);
}

/** Mean and max absolute difference of two byte arrays of one length. */
export function byteDiff(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  assert.equal(a.length, b.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}
