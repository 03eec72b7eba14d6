// Between the browser's images and the model's frames (float RGB HWC in [0, 1]), with the same
// arithmetic as Node's image reading and PNG writing, so that the page and `simdeblur deblur`
// see and write the same values: bytes / 255 in; round(v · 255), clamped, out.
import type { Frame } from '../../infer/frames.ts';

/** Decodes an image file or download into a frame; the stored colour values, no colour management. */
export async function decodeFrame(blob: Blob, name: string): Promise<Frame> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (err) {
    throw new Error(`cannot decode ${name} as an image (${blob.type || 'unknown type'}, ${blob.size} bytes): ${err instanceof Error ? err.message : String(err)}`);
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (ctx === null) throw new Error('this browser gives no 2-D canvas to read the image with');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const rgb = new Float32Array(width * height * 3);
  // Division (not a reciprocal product), as Node decodes image files.
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    rgb[q] = rgba[p]! / 255;
    rgb[q + 1] = rgba[p + 1]! / 255;
    rgb[q + 2] = rgba[p + 2]! / 255;
  }
  return { name, width, height, rgb };
}

/** A frame as an opaque canvas, quantised as `toRgb8` (src/infer/frames.ts) quantises PNG output. */
export function frameCanvas(frame: Frame): HTMLCanvasElement {
  const { width, height, rgb } = frame;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error('this browser gives no 2-D canvas to draw the result on');
  const img = ctx.createImageData(width, height);
  const out = img.data;
  const byte = (v: number) => (v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0);
  for (let p = 0, q = 0; q < rgb.length; p += 4, q += 3) {
    out[p] = byte(rgb[q]!);
    out[p + 1] = byte(rgb[q + 1]!);
    out[p + 2] = byte(rgb[q + 2]!);
    out[p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** A frame as a PNG data URL (what `<img id="result">` holds) and as a Blob (for the download). */
export async function encodePng(frame: Frame): Promise<{ readonly dataUrl: string; readonly blob: Blob }> {
  const canvas = frameCanvas(frame);
  const blob = await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser could not encode the result as PNG'))), 'image/png'));
  return { dataUrl: canvas.toDataURL('image/png'), blob };
}
