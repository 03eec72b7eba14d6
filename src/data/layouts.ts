// Where the frames of each published benchmark live (docs/data.md shows the layouts). A layout
// lists the videos of a split and, for each, the folder of ground-truth frames (which defines the frame list) and
// the folder of blurry input frames; input and ground truth share file names.
import path from 'node:path';
import { DataError, isDir, listDirs } from './image.ts';

export interface VideoDirs {
  readonly name: string;
  /** Ground-truth frames; null for an input-only folder (inference). */
  readonly gtDir: string | null;
  readonly inputDir: string;
  /** Why the video cannot be read at all (its folder is a link loop, say), naming the folder. */
  readonly problem?: string;
}

export interface Layout {
  /** What kind of layout, for messages and the index cache key. */
  readonly kind: string;
  /** Everything that determines the index (folders, variant), for the cache key. */
  readonly key: Readonly<Record<string, string>>;
  listVideos(): Promise<VideoDirs[]>;
}

async function requireDir(dir: string, what: string): Promise<string> {
  const abs = path.resolve(dir);
  if (!(await isDir(abs))) throw new DataError(`${what} ${abs} does not exist or is not a folder`, abs);
  return abs;
}

/** `root/<video>/<gtSub>/` and `root/<video>/<inputSub>/`: GoPro, DVD, BSD. */
export function nestedLayout(kind: string, root: string, gtSub: string, inputSub: string): Layout {
  return {
    kind,
    key: { kind, root: path.resolve(root), gt: gtSub, input: inputSub },
    async listVideos() {
      const abs = await requireDir(root, `${kind} root`);
      return (await listDirs(abs)).map(({ name, problem }) => ({
        name,
        gtDir: path.join(abs, name, gtSub),
        inputDir: path.join(abs, name, inputSub),
        ...(problem !== undefined ? { problem: `video folder ${path.join(abs, name)} ${problem}` } : {}),
      }));
    },
  };
}

/** GoPro (GOPRO_Large): `<seq>/sharp`, and `<seq>/blur` or `<seq>/blur_gamma`. */
export function goproLayout(root: string, useGamma: boolean): Layout {
  return nestedLayout('gopro', root, 'sharp', useGamma ? 'blur_gamma' : 'blur');
}

/** DVD quantitative_datasets: `<video>/GT`, `<video>/input`. */
export function dvdLayout(root: string): Layout {
  return nestedLayout('dvd', root, 'GT', 'input');
}

/** BSD: `<video>/Sharp/RGB`, `<video>/Blur/RGB`. */
export function bsdLayout(root: string): Layout {
  return nestedLayout('bsd', root, path.join('Sharp', 'RGB'), path.join('Blur', 'RGB'));
}

/** REDS: `rootGt/<video>/` and `rootInput/<video>/` (videos listed from rootGt). */
export function redsLayout(rootGt: string, rootInput: string): Layout {
  return {
    kind: 'reds',
    key: { kind: 'reds', rootGt: path.resolve(rootGt), rootInput: path.resolve(rootInput) },
    async listVideos() {
      const gt = await requireDir(rootGt, 'REDS ground-truth root');
      const input = await requireDir(rootInput, 'REDS input root');
      return (await listDirs(gt)).map(({ name, problem }) => ({
        name,
        gtDir: path.join(gt, name),
        inputDir: path.join(input, name),
        ...(problem !== undefined ? { problem: `video folder ${path.join(gt, name)} ${problem}` } : {}),
      }));
    },
  };
}

/** One folder of frames, no ground truth; the video is named after the folder. */
export function folderLayout(root: string): Layout {
  return {
    kind: 'folder',
    key: { kind: 'folder', root: path.resolve(root) },
    async listVideos() {
      const abs = await requireDir(root, 'frame folder');
      return [{ name: path.basename(abs), gtDir: null, inputDir: abs }];
    },
  };
}
