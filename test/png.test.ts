import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../src/runtime/index.ts';
import { Rng } from '../src/util/rng.ts';
import { crc32, decodePng, encodePng, imageToPng, readPng, readPngHeader, tensorToImage, writePng, type Channels, type RawImage } from '../src/io/png.ts';

function randomImage(seed: number, width: number, height: number, channels: Channels): RawImage {
  const rng = Rng.seeded(seed);
  const data = new Uint8Array(width * height * channels);
  // Half noise, half smooth ramps, so every filter type wins on some rows.
  for (let i = 0; i < data.length; i++) data[i] = i % 7 < 3 ? rng.int(256) : (i * 3 + Math.floor(i / (width * channels))) & 0xff;
  return { data, width, height, channels };
}

/** Rewrite one chunk body byte and fix that chunk's CRC, to build unusual but well-formed files. */
function patchChunk(png: Uint8Array, type: string, offset: number, value: number): Uint8Array {
  const out = png.slice();
  const view = new DataView(out.buffer);
  let pos = 8;
  for (;;) {
    const length = view.getUint32(pos);
    const name = String.fromCharCode(...out.subarray(pos + 4, pos + 8));
    if (name === type) {
      out[pos + 8 + offset] = value;
      view.setUint32(pos + 8 + length, crc32(out.subarray(pos + 4, pos + 8 + length)));
      return out;
    }
    pos += 12 + length;
  }
}

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  // Continuing over pieces equals one pass.
  const bytes = new TextEncoder().encode('The quick brown fox');
  assert.equal(crc32(bytes.subarray(7), crc32(bytes.subarray(0, 7))), crc32(bytes));
});

test('encode/decode round-trips every channel count and filter type', () => {
  for (const channels of [1, 2, 3, 4] as const) {
    const image = randomImage(channels, 13, 9, channels);
    for (const filter of [0, 1, 2, 3, 4, 'adaptive'] as const) {
      const png = encodePng(image, { filter });
      const back = decodePng(png);
      assert.deepEqual([back.width, back.height, back.channels], [13, 9, channels]);
      assert.deepEqual(back.data, image.data, `channels ${channels}, filter ${filter}`);
      assert.deepEqual(readPngHeader(png), { width: 13, height: 9, channels });
    }
  }
});

test('our PNGs decode in TensorFlow, and TensorFlow PNGs decode here', { skip: tf.node === undefined }, async () => {
  for (const channels of [1, 3, 4] as const) {
    const image = randomImage(10 + channels, 11, 6, channels);
    const decoded = tf.node.decodePng(encodePng(image), channels);
    assert.deepEqual(Uint8Array.from(decoded.dataSync()), image.data);
    decoded.dispose();

    const t = tf.tensor3d(Int32Array.from(image.data), [6, 11, channels], 'int32');
    const tfPng = await tf.node.encodePng(t);
    t.dispose();
    assert.deepEqual(decodePng(tfPng).data, image.data);
  }
});

test('imageToPng clips, rounds and maps NaN to 0 without leaking tensors', async () => {
  const before = tf.memory().numTensors;
  const x = tf.tensor3d([-0.5, 0, 0.2, 1, 1.7, NaN, 0.5, 0.25, 0.999], [1, 3, 3]);
  const png = await imageToPng(x);
  const batched = x.expandDims(0); // [1, H, W, C] is accepted too
  const raw = await tensorToImage(batched);
  batched.dispose();
  x.dispose();
  assert.equal(tf.memory().numTensors, before);
  const back = decodePng(png);
  assert.deepEqual([back.height, back.width, back.channels], [1, 3, 3]);
  // 0.2*255 = 51, 0.5*255 = 127.5 -> 128 (half to even), 0.25*255 = 63.75 -> 64, 0.999*255 = 254.7 -> 255
  assert.deepEqual([...back.data], [0, 0, 51, 255, 255, 0, 128, 64, 255]);
  assert.deepEqual(raw.data, back.data);
  await assert.rejects(async () => {
    const bad = tf.zeros([2, 2]);
    try {
      await imageToPng(bad);
    } finally {
      bad.dispose();
    }
  }, /expected \[H, W, C\]/);
});

test('writePng/readPng round-trip through a file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'png-test-'));
  try {
    const file = path.join(dir, 'sub', 'a.png');
    fs.mkdirSync(path.dirname(file));
    const image = randomImage(99, 5, 4, 3);
    await writePng(file, image);
    assert.deepEqual(readPng(file).data, image.data);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['a.png']);
    assert.throws(() => readPng(path.join(dir, 'missing.png')), /PNG .*missing\.png/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('decoder rejects unsupported and corrupt files with clear errors', () => {
  const png = encodePng(randomImage(5, 4, 4, 3));
  assert.throws(() => decodePng(new TextEncoder().encode('GIF89a....'), 'x.gif'), /PNG x\.gif: not a PNG file/);
  assert.throws(() => decodePng(png.subarray(0, png.length - 20), 'cut.png'), /PNG cut\.png: truncated/);
  const flipped = png.slice();
  flipped[45] = flipped[45]! ^ 0xff; // inside the IDAT body (IDAT header at bytes 33-40)
  assert.throws(() => decodePng(flipped), /PNG \(buffer\): CRC mismatch in IDAT/);
  // IHDR body: width 0-3, height 4-7, depth 8, color type 9, compression 10, filter 11, interlace 12
  assert.throws(() => decodePng(patchChunk(png, 'IHDR', 9, 3), 'p.png'), /p\.png: palette images are not supported/);
  assert.throws(() => decodePng(patchChunk(png, 'IHDR', 8, 16)), /bit depth 16 is not supported/);
  assert.throws(() => decodePng(patchChunk(png, 'IHDR', 12, 1)), /interlaced images are not supported/);
  assert.throws(() => decodePng(patchChunk(png, 'IHDR', 9, 5)), /invalid color type 5/);
  // Claiming a larger image than the data holds.
  assert.throws(() => decodePng(patchChunk(png, 'IHDR', 7, 5)), /image data has \d+ bytes, expected/);
  assert.throws(() => encodePng({ data: new Uint8Array(5), width: 2, height: 1, channels: 3 }), /needs 6 bytes, got 5/);
  assert.throws(() => encodePng({ data: new Uint8Array(0), width: 0, height: 1, channels: 3 }), /bad size/);
});
