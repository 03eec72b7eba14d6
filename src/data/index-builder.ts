// The index of a dataset: its videos, their sorted frames, and each frame's size and bit depth,
// read from image headers only. Built once per dataset, optionally cached in a JSON file.
// Problems (missing frames, size mismatches, unreadable headers, empty folders, numbering
// gaps, frames named outside the numbering) are recorded with the file at fault; the reader
// decides whether they are fatal.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { decodeImage, folderProblem, frameId, listImages, readHeader } from './image.ts';
import type { ImageHeader } from './image.ts';
import type { Layout, VideoDirs } from './layouts.ts';

export interface IndexedFrame {
  /** File name without extension, e.g. `000047`. */
  readonly id: string;
  /** File name, the same in the input and ground-truth folders. */
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly inputBits: 8 | 16;
  /** Absent when the dataset has no ground truth. */
  readonly gtBits?: 8 | 16;
  /** Why no sample may use this frame. */
  readonly problem?: string;
}

export interface IndexedVideo {
  readonly name: string;
  readonly gtDir: string | null;
  readonly inputDir: string;
  readonly frames: readonly IndexedFrame[];
  /** Why no sample may use this video. */
  readonly problem?: string;
  /** Inconsistencies that spoil no sample (an input frame without ground truth). */
  readonly notes: readonly string[];
  /** Every frame was fully decoded, not only its header. */
  readonly verified: boolean;
  /** Hash of the folder listings, to tell whether a cached entry is still current. */
  readonly listing: string;
}

export interface DatasetIndex {
  readonly version: typeof INDEX_VERSION;
  /** The layout's key (folders, variant) as JSON. */
  readonly key: string;
  readonly videos: readonly IndexedVideo[];
}

export interface IndexOptions {
  /** 'headers' (default) reads headers only; 'full' also decodes every frame (finds truncated files). */
  readonly verify?: 'headers' | 'full';
  /** Accept frame numbers that skip values (default false: a gap is a problem). */
  readonly allowGaps?: boolean;
  /** JSON file to reuse the index from and to save it to. */
  readonly cacheFile?: string;
  /** Image headers read at once (default 8). */
  readonly concurrency?: number;
  /** Where cache write failures are reported (default: ignored). */
  readonly warn?: (message: string) => void;
}

export const INDEX_VERSION = 1;

function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface Listing {
  readonly names: readonly string[];
  readonly inputNames: ReadonlySet<string>;
  readonly hash: string;
}

type ListResult = { listing: Listing } | { problem: string };

/** `missing <what> folder DIR`, or `<what> folder DIR is a symbolic link loop` (and the like). */
async function folderCheck(dir: string, what: string): Promise<string | undefined> {
  const p = await folderProblem(dir);
  if (p === undefined) return undefined;
  return p === 'does not exist' ? `missing ${what} folder ${dir}` : `${what} folder ${dir} ${p}`;
}

async function listVideo(v: VideoDirs): Promise<ListResult> {
  if (v.problem !== undefined) return { problem: v.problem };
  const gtProblem = v.gtDir === null ? undefined : await folderCheck(v.gtDir, 'ground-truth');
  if (gtProblem !== undefined) return { problem: gtProblem };
  const inputProblem = await folderCheck(v.inputDir, 'input');
  if (inputProblem !== undefined) return { problem: inputProblem };
  const inputNames = await listImages(v.inputDir);
  const gtNames = v.gtDir === null ? null : await listImages(v.gtDir);
  const names = gtNames ?? inputNames;
  if (names.length === 0) return { problem: `no image files in ${v.gtDir ?? v.inputDir}` };
  return { listing: { names, inputNames: new Set(inputNames), hash: fnv(`${names.join('/')}|${inputNames.join('/')}`) } };
}

/** A frame id's trailing number and the text before it (`frame_` and 12 for `frame_0012`). */
function numbered(id: string): { stem: string; n: number } | undefined {
  const m = /^(.*?)(\d+)$/.exec(id);
  return m ? { stem: m[1]!, n: Number(m[2]) } : undefined;
}

/**
 * The text before the number that most (over half) of the frames share, `''` for plain numbers;
 * undefined when no numbering is shared by most frames (names are then taken as they sort).
 */
function videoNumbering(frames: readonly IndexedFrame[]): string | undefined {
  const counts = new Map<string, number>();
  for (const f of frames) {
    const stem = numbered(f.id)?.stem;
    if (stem !== undefined) counts.set(stem, (counts.get(stem) ?? 0) + 1);
  }
  for (const [stem, count] of counts) if (count * 2 > frames.length) return stem;
  return undefined;
}

/**
 * Checks the names of a video's frames. A frame named outside the numbering of the others would
 * sort among them (`frame_x.png` after `000010.png`) and windows would take it for a neighbour:
 * it is left out with a note naming it. The numbered frames must then follow each other unless
 * `allowGaps`.
 */
function checkNumbering(v: IndexedVideo, allowGaps: boolean): IndexedVideo {
  if (v.problem !== undefined || v.frames.length === 0) return v;
  const stem = videoNumbering(v.frames);
  if (stem === undefined) return v;
  const dir = v.gtDir ?? v.inputDir;
  const fits = (f: IndexedFrame) => numbered(f.id)?.stem === stem;
  const frames = v.frames.filter(fits);
  const misfits = v.frames.filter((f) => !fits(f));
  const range = `${frames[0]!.file} to ${frames.at(-1)!.file}`;
  const notes = misfits.map(
    (f) => `${path.join(dir, f.file)} does not fit the numbering of the other frames in ${dir} (${range}): windows would join it to frames that are not its neighbours (rename or remove it)`,
  );
  let problem: string | undefined;
  for (let i = 1; i < frames.length && !allowGaps && problem === undefined; i++) {
    const [a, b] = [frames[i - 1]!, frames[i]!];
    if (numbered(b.id)!.n !== numbered(a.id)!.n + 1) {
      problem = `frame numbering in ${dir} jumps from ${a.file} to ${b.file}: windows would join frames that are not neighbours (set allowGaps to accept)`;
    }
  }
  if (misfits.length === 0 && problem === undefined) return v;
  return { ...v, frames, notes: [...v.notes, ...notes], ...(problem !== undefined ? { problem } : {}) };
}

async function indexFrame(v: VideoDirs, file: string, inputNames: ReadonlySet<string>, verify: boolean): Promise<IndexedFrame> {
  const problems: string[] = [];
  const inFile = path.join(v.inputDir, file);
  const gtFile = v.gtDir === null ? null : path.join(v.gtDir, file);
  let input: ImageHeader | undefined;
  let gt: ImageHeader | undefined;
  if (!inputNames.has(file)) problems.push(`missing input frame ${inFile} (its ground truth ${gtFile} exists)`);
  else {
    try {
      input = await readHeader(inFile);
    } catch (e) {
      problems.push(message(e));
    }
  }
  if (gtFile !== null) {
    try {
      gt = await readHeader(gtFile);
    } catch (e) {
      problems.push(message(e));
    }
  }
  if (input && gt && (input.width !== gt.width || input.height !== gt.height)) {
    problems.push(`${inFile} is ${input.width}x${input.height} (WxH) but its ground truth ${gtFile} is ${gt.width}x${gt.height}`);
  }
  if (verify && problems.length === 0) {
    for (const [f, h] of [[inFile, input], [gtFile, gt]] as const) {
      if (f === null || h === undefined) continue;
      try {
        await decodeImage(f, h);
      } catch (e) {
        problems.push(message(e));
      }
    }
  }
  const size = input ?? gt;
  return {
    id: frameId(file),
    file,
    width: size?.width ?? 0,
    height: size?.height ?? 0,
    inputBits: input?.bits ?? 8,
    ...(gt ? { gtBits: gt.bits } : {}),
    ...(problems.length ? { problem: problems.join('; ') } : {}),
  };
}

async function indexVideo(v: VideoDirs, listing: Listing, o: Required<Pick<IndexOptions, 'verify' | 'concurrency'>>): Promise<IndexedVideo> {
  const verify = o.verify === 'full';
  const gtNames = new Set(listing.names);
  const notes =
    v.gtDir === null
      ? []
      : [...listing.inputNames].filter((n) => !gtNames.has(n)).map((n) => `input frame ${path.join(v.inputDir, n)} has no ground truth ${path.join(v.gtDir!, n)}`);
  let frames = await mapLimit(listing.names, o.concurrency, (file) => indexFrame(v, file, listing.inputNames, verify));
  // Frames of one video must share a size (they are stacked into one clip).
  const ref = frames.find((f) => f.problem === undefined);
  if (ref) {
    frames = frames.map((f) =>
      f.problem === undefined && (f.width !== ref.width || f.height !== ref.height)
        ? { ...f, problem: `${path.join(v.inputDir, f.file)} is ${f.width}x${f.height} (WxH) but ${ref.file} of the same video is ${ref.width}x${ref.height}` }
        : f,
    );
  }
  return { name: v.name, gtDir: v.gtDir, inputDir: v.inputDir, frames, notes, verified: verify, listing: listing.hash };
}

function clean(v: IndexedVideo): boolean {
  return v.problem === undefined && v.notes.length === 0 && v.frames.every((f) => f.problem === undefined);
}

async function readCache(file: string, key: string): Promise<Map<string, IndexedVideo>> {
  try {
    const parsed = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<DatasetIndex>;
    if (parsed.version !== INDEX_VERSION || parsed.key !== key || !Array.isArray(parsed.videos)) return new Map();
    return new Map(parsed.videos.map((v) => [v.name, v]));
  } catch {
    return new Map(); // no cache yet, or unreadable: rebuild
  }
}

/**
 * Lists and indexes every video of `layout`. With `cacheFile`, a cached video is reused when its
 * folders list the same files as when it was indexed and it had no problems; others are
 * (re)indexed and the cache is rewritten. A frame whose size changed under the same name is
 * caught when it is decoded.
 */
export async function buildIndex(layout: Layout, options: IndexOptions = {}): Promise<DatasetIndex> {
  const o = { verify: options.verify ?? 'headers', allowGaps: options.allowGaps ?? false, concurrency: options.concurrency ?? 8 };
  const key = JSON.stringify(layout.key);
  const cached = options.cacheFile ? await readCache(options.cacheFile, key) : new Map<string, IndexedVideo>();
  let changed = false;
  const videos: IndexedVideo[] = [];
  for (const v of await layout.listVideos()) {
    const listed = await listVideo(v);
    if ('problem' in listed) {
      videos.push({ name: v.name, gtDir: v.gtDir, inputDir: v.inputDir, frames: [], notes: [], verified: false, listing: '', problem: listed.problem });
      changed = true;
      continue;
    }
    const hit = cached.get(v.name);
    if (hit && clean(hit) && hit.listing === listed.listing.hash && hit.gtDir === v.gtDir && hit.inputDir === v.inputDir && (hit.verified || o.verify === 'headers')) {
      videos.push(hit);
    } else {
      videos.push(await indexVideo(v, listed.listing, o));
      changed = true;
    }
  }
  if (options.cacheFile && (changed || cached.size !== videos.length)) {
    try {
      await fsp.mkdir(path.dirname(path.resolve(options.cacheFile)), { recursive: true });
      await writeFileAtomic(options.cacheFile, JSON.stringify({ version: INDEX_VERSION, key, videos } satisfies DatasetIndex));
    } catch (e) {
      options.warn?.(`could not write the index cache ${options.cacheFile}: ${message(e)}`);
    }
  }
  // Names and gaps are checked on every build (not cached): gaps depend on allowGaps, and a
  // cache written before the name check must not let a misnamed frame through.
  const checked = videos.map((v) => checkNumbering(v, o.allowGaps));
  return { version: INDEX_VERSION, key, videos: checked };
}

/** Every problem and note of the index, one message each (the file at fault named in it). */
export function indexProblems(index: DatasetIndex): string[] {
  return index.videos.flatMap((v) => [...(v.problem ? [v.problem] : []), ...v.frames.flatMap((f) => (f.problem ? [f.problem] : [])), ...v.notes]);
}
