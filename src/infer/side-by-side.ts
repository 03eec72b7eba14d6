// Frames placed side by side (input | output | ground truth), for looking at a result.
import type { Frame } from './frames.ts';

/** Equal-size float RGB frames `[H, W, 3]` laid left to right as one frame. */
export function sideBySide(name: string, parts: readonly Float32Array[], width: number, height: number): Frame {
  const row = width * 3;
  const rgb = new Float32Array(parts.length * row * height);
  for (let y = 0; y < height; y++) parts.forEach((p, i) => rgb.set(p.subarray(y * row, (y + 1) * row), (y * parts.length + i) * row));
  return { name, width: width * parts.length, height, rgb };
}
