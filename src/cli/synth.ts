// `simdeblur synth`: writes a synthetic motion-blur dataset in a benchmark's layout.
import { intOption, parseCommandLine } from './args.ts';
import { synthesize, type SynthOptions, type SynthProgress } from '../synth/synthesize.ts';
import { isLayoutName, layoutNames } from '../synth/layout.ts';
import type { SubFrames } from '../synth/video.ts';
import { UsageError } from './exit.ts';

export const SYNTH_USAGE = `usage: simdeblur synth --layout gopro|dvd|reds|bsd --out DIR --videos N --frames M --size WxH [options]

  --seed S            random seed (default 0)
  --images DIR        source photographs (default: assets/images)
  --sub-frames K|auto sharp sub-frames averaged per frame, odd (default auto)
  --noise SIGMA       Gaussian sensor noise on blurred frames, in [0, 1] units (default 0)
  --shot-noise A      signal-dependent noise, variance A * value (default 0)
  --jpeg-quality Q    JPEG quality 1..100 (DVD files; PNG layouts: JPEG artefacts on inputs)
  --averaging linear|plain
                      blur model of single-input layouts (default linear; GoPro writes both)
  --exposure E        shutter-open fraction of the frame interval, (0, 1] (default 1)
  --speed PX          typical camera speed, output pixels per frame (default 2% of the long side)
  --direction DEG     direction of the camera's dominant pan, the same for every video
                      (default: random per video)
  --drift PX          a steady pan along that direction, pixels per frame, on top of the
                      wandering motion (default 0)
  --split train|test|both
                      splits to write (default both)
  --quiet             no progress lines
`;

/** The keys whose value is given; undefined when none is. */
function definedOnly<T extends Record<string, number | undefined>>(o: T): Partial<Record<keyof T, number>> | undefined {
  const given = Object.entries(o).filter(([, v]) => v !== undefined);
  return given.length === 0 ? undefined : (Object.fromEntries(given) as Partial<Record<keyof T, number>>);
}

function num(name: string, v: string | undefined, ok: (n: number) => boolean, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new UsageError(`--${name}: expected ${what}, got "${v}"`);
  return n;
}

function required<T>(name: string, v: T | undefined): T {
  if (v === undefined) throw new UsageError(`--${name} is required\n${SYNTH_USAGE}`);
  return v;
}

function size(v: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/i.exec(v.trim());
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  if (!m || width < 1 || height < 1) throw new UsageError(`--size: expected WIDTHxHEIGHT with positive integers (e.g. 1280x720), got "${v}"`);
  return { width, height };
}

/** Parses the command line into `synthesize` options (throws with a message naming the flag). */
export function parseSynthArgs(args: string[]): SynthOptions & { readonly quiet: boolean } {
  const { values } = parseCommandLine(
    {
      args,
      strict: true,
      allowPositionals: false,
      options: {
        layout: { type: 'string' },
        out: { type: 'string' },
        videos: { type: 'string' },
        frames: { type: 'string' },
        size: { type: 'string' },
        seed: { type: 'string' },
        images: { type: 'string' },
        'sub-frames': { type: 'string' },
        noise: { type: 'string' },
        'shot-noise': { type: 'string' },
        'jpeg-quality': { type: 'string' },
        averaging: { type: 'string' },
        exposure: { type: 'string' },
        speed: { type: 'string' },
        direction: { type: 'string' },
        drift: { type: 'string' },
        split: { type: 'string' },
        quiet: { type: 'boolean', default: false },
      },
    },
    SYNTH_USAGE,
  );
  const layout = required('layout', values.layout);
  if (!isLayoutName(layout)) throw new UsageError(`--layout: expected one of ${layoutNames.join(', ')}, got "${layout}"`);
  const out = required('out', values.out);
  if (out.trim() === '') throw new UsageError('--out: expected a folder, got an empty string');
  const { width, height } = size(required('size', values.size));
  const sf = values['sub-frames'];
  let subFrames: SubFrames | undefined;
  if (sf !== undefined && sf.trim() !== 'auto') {
    subFrames = intOption('sub-frames', sf, 1);
    if (subFrames! % 2 !== 1) throw new UsageError(`--sub-frames: expected 'auto' or an odd integer (the middle sub-frame is the sharp frame), got "${sf}"`);
  } else if (sf !== undefined) {
    subFrames = 'auto';
  }
  const averaging = values.averaging;
  if (averaging !== undefined && averaging !== 'linear' && averaging !== 'plain') throw new UsageError(`--averaging: expected linear or plain, got "${averaging}"`);
  const split = values.split;
  if (split !== undefined && split !== 'train' && split !== 'test' && split !== 'both') throw new UsageError(`--split: expected train, test or both, got "${split}"`);
  const speed = num('speed', values.speed, (n) => n >= 0, 'a number >= 0');
  const direction = num('direction', values.direction, Number.isFinite, 'a number of degrees');
  const drift = num('drift', values.drift, (n) => n >= 0, 'a number >= 0');
  return {
    layout,
    out,
    videos: required('videos', intOption('videos', values.videos, 1)),
    frames: required('frames', intOption('frames', values.frames, 1)),
    width,
    height,
    seed: intOption('seed', values.seed, 0, 0xffffffff) ?? 0,
    images: values.images,
    subFrames,
    noise: num('noise', values.noise, (n) => n >= 0, 'a number >= 0'),
    shotNoise: num('shot-noise', values['shot-noise'], (n) => n >= 0, 'a number >= 0'),
    jpegQuality: intOption('jpeg-quality', values['jpeg-quality'], 1, 100),
    averaging,
    exposure: num('exposure', values.exposure, (n) => n > 0 && n <= 1, 'a number in (0, 1]'),
    motion: definedOnly({ speed, direction, drift }),
    split,
    quiet: values.quiet ?? false,
  };
}

function progressLine(p: SynthProgress): string {
  return `${p.done}/${p.total} ${p.split} ${p.video} frame ${p.frame}${p.skipped ? ' (present)' : ''}`;
}

export async function synthCommand(args: string[]): Promise<number> {
  const { quiet, ...opts } = parseSynthArgs(args);
  const result = await synthesize({ ...opts, onProgress: quiet ? undefined : (p) => process.stderr.write(`${progressLine(p)}\n`) });
  for (const s of result.splits) {
    const roots = Object.entries(s.roots).map(([k, v]) => `${k}=${v}`).join(' ');
    console.log(`${result.layout} ${s.split}: ${s.videos.length} video${s.videos.length === 1 ? '' : 's'}, ${roots}`);
  }
  console.log(`${result.written} files written, ${result.skippedFrames} frames already present`);
  return 0;
}
