// `simdeblur flops --model NAME [--preset NAME] [--set key=value]... --size WxH [--frames N] [--json]`: parameters
// and multiply-accumulates per output frame of a zoo model, counted from one forward pass.
import { isLeft } from 'fp-ts/lib/Either.js';
import { applyOverrides } from '../config/overrides.ts';
import { parseCommandLine, intOption } from './args.ts';
import { UsageError } from './exit.ts';

const USAGE = 'usage: simdeblur flops --model NAME [--preset NAME] [--set key=value]... --size WxH [--frames N] [--json]';

function parseSize(s: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(s.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError(`--size: expected WxH (e.g. 256x256), got "${s}"`);
  return [Number(m[2]), Number(m[1])];
}

const group = (n: number) => Math.round(n).toLocaleString('en-US');
/** `2.753 G`, `983.1 M`: a count with an SI prefix. */
const si = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(3)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(3)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(3)} k` : String(Math.round(n)));

/** Runs the `flops` command; resolves to its exit status. */
export async function flopsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    {
      args,
      allowPositionals: true,
      options: { model: { type: 'string' }, preset: { type: 'string' }, set: { type: 'string', multiple: true, default: [] }, size: { type: 'string', default: '256x256' }, frames: { type: 'string' }, json: { type: 'boolean', default: false } },
    },
    USAGE,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'\n${USAGE}`);
  if (values.model === undefined) throw new UsageError(`--model is required\n${USAGE}`);
  const size = parseSize(values.size);
  const frames = intOption('frames', values.frames, 1) ?? 5;
  // `width=32` and `model.width=32` both set the model's option.
  const sets = values.set.map((s) => (s.startsWith('model.') ? s.slice('model.'.length) : s));
  const { modelFlops } = await import('../leaderboard/flops.ts');
  const { decodeComponent } = await import('../config/registry.ts');
  const { presetOf } = await import('../leaderboard/entry.ts');
  let base: Record<string, unknown> = { type: values.model };
  try {
    if (values.preset !== undefined) base = { ...base, ...presetOf(values.model, values.preset) };
  } catch (err) {
    throw new UsageError(`--preset: ${err instanceof Error ? err.message.replace(/^models\.[^:]*: /, '') : String(err)}`);
  }
  const spec = applyOverrides(base, sets);
  if (isLeft(spec)) throw new UsageError(spec.left.join('\n'));
  try {
    decodeComponent('model', spec.right);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const r = await modelFlops(spec.right as { type: string }, size, frames);
  if (values.json) {
    console.log(JSON.stringify(r));
    return 0;
  }
  const lines: [string, string][] = [
    ['model', JSON.stringify(r.spec)],
    ['size', `${size[1]}x${size[0]} (${r.inputFrames} input frame${r.inputFrames === 1 ? '' : 's'} -> ${r.outputFrames} output frame${r.outputFrames === 1 ? '' : 's'}, strategy ${r.strategy})`],
    ['params', `${group(r.params)} (${(r.params / 1e6).toFixed(3)} M)`],
    ['MACs/frame', `${group(r.macsPerFrame)} (${si(r.macsPerFrame)})`],
    ['FLOPs/frame', `${si(r.flopsPerFrame)} (2 x MACs)`],
    ...Object.entries(r.byOp).map(([op, s]): [string, string] => [`  ${op}`, `${s.count} ops, ${si(s.macs / r.outputFrames)} MACs/frame`]),
  ];
  const w = Math.max(...lines.map(([k]) => k.length));
  for (const [k, v] of lines) console.log(`${k.padEnd(w)}  ${v}`);
  return 0;
}
