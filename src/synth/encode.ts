// Encoding synthesised frames with sharp. Encoders are run with fixed options so that the same
// pixels always give the same bytes.
import sharp from 'sharp';
import type { ImageFormat } from './layout.ts';

export interface EncodeOptions {
  readonly format: ImageFormat;
  /** JPEG quality 1..100 (format 'jpeg'). */
  readonly quality?: number;
}

/** JPEG quality (1..100) used when none is given: 90. */
export const defaultJpegQuality = 90;

function raw(bytes: Uint8Array, width: number, height: number): sharp.Sharp {
  if (bytes.length !== width * height * 3) throw new Error(`encode: ${width}x${height}x3 needs ${width * height * 3} bytes, got ${bytes.length}`);
  return sharp(bytes, { raw: { width, height, channels: 3 } });
}

export function checkJpegQuality(q: number): void {
  if (!Number.isInteger(q) || q < 1 || q > 100) throw new Error(`JPEG quality must be an integer in 1..100, got ${q}`);
}

/** PNG or JPEG file bytes of 8-bit RGB pixels. */
export async function encodeImage(bytes: Uint8Array, width: number, height: number, o: EncodeOptions): Promise<Uint8Array> {
  const img = raw(bytes, width, height);
  if (o.format === 'png') return img.png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer();
  const quality = o.quality ?? defaultJpegQuality;
  checkJpegQuality(quality);
  return img.jpeg({ quality, chromaSubsampling: '4:2:0', mozjpeg: false }).toBuffer();
}

/** Pixels after a JPEG round trip: compression artefacts for layouts stored losslessly. */
export async function jpegRoundTrip(bytes: Uint8Array, width: number, height: number, quality: number): Promise<Uint8Array> {
  const jpeg = await encodeImage(bytes, width, height, { format: 'jpeg', quality });
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== width || info.height !== height) throw new Error('jpegRoundTrip: decoded image has an unexpected shape');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
