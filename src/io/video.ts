// Video files through an ffmpeg executable: finding one, probing a file (size, frame rate, exact
// frame count), decoding it to raw RGB frames streamed one at a time, and encoding raw RGB frames
// to an H.264 MP4 that is renamed into place only when complete.
//
// ffmpeg is run with argument arrays (no shell). Only `ffmpeg` itself is used: the npm package
// that ships a binary has no ffprobe, so probing reads ffmpeg's own stream description and counts
// frames by decoding them into the null muxer. Every failure names the file and quotes the last
// lines ffmpeg wrote to stderr.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fsyncDir } from './atomic.ts';

/** Environment variable naming the ffmpeg executable to use (a path, or a command looked up on PATH). */
export const FFMPEG_ENV = 'SIMDEBLUR_FFMPEG';

/** The optional npm package whose platform packages ship an ffmpeg binary. */
export const FFMPEG_PACKAGE = '@ffmpeg-installer/ffmpeg';

/** An ffmpeg executable and where it was found. */
export interface FfmpegLocation {
  /** Absolute path of the executable. */
  readonly path: string;
  /** `env`: from SIMDEBLUR_FFMPEG; `path`: `ffmpeg` on PATH; `package`: the binary of @ffmpeg-installer/ffmpeg. */
  readonly source: 'env' | 'path' | 'package';
}

/** What a located ffmpeg can do, found once per executable. */
export interface Ffmpeg extends FfmpegLocation {
  /** Whether it has the libx264 encoder (otherwise videos are written with mpeg4). */
  readonly libx264: boolean;
  /** Whether it knows `-fps_mode` (ffmpeg 5.1+); older ones take `-vsync`. */
  readonly fpsMode: boolean;
}

/** No usable ffmpeg: the message says how to get one. */
export class FfmpegNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FfmpegNotFoundError';
  }
}

/** An ffmpeg run that failed on `file`; `stderr` holds the last lines ffmpeg wrote. */
export class FfmpegError extends Error {
  constructor(
    message: string,
    /** The video being read or written. */
    readonly file: string,
    /** ffmpeg's last stderr lines. */
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'FfmpegError';
  }
}

/** How to get an ffmpeg, for error messages. */
export const FFMPEG_HELP =
  'Video inputs need ffmpeg (image files and frame folders do not). Install it with the system package manager ' +
  `(e.g. \`apt-get install ffmpeg\`, \`brew install ffmpeg\`), or \`npm install ${FFMPEG_PACKAGE}\` beside simdeblur, ` +
  `or set ${FFMPEG_ENV} to the path of an ffmpeg executable.`;

const exeName = process.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg';

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    if (!(await fsp.stat(p)).isFile()) return false;
    await fsp.access(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` looked up in the folders of PATH (with `.exe` on Windows), or undefined. */
async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const dirs = (env.PATH ?? env.Path ?? '').split(path.delimiter).filter((d) => d !== '');
  const names = process.platform === 'win32' && path.extname(name) === '' ? [`${name}.exe`, name] : [name];
  for (const dir of dirs) {
    for (const n of names) {
      const p = path.resolve(dir, n);
      if (await isExecutableFile(p)) return p;
    }
  }
  return undefined;
}

/** The binary of the optional ffmpeg package, or undefined when it is not installed. */
function packagedFfmpeg(): string | undefined {
  try {
    // The package throws (a string) when its platform binary is missing.
    const found = createRequire(import.meta.url)(FFMPEG_PACKAGE) as { path?: unknown };
    return typeof found.path === 'string' ? found.path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Finds ffmpeg. Precedence: SIMDEBLUR_FFMPEG when set (a path, or a command name looked up on
 * PATH; if it names nothing usable that is an error, not a reason to fall back silently), then
 * `ffmpeg` on PATH, then the binary shipped by the optional npm package @ffmpeg-installer/ffmpeg.
 * `fromPackage` replaces the package lookup (tests).
 */
export async function locateFfmpeg(env: NodeJS.ProcessEnv = process.env, fromPackage: () => string | undefined = packagedFfmpeg): Promise<FfmpegLocation> {
  const given = env[FFMPEG_ENV];
  if (given !== undefined && given !== '') {
    const bare = !given.includes('/') && !given.includes(path.sep);
    const p = bare ? await onPath(given, env) : (await isExecutableFile(path.resolve(given))) ? path.resolve(given) : undefined;
    if (p === undefined) {
      throw new FfmpegNotFoundError(`${FFMPEG_ENV}=${given} ${bare ? 'is not a command on PATH' : 'is not an executable file'}. ${FFMPEG_HELP}`);
    }
    return { path: p, source: 'env' };
  }
  const system = await onPath(exeName, env);
  if (system !== undefined) return { path: system, source: 'path' };
  const shipped = fromPackage();
  if (shipped !== undefined && (await isExecutableFile(shipped))) return { path: shipped, source: 'package' };
  throw new FfmpegNotFoundError(`ffmpeg was not found (not on PATH, ${FFMPEG_PACKAGE} not installed). ${FFMPEG_HELP}`);
}

const capabilities = new Map<string, Promise<Ffmpeg>>();

/** Locates ffmpeg (see `locateFfmpeg`) and finds out what it can do; the latter is cached per executable. */
export async function ffmpeg(env: NodeJS.ProcessEnv = process.env): Promise<Ffmpeg> {
  const loc = await locateFfmpeg(env);
  let caps = capabilities.get(loc.path);
  if (caps === undefined) {
    caps = probeCapabilities(loc);
    capabilities.set(loc.path, caps);
    caps.catch(() => capabilities.delete(loc.path));
  }
  return caps;
}

async function probeCapabilities(loc: FfmpegLocation): Promise<Ffmpeg> {
  const encoders = await run(loc.path, ['-hide_banner', '-nostdin', '-encoders']);
  if (encoders.error !== undefined || encoders.code !== 0) {
    const why = encoders.error?.message ?? `exit code ${encoders.code}: ${encoders.stderr.tail()}`;
    throw new FfmpegNotFoundError(`${loc.path} (found via ${loc.source === 'env' ? FFMPEG_ENV : loc.source === 'path' ? 'PATH' : FFMPEG_PACKAGE}) does not run as ffmpeg: ${why}. ${FFMPEG_HELP}`);
  }
  // Options are checked before anything runs, so an unknown one fails at once.
  const fpsMode = await run(loc.path, ['-hide_banner', '-nostdin', '-fps_mode', 'passthrough', '-version']);
  return {
    ...loc,
    libx264: /^\s*V\S*\s+libx264\s/m.test(encoders.stdout),
    fpsMode: fpsMode.error === undefined && fpsMode.code === 0,
  };
}

/** Each decoded frame passed on once, whatever its timestamp (no duplicating or dropping to a constant rate). */
function passthrough(ff: Ffmpeg): string[] {
  return ff.fpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough'];
}

/** The beginning of a process's stderr (for parsing) and its last lines (for error messages), both bounded. */
class StderrLog {
  private head = '';
  private last = '';
  private static readonly HEAD = 256 * 1024;
  private static readonly TAIL = 16 * 1024;

  add(chunk: string): void {
    if (this.head.length < StderrLog.HEAD) this.head += chunk.slice(0, StderrLog.HEAD - this.head.length);
    this.last = (this.last + chunk).slice(-StderrLog.TAIL);
  }

  start(): string {
    return this.head;
  }

  /** The last `n` non-empty lines. */
  tail(n = 12): string {
    const lines = this.last.split(/\r?\n|\r/).map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
    return lines.slice(-n).join('\n');
  }
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started. */
  readonly error?: Error;
}

/** A spawned ffmpeg with its stderr collected and its end as a promise (settles once, never rejects). */
interface Proc {
  readonly child: ChildProcess;
  readonly stderr: StderrLog;
  readonly exited: Promise<Exit>;
}

function start(exe: string, args: readonly string[], stdin: 'pipe' | 'ignore'): Proc {
  const child = spawn(exe, args, { stdio: [stdin, 'pipe', 'pipe'], windowsHide: true });
  const stderr = new StderrLog();
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => stderr.add(s));
  let error: Error | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.on('error', (e) => (error = e));
    // 'close' follows 'exit' once stdio is closed, and follows 'error' when spawning failed.
    child.on('close', (code, signal) => resolve({ code, signal, ...(error ? { error } : {}) }));
  });
  return { child, stderr, exited };
}

/** Kills `p` (if still running) and waits until it is gone. */
async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await p.exited;
}

interface RunResult extends Exit {
  readonly stdout: string;
  readonly stderr: StderrLog;
}

async function run(exe: string, args: readonly string[]): Promise<RunResult> {
  const p = start(exe, args, 'ignore');
  let stdout = '';
  p.child.stdout!.setEncoding('utf8');
  p.child.stdout!.on('data', (s: string) => {
    // Bounded: only the end of -progress output matters.
    stdout = (stdout + s).slice(-64 * 1024);
  });
  const exit = await p.exited;
  return { ...exit, stdout, stderr: p.stderr };
}

/** `<what>: ffmpeg exited with code 1:` and ffmpeg's last stderr lines, indented. */
function failure(what: string, file: string, exit: Exit, stderr: StderrLog): FfmpegError {
  const tail = stderr.tail();
  const how = exit.error ? `could not run ffmpeg (${exit.error.message})` : exit.signal ? `ffmpeg was killed by ${exit.signal}` : `ffmpeg exited with code ${exit.code}`;
  return new FfmpegError(`${what}: ${how}${tail ? `:\n  ${tail.split('\n').join('\n  ')}` : ''}`, file, tail);
}

/** What `probeVideo` finds out about a video. */
export interface VideoInfo {
  /** Frame size as decoded (after the rotation a phone video asks for). */
  readonly width: number;
  readonly height: number;
  /** Exact number of frames, counted by decoding. */
  readonly frames: number;
  /** Frame rate (the stream's average rate, else its base rate; 25 when the file states none). */
  readonly fps: number;
  /** The frame rate as ffmpeg takes it, e.g. `30000/1001` for the 29.97 that ffmpeg prints. */
  readonly fpsRational: string;
  /** The decoder's name, e.g. `h264`. */
  readonly codec: string;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * A frame rate as ffmpeg prints it (`25`, `29.97`, `12.50`, `1k`) as an exact rational. ffmpeg
 * rounds to two decimals, so the NTSC family (N*1000/1001: 23.98, 29.97, 59.94, ...) is
 * recognised; other decimals are taken as written. Undefined for anything that is not a rate.
 */
export function parseFrameRate(text: string): { readonly fps: number; readonly rational: string } | undefined {
  const m = /^(\d+(?:\.\d+)?)(k?)$/.exec(text.trim());
  if (m === null) return undefined;
  const scale = m[2] === 'k' ? 1000 : 1;
  const value = Number(m[1]) * scale;
  if (!(value > 0) || !Number.isFinite(value)) return undefined;
  const whole = Math.round(value);
  if (Math.abs(value - whole) < 0.005) return { fps: whole, rational: `${whole}/1` };
  const ntsc = Math.round(value * 1.001);
  if (ntsc > 0 && Math.abs(value - ntsc / 1.001) < 0.006) return { fps: (ntsc * 1000) / 1001, rational: `${ntsc * 1000}/1001` };
  const decimals = m[1]!.split('.')[1] ?? '';
  const den = 10 ** decimals.length;
  const num = Math.round(Number(m[1]) * den) * scale;
  const g = gcd(num, den);
  return { fps: value, rational: `${num / g}/${den / g}` };
}

/** The video stream lines of ffmpeg's description of one input decoded into the null muxer. */
function describeStream(log: string): { readonly input?: string; readonly output?: string } {
  const mapped = /Stream #0:(\d+)\S* -> #0:0/.exec(log);
  const outputAt = log.search(/^Output #0/m);
  const inputPart = outputAt < 0 ? log : log.slice(0, outputAt);
  const index = mapped?.[1];
  const input =
    index === undefined ? undefined : new RegExp(`Stream #0:${index}(?:\\[[^\\]]*\\])?(?:\\([^)]*\\))?: Video: (.*)`).exec(inputPart)?.[1];
  const output = outputAt < 0 ? undefined : /Stream #0:0\S*: Video: (.*)/.exec(log.slice(outputAt))?.[1];
  return { ...(input !== undefined ? { input } : {}), ...(output !== undefined ? { output } : {}) };
}

/** `WxH` in a stream line; not the `0x31637661` of a codec tag, which ends with `)`. */
function frameSize(line: string): { width: number; height: number } | undefined {
  const m = /[\s,](\d+)x(\d+)(?=[\s,[]|$)/.exec(line);
  return m ? { width: Number(m[1]), height: Number(m[2]) } : undefined;
}

/**
 * Probes `file`: its first video stream's size, frame rate and exact frame count. The count
 * comes from decoding the whole stream without keeping frames (the container's own figure is
 * often missing or approximate), with the same options as `decodeVideo`, so the two agree.
 */
export async function probeVideo(ff: Ffmpeg, file: string): Promise<VideoInfo> {
  const args = ['-hide_banner', '-nostdin', '-i', file, '-map', '0:V:0', ...passthrough(ff), '-nostats', '-progress', 'pipe:1', '-f', 'null', '-'];
  const r = await run(ff.path, args);
  const log = r.stderr.start();
  const { input, output } = describeStream(log);
  const counts = [...r.stdout.matchAll(/^frame=(\d+)/gm)];
  const frames = counts.length > 0 ? Number(counts[counts.length - 1]![1]) : 0;
  if (r.code !== 0 || r.error !== undefined) {
    if (/matches no streams/.test(log)) throw new FfmpegError(`${file} has no video stream`, file, r.stderr.tail());
    // A stream with no frame in it fails in the filter graph, whose message says nothing useful.
    if (r.error === undefined && input !== undefined && frames === 0) throw failure(`video ${file} has no frames`, file, r, r.stderr);
    throw failure(`cannot read video ${file}`, file, r, r.stderr);
  }
  const size = output !== undefined ? frameSize(output) : undefined;
  if (input === undefined || size === undefined) throw new FfmpegError(`cannot read video ${file}: ffmpeg did not describe its video stream`, file, r.stderr.tail());
  const rate = parseFrameRate(/([\d.]+k?) fps/.exec(input)?.[1] ?? '') ?? parseFrameRate(/([\d.]+k?) tbr/.exec(input)?.[1] ?? '') ?? { fps: 25, rational: '25/1' };
  const codec = /^(\w+)/.exec(input)?.[1] ?? 'unknown';
  return { width: size.width, height: size.height, frames, fps: rate.fps, fpsRational: rate.rational, codec };
}

/** Hooks for `decodeVideo`. */
export interface DecodeHooks {
  /** Called with the ffmpeg process once it is spawned (tests watch it end). */
  readonly onSpawn?: (child: ChildProcess) => void;
}

/**
 * The frames of `file`'s first video stream as packed 8-bit RGB (`width * height * 3` bytes,
 * a new buffer each), streamed from ffmpeg one at a time: ffmpeg is held back while the consumer
 * works (pipe backpressure), so a video is never held whole. Stopping early (break, return, a
 * throw) kills ffmpeg and waits for it to exit. `size` is the decoded size `probeVideo` reported.
 */
export async function* decodeVideo(ff: Ffmpeg, file: string, size: { readonly width: number; readonly height: number }, hooks: DecodeHooks = {}): AsyncGenerator<Uint8Array, void, undefined> {
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-map', '0:V:0', ...passthrough(ff), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  const p = start(ff.path, args, 'ignore');
  hooks.onSpawn?.(p.child);
  const frameBytes = size.width * size.height * 3;
  let frame = Buffer.allocUnsafe(frameBytes);
  let filled = 0;
  let complete = false;
  try {
    for await (const chunk of p.child.stdout! as AsyncIterable<Buffer>) {
      let at = 0;
      while (at < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - at);
        chunk.copy(frame, filled, at, at + n);
        filled += n;
        at += n;
        if (filled === frameBytes) {
          const out = frame;
          frame = Buffer.allocUnsafe(frameBytes);
          filled = 0;
          yield new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
        }
      }
    }
    const exit = await p.exited;
    if (exit.code !== 0 || exit.error !== undefined) throw failure(`cannot decode video ${file}`, file, exit, p.stderr);
    if (filled !== 0) throw new FfmpegError(`cannot decode video ${file}: the last frame is incomplete (${filled} of ${frameBytes} bytes)`, file, p.stderr.tail());
    complete = true;
  } finally {
    if (!complete) await stop(p);
  }
}

/** Options of `VideoEncoder.start`. */
export interface EncodeOptions {
  readonly width: number;
  readonly height: number;
  /** Frame rate as ffmpeg takes it: `30000/1001`, `25`, `12.5`. */
  readonly fps: string;
  /** H.264 constant rate factor (default 18: visually lossless). */
  readonly crf?: number;
}

let tempCounter = 0;

/**
 * RGB to BT.709 yuv420p. 4:2:0 needs even sizes: an odd width or height gets one more column or
 * row, a copy of the last one (black would bleed into the edge pixels' shared chroma).
 */
function encodeFilter(width: number, height: number): string {
  const toYuv = 'scale=out_color_matrix=bt709:out_range=tv:flags=accurate_rnd+full_chroma_int,format=yuv420p';
  const right = width % 2;
  const bottom = height % 2;
  if (right === 0 && bottom === 0) return toYuv;
  // fillborders is given planar RGB explicitly, so the format conversion cannot land before it.
  return `pad=${width + right}:${height + bottom},format=gbrp,fillborders=right=${right}:bottom=${bottom}:mode=smear,${toYuv}`;
}

/**
 * Writes packed 8-bit RGB frames to an MP4 through ffmpeg: H.264 (libx264, yuv420p, BT.709; an
 * odd width or height is padded by repeating the last column or row; mpeg4 where libx264 is
 * missing) at the given frame rate, one output frame per frame written. The video is built in
 * `<file>.tmp-<pid>-<n>` beside the target (a name `cleanStaleTemps` removes after a crash) and
 * renamed over `file` by `finish`.
 */
export class VideoEncoder {
  private aborted = false;
  private ended?: Promise<void>;
  private committed = false;

  private constructor(
    /** The MP4 this encoder makes. */
    readonly file: string,
    private readonly temp: string,
    private readonly proc: Proc,
    private readonly frameBytes: number,
  ) {
    // EPIPE when ffmpeg has died: reported by `write`/`finish` from its exit status instead.
    proc.child.stdin!.on('error', () => undefined);
    proc.child.stdout!.resume();
  }

  /** Starts ffmpeg writing to a temporary file beside `file` (whose folder is created). */
  static async start(ff: Ffmpeg, file: string, o: EncodeOptions): Promise<VideoEncoder> {
    if (!(Number.isInteger(o.width) && Number.isInteger(o.height) && o.width > 0 && o.height > 0)) {
      throw new RangeError(`VideoEncoder: bad frame size ${o.width}x${o.height}`);
    }
    const target = path.resolve(file);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    // Reserve a fresh name ('wx'), then let ffmpeg overwrite it.
    let temp: string;
    for (;;) {
      const candidate = `${target}.tmp-${process.pid}-${tempCounter++}`;
      try {
        await (await fsp.open(candidate, 'wx')).close();
        temp = candidate;
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    const codec = ff.libx264
      ? ['-c:v', 'libx264', '-preset', 'medium', '-crf', String(o.crf ?? 18)]
      : ['-c:v', 'mpeg4', '-q:v', '2'];
    const args = [
      '-hide_banner', '-nostdin', '-v', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-video_size', `${o.width}x${o.height}`, '-framerate', o.fps, '-i', 'pipe:0',
      '-map', '0:v:0',
      '-vf', encodeFilter(o.width, o.height),
      ...codec,
      '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709',
      '-movflags', '+faststart', '-f', 'mp4', temp,
    ];
    const proc = start(ff.path, args, 'pipe');
    return new VideoEncoder(target, temp, proc, o.width * o.height * 3);
  }

  private async failed(): Promise<never> {
    const exit = await this.proc.exited;
    await fsp.rm(this.temp, { force: true });
    throw failure(`cannot encode video ${this.file}`, this.file, exit, this.proc.stderr);
  }

  /** Sends one frame (`width * height * 3` bytes), waiting while ffmpeg catches up. */
  async write(rgb: Uint8Array): Promise<void> {
    if (this.aborted || this.ended) throw new Error(`VideoEncoder ${this.file}: write after ${this.aborted ? 'abort' : 'end'}`);
    if (rgb.length !== this.frameBytes) throw new RangeError(`VideoEncoder ${this.file}: a frame has ${rgb.length} bytes, expected ${this.frameBytes}`);
    const stdin = this.proc.child.stdin!;
    let gone = false;
    const ended = this.proc.exited.then(() => (gone = true));
    if (stdin.destroyed || this.proc.child.exitCode !== null) return this.failed();
    if (!stdin.write(rgb)) {
      await Promise.race([new Promise<void>((resolve) => stdin.once('drain', resolve)), ended]);
      if (gone) return this.failed();
    }
  }

  /**
   * Closes the stream and waits until ffmpeg has completed the temporary file (synced to disk);
   * `file` is not touched yet. Called by `finish` when not called before.
   */
  end(): Promise<void> {
    if (this.aborted) return Promise.reject(new Error(`VideoEncoder ${this.file}: end after abort`));
    this.ended ??= (async () => {
      this.proc.child.stdin!.end();
      const exit = await this.proc.exited;
      if (exit.code !== 0 || exit.error !== undefined) return this.failed();
      const fh = await fsp.open(this.temp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    })();
    return this.ended;
  }

  /** Ends the stream (see `end`) and renames the finished video over `file`. */
  async finish(): Promise<string> {
    await this.end();
    if (!this.committed) {
      await fsp.rename(this.temp, this.file);
      this.committed = true;
      await fsyncDir(path.dirname(this.file));
    }
    return this.file;
  }

  /** Kills ffmpeg and deletes the temporary file; `file` is left as it was. Does nothing after `finish`. */
  async abort(): Promise<void> {
    if (this.committed) return;
    this.aborted = true;
    this.proc.child.stdin!.destroy();
    await stop(this.proc);
    await fsp.rm(this.temp, { force: true });
  }
}
