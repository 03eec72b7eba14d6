// The README's quickstart, run as a user runs it: it synthesises its data, trains, evaluates on
// held-out videos and must beat the blurry input by at least 1 dB (measured: +1.36 dB; the run
// is seeded, so only floating-point reduction order varies between runs). This is the slowest
// test (about six minutes on a 2-core CPU).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { tempDir } from '../helpers/engine.ts';

test('quickstart: trains a deblurrer that clearly beats the blurry input on held-out videos', async () => {
  const wd = tempDir('simdeblur-quickstart-');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'recipes/quickstart.ts', '--work-dir', wd], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { inputPsnr: number; outputPsnr: number; gain: number; seconds: number; image: string; checkpoint: string; deblur: string };
  assert.ok(Number.isFinite(summary.inputPsnr) && Number.isFinite(summary.seconds), JSON.stringify(summary));
  assert.ok(summary.outputPsnr - summary.inputPsnr >= 1, `gain ${summary.gain.toFixed(2)} dB: ${JSON.stringify(summary)}`);
  // The side-by-side image: blurry | deblurred | sharp.
  assert.equal(summary.image, path.join(wd, 'side-by-side.png'));
  const png = await sharp(summary.image).metadata();
  assert.equal(png.width, 3 * png.height);

  // Its closing lines say how to deblur with the trained model; run that on a held-out video's
  // blurry frames (a folder) with its sharp frames as ground truth.
  assert.match(r.stdout, /simdeblur deblur .* --checkpoint /);
  const video = path.join(wd, 'data', 'test', fs.readdirSync(path.join(wd, 'data', 'test')).sort()[0]!);
  const out = path.join(wd, 'deblurred');
  const d = spawnSync(process.execPath, ['bin/simdeblur.mjs', 'deblur', path.join(video, 'blur'), '--out', out, '--checkpoint', summary.checkpoint, '--gt', path.join(video, 'sharp'), '--json'], { encoding: 'utf8' });
  assert.equal(d.status, 0, d.stderr);
  const run = JSON.parse(d.stdout.trim().split('\n').pop()!) as { frames: number; psnr: number; inputPsnr: number };
  assert.equal(run.frames, fs.readdirSync(path.join(video, 'blur')).length);
  assert.equal(fs.readdirSync(path.join(out, 'blur')).length, run.frames);
  assert.ok(run.psnr > run.inputPsnr + 0.5, JSON.stringify(run));
});
