// Source photographs: listing a folder, decoding to 8-bit RGB and resizing with sharp.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { fromBytes, type RgbImage } from './render.ts';

/** The photographs shipped with the project (see assets/images/SOURCES.md). */
export const defaultImagesDir = fileURLToPath(new URL('../../assets/images', import.meta.url));

const PHOTO_EXT = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.bmp']);

/** Image files of `dir`, sorted by name (so a dataset does not depend on directory order). */
export async function listPhotos(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    throw new Error(`source images ${dir}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const files = names.filter((n) => PHOTO_EXT.has(path.extname(n).toLowerCase())).sort();
  if (files.length === 0) throw new Error(`source images ${dir}: no image files (${[...PHOTO_EXT].join(', ')})`);
  return files.map((n) => path.join(dir, n));
}

/** 8-bit RGB pixels of a photograph, upright (EXIF orientation applied), alpha dropped. */
export interface Photo {
  readonly file: string;
  readonly width: number;
  readonly height: number;
  /** `[height, width, 3]` bytes. */
  readonly bytes: Uint8Array;
}

/**
 * Decodes a photograph to 8-bit RGB (EXIF orientation applied, alpha dropped, sRGB); errors name the
 * file.
 */
export async function readPhoto(file: string): Promise<Photo> {
  try {
    const { data, info } = await sharp(file).autoOrient().removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { file, width: info.width, height: info.height, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    throw new Error(`source image ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** The photograph resized (Lanczos) to `width`×`height`, as float RGB. */
export async function resizedPhoto(photo: Photo, width: number, height: number): Promise<RgbImage> {
  if (width === photo.width && height === photo.height) return fromBytes(width, height, photo.bytes);
  const data = await sharp(photo.bytes, { raw: { width: photo.width, height: photo.height, channels: 3 } })
    .resize(width, height, { kernel: 'lanczos3', fit: 'fill' })
    .raw()
    .toBuffer();
  return fromBytes(width, height, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}
