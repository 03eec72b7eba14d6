// The outputs of inference: sinks that write restored frames so that only complete outputs ever
// appear in the output folder.
//
// Outputs (with `suffix`, default none, appended to the image, folder or video name):
//   image  a.jpg      -> DIR/a.png
//   folder seq/       -> DIR/seq/<frame name>.png
//   video  clip.mov   -> DIR/clip.mp4 (same frame count and rate) [+ DIR/clip/<frame name>.png with keepFrames]
// A single image is kept in memory until `finish` and written with `writeFileAtomic`; a frame
// folder is built in a temporary folder beside its target and published with `writeDirAtomic`;
// a video is encoded to a temporary file renamed at `finish`.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { writeDirAtomic, writeFileAtomic } from '../io/atomic.ts';
import { ffmpeg, VideoEncoder } from '../io/video.ts';
import { encodeImage } from '../synth/encode.ts';
import { toRgb8, type Frame, type FrameSource } from './frames.ts';

/** Options of `sinkFor` and `outputPaths`. */
export interface SinkOptions {
  /** Videos: also write every frame as a PNG into DIR/<video name>/ (default false). */
  readonly keepFrames?: boolean;
  /** Appended to the image, folder or video name of the outputs (default ''). */
  readonly suffix?: string;
}

/** The files and folders the sink of `source` makes visible in `outDir`. */
export function outputPaths(source: FrameSource, outDir: string, opts: SinkOptions = {}): string[] {
  const base = path.resolve(outDir, `${source.name}${opts.suffix ?? ''}`);
  if (source.kind === 'image') return [`${base}.png`];
  if (source.kind === 'folder') return [base];
  return opts.keepFrames ? [`${base}.mp4`, base] : [`${base}.mp4`];
}

function within(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Checks, before any work, that the outputs of `sources` in `outDir` neither replace nor lie
 * inside an input (`--out` set to an input's own folder) and that no two sources write the same
 * path (a.png and a.jpg, or two folders named `seq`). Throws an Error naming both paths.
 */
export function checkOutputs(sources: readonly FrameSource[], outDir: string, opts: SinkOptions = {}): void {
  const owner = new Map<string, string>();
  for (const s of sources) {
    for (const out of outputPaths(s, outDir, opts)) {
      const prev = owner.get(out);
      if (prev !== undefined) throw new Error(`inputs ${prev} and ${s.path} would both be written to ${out}; rename one or run them separately`);
      owner.set(out, s.path);
      for (const t of sources) {
        const input = path.resolve(t.path);
        if (within(input, out)) throw new Error(`output ${out} would replace the input ${t.path}; choose another output folder`);
      }
    }
  }
}

/** Where the outputs of one source are written as it is processed. */
export interface FrameSink {
  /** Adds one result frame; `frame.name` is the input frame's name. */
  write(frame: Frame): Promise<void>;
  /** Makes the outputs visible (atomic: renamed into place) and returns the paths written. */
  finish(): Promise<string[]>;
  /** Removes everything this sink wrote or started (temp files); no partial output stays in the out dir. */
  abort(): Promise<void>;
}

async function png(frame: Frame): Promise<Uint8Array> {
  return encodeImage(toRgb8(frame), frame.width, frame.height, { format: 'png' });
}

/** Writes `frame` to `file` as an 8-bit PNG (rounded, clamped) with `writeFileAtomic`, creating its folder. */
export async function writePng(file: string, frame: Frame): Promise<void> {
  const bytes = await png(frame);
  await fsp.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFileAtomic(file, bytes);
}

function checkFrame(frame: Frame, first: Frame | undefined, where: string): void {
  if (frame.rgb.length !== frame.width * frame.height * 3) throw new RangeError(`${where}: frame ${frame.name} has ${frame.rgb.length} values for ${frame.width}x${frame.height}x3`);
  if (first && (frame.width !== first.width || frame.height !== first.height)) {
    throw new RangeError(`${where}: frame ${frame.name} is ${frame.width}x${frame.height}, the first frame was ${first.width}x${first.height}`);
  }
}

/**
 * A folder built in a temporary folder beside `target` and published whole by `writeDirAtomic`
 * (which replaces an older `target` safely): its fill step waits until `publish` or `discard`.
 */
class StagedDir {
  private tmp?: Promise<string>;
  private done?: Promise<void>;
  private settle?: (publish: boolean) => void;
  private readonly names = new Set<string>();

  constructor(readonly target: string) {}

  private open(): Promise<string> {
    if (this.tmp === undefined) {
      const gate = new Promise<boolean>((resolve) => (this.settle = resolve));
      let opened!: (tmp: string) => void;
      const tmp = new Promise<string>((resolve) => (opened = resolve));
      this.done = writeDirAtomic(this.target, async (dir) => {
        opened(dir);
        if (!(await gate)) throw new Error('discarded');
      });
      // A failure before the folder exists (e.g. the parent cannot be made) ends the wait too.
      this.tmp = Promise.race([tmp, this.done.then(() => Promise.reject(new Error('unreachable')))]);
    }
    return this.tmp;
  }

  async add(name: string, bytes: Uint8Array): Promise<void> {
    if (name === '' || name === '.' || name === '..' || name !== path.basename(name)) throw new Error(`${this.target}: bad frame name ${JSON.stringify(name)}`);
    if (this.names.has(name)) throw new Error(`${this.target}: two frames named ${name}`);
    this.names.add(name);
    // Plain writes: the whole folder is fsynced before it is published.
    await fsp.writeFile(path.join(await this.open(), `${name}.png`), bytes);
  }

  async publish(): Promise<string> {
    await this.open();
    this.settle!(true);
    await this.done;
    return this.target;
  }

  async discard(): Promise<void> {
    if (this.tmp === undefined) return;
    this.settle!(false);
    await this.done!.catch(() => undefined);
  }
}

class ImageSink implements FrameSink {
  private bytes?: Uint8Array;
  private frame?: Frame;

  constructor(private readonly file: string) {}

  async write(frame: Frame): Promise<void> {
    if (this.frame !== undefined) throw new Error(`${this.file}: an image output takes one frame, got a second (${frame.name})`);
    checkFrame(frame, undefined, this.file);
    this.frame = frame;
    this.bytes = await png(frame);
  }

  async finish(): Promise<string[]> {
    if (this.bytes === undefined) throw new Error(`${this.file}: no frame was written`);
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    await writeFileAtomic(this.file, this.bytes);
    return [this.file];
  }

  async abort(): Promise<void> {
    this.bytes = undefined;
  }
}

class FolderSink implements FrameSink {
  private readonly dir: StagedDir;
  private first?: Frame;

  constructor(target: string) {
    this.dir = new StagedDir(target);
  }

  async write(frame: Frame): Promise<void> {
    checkFrame(frame, this.first, this.dir.target);
    this.first ??= frame;
    await this.dir.add(frame.name, await png(frame));
  }

  async finish(): Promise<string[]> {
    if (this.first === undefined) throw new Error(`${this.dir.target}: no frame was written`);
    return [await this.dir.publish()];
  }

  abort(): Promise<void> {
    return this.dir.discard();
  }
}

class VideoSink implements FrameSink {
  private encoder?: Promise<VideoEncoder>;
  private first?: Frame;
  private readonly frames?: StagedDir;

  constructor(
    private readonly source: FrameSource,
    private readonly file: string,
    framesDir: string | undefined,
  ) {
    if (framesDir !== undefined) this.frames = new StagedDir(framesDir);
  }

  async write(frame: Frame): Promise<void> {
    checkFrame(frame, this.first, this.file);
    if (this.first === undefined) {
      this.first = frame;
      const s = this.source;
      this.encoder = (async () => VideoEncoder.start(s.ffmpeg ?? (await ffmpeg()), this.file, {
        width: frame.width,
        height: frame.height,
        fps: s.fpsRational ?? String(s.fps ?? 25),
      }))();
    }
    const bytes = toRgb8(frame);
    await (await this.encoder!).write(bytes);
    if (this.frames) await this.frames.add(frame.name, await encodeImage(bytes, frame.width, frame.height, { format: 'png' }));
  }

  async finish(): Promise<string[]> {
    if (this.encoder === undefined) throw new Error(`${this.file}: no frame was written`);
    const encoder = await this.encoder;
    // The frames folder goes out only with a complete video, and the video (a rename) last.
    await encoder.end();
    const dir = this.frames ? await this.frames.publish() : undefined;
    return [await encoder.finish(), ...(dir !== undefined ? [dir] : [])];
  }

  async abort(): Promise<void> {
    const encoder = await this.encoder?.catch(() => undefined);
    await Promise.all([encoder?.abort(), this.frames?.discard()]);
  }
}

/**
 * Where the outputs of one source go (see `outputPaths`): images -> DIR/<name>.png; folder ->
 * DIR/<folder name>/<frame name>.png; video -> DIR/<video name>.mp4 (same frame count and frame
 * rate) and with keepFrames also DIR/<video name>/<frame name>.png. PNGs are 8-bit (rounded,
 * clamped). Nothing is visible in `outDir` before `finish`. Throws if an output would replace
 * or lie inside the source itself.
 */
export function sinkFor(source: FrameSource, outDir: string, opts: SinkOptions = {}): FrameSink {
  checkOutputs([source], outDir, opts);
  const [first, second] = outputPaths(source, outDir, opts);
  if (source.kind === 'image') return new ImageSink(first!);
  if (source.kind === 'folder') return new FolderSink(first!);
  return new VideoSink(source, first!, second);
}
