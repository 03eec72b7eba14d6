// `simdeblur test RECIPE.ts --checkpoint DIR [--set k=v]... [--no-ema] [--json]`: PSNR/SSIM of
// a checkpoint on the recipe's validation data, per video and overall, as a table and as JSON.
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { EvalResult, RestoredFrame } from '../engine/evaluate.ts';
import { decodeRecipe, loadRecipe } from './recipe-file.ts';
import { EXIT_USAGE, UsageError } from './exit.ts';

export function formatTable(r: EvalResult): string {
  // The blurry input's PSNR beside each result: a model that scores below it is worse than doing nothing.
  const psnrs = (psnr: number, input: number | null) => {
    if (input === null || !Number.isFinite(input)) return [psnr.toFixed(2), '-', '-'];
    const gain = psnr - input;
    return [psnr.toFixed(2), input.toFixed(2), `${gain >= 0 ? '+' : '-'}${Math.abs(gain).toFixed(2)}`];
  };
  const rows = Object.entries(r.perVideo).map(([v, m]) => [v, m.frames.toString(), ...psnrs(m.psnr, m.inputPsnr), m.ssim.toFixed(4)]);
  rows.push(['overall', r.frames.toString(), ...psnrs(r.psnr, r.inputPsnr), r.ssim.toFixed(4)]);
  const head = ['video', 'frames', 'PSNR', 'input PSNR', 'gain', 'SSIM'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

/** Writes a restored frame to DIR/<video>/<frame>.png, and input | output | gt to DIR/side-by-side/<video>/<frame>.png. */
async function saveRestored(dir: string, f: RestoredFrame, side: boolean): Promise<void> {
  const [{ writePng }, { sideBySide }] = await Promise.all([import('../infer/sinks.ts'), import('../infer/side-by-side.ts')]);
  const name = f.frame.replace(/\.[^./]+$/, '');
  await writePng(path.join(dir, f.video, `${name}.png`), { name, width: f.width, height: f.height, rgb: f.output });
  if (side) {
    const parts = f.input ? [f.input, f.output, f.gt] : [f.output, f.gt];
    await writePng(path.join(dir, 'side-by-side', f.video, `${name}.png`), sideBySide(name, parts, f.width, f.height));
  }
}

export async function testCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { checkpoint: { type: 'string' }, 'save-images': { type: 'string' }, 'side-by-side': { type: 'boolean', default: false }, set: { type: 'string', multiple: true, default: [] }, 'no-ema': { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, 'allow-nonfinite': { type: 'boolean', default: false } },
  });
  const file = positionals[0];
  const usage = 'usage: simdeblur test RECIPE.ts --checkpoint DIR [--set key=value]... [--no-ema] [--save-images DIR [--side-by-side]] [--json] [--allow-nonfinite]';
  if (!file || !values.checkpoint) throw new UsageError(usage);
  if (values['side-by-side'] && values['save-images'] === undefined) throw new UsageError(`--side-by-side needs --save-images DIR\n${usage}`);
  const exp = decodeRecipe(await loadRecipe(file), file, values.set);
  if (!exp) return EXIT_USAGE;
  // The engine (and with it TensorFlow) is loaded only once the recipe is known to be valid.
  const [{ interpret }, { evaluate }, { loadWeights, readCheckpointState, readEmaWeights }, { loadStateDict }] = await Promise.all([
    import('../engine/interpret.ts'),
    import('../engine/evaluate.ts'),
    import('../engine/checkpoint.ts'),
    import('../models/model.ts'),
  ]);
  const ckpt = values.checkpoint;
  const state = readCheckpointState(ckpt);
  await using setup = await interpret(exp, { evalOnly: true });
  if (!setup.val) throw new UsageError(`${file} has no validation dataset (data.val) to test on`);
  const allowNonfinite = values['allow-nonfinite'];
  loadWeights(setup.model, path.join(ckpt, 'weights.safetensors'), { allowNonfinite });
  const useEma = state.emaMeta !== null && !values['no-ema'];
  if (useEma) {
    // The EMA weights are what validation used during training.
    loadStateDict(setup.model, readEmaWeights(ckpt), { layout: 'ours', strict: false, allowNonfinite });
  }
  const saveDir = values['save-images'];
  const t0 = Date.now();
  const r = await evaluate(setup.model, setup.model.params, setup.strategy, setup.val, {
    batchSize: setup.valBatchSize,
    saveImages: 0,
    onProgress: values.json ? undefined : (d, n) => process.stderr.write(`\revaluating ${d}/${n}`),
    ...(saveDir === undefined ? {} : { onRestored: (f: RestoredFrame) => saveRestored(saveDir, f, values['side-by-side']) }),
  });
  if (!values.json) process.stderr.write('\n');
  if (!values.json) console.log(formatTable(r));
  console.log(JSON.stringify({ checkpoint: ckpt, iteration: state.iteration, weights: useEma ? 'ema' : 'raw', psnr: r.psnr, ssim: r.ssim, inputPsnr: r.inputPsnr, frames: r.frames, perVideo: r.perVideo, seconds: (Date.now() - t0) / 1000 }));
  return 0;
}
