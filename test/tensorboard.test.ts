import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom, of } from 'rxjs';
import { tf } from '../src/runtime/index.ts';
import sharp from 'sharp';
import type { TrainContext } from '../src/engine/context.ts';
import type { SideBySide, TrainEvent } from '../src/engine/events.ts';
import { tensorboard } from '../src/engine/hooks/tensorboard.ts';
import { JsonlWriter, readJsonl } from '../src/io/jsonl.ts';
import { FILE_VERSION, SummaryWriter, crc32c, encodeEvent, frameRecord, maskedCrc32c } from '../src/io/tensorboard.ts';
import { decodeEvent, listEventFiles, readEvents, readRecords } from './helpers/tensorboard.ts';

/** PNG bytes from sharp, as a plain Uint8Array (what the event decoder returns). */
async function sharpPng(data: Uint8Array, width: number, height: number, channels: 1 | 2 | 3 | 4): Promise<Uint8Array> {
  const img = sharp(data, { raw: { width, height, channels } });
  // sharp writes sRGB unless told to keep gray.
  return Uint8Array.from(await (channels <= 2 ? img.toColourspace('b-w') : img).png().toBuffer());
}

/** Pixels and channel count of PNG bytes, decoded by sharp. */
async function decodePng(png: Uint8Array): Promise<{ data: Uint8Array; channels: number }> {
  const channels = (await sharp(png).metadata()).channels;
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  if (info.channels === channels) return { data: Uint8Array.from(data), channels };
  // sharp decodes gray to RGB(A): keep R (and alpha).
  const keep = channels === 1 ? [0] : [0, 3];
  const n = data.length / info.channels;
  const out = new Uint8Array(n * channels);
  for (let p = 0; p < n; p++) keep.forEach((c, k) => (out[p * channels + k] = data[p * info.channels + c]!));
  return { data: out, channels };
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tb-test-'));
}

/** A clock that advances one second per call, starting at a fixed time. */
function fakeClock(startMs = 1_700_000_000_000): () => number {
  let t = startMs;
  return () => (t += 1000) - 1000;
}

test('crc32c matches the RFC 3720 / iSCSI test vectors', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  // The mask is a rotation plus a constant.
  const crc = crc32c(new TextEncoder().encode('123456789'));
  assert.equal(maskedCrc32c(new TextEncoder().encode('123456789')), ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) % 2 ** 32);
});

test('events round-trip through the protobuf encoding', async () => {
  const png = await sharpPng(Uint8Array.of(1, 2, 3, 4, 5, 6), 2, 1, 3);
  const events = [
    { wallTime: 1234.5, step: 0, fileVersion: FILE_VERSION },
    { wallTime: 1.25, step: 2 ** 40, summary: [{ tag: 'loss/train', simpleValue: 0 }] },
    { wallTime: 2, step: -3, summary: [{ tag: 'a', simpleValue: -1.5 }, { tag: 'é', simpleValue: Infinity }] },
    { wallTime: 3, step: 7, summary: [{ tag: 'img', image: { height: 1, width: 2, colorspace: 3, encodedImageString: png } }] },
  ];
  for (const event of events) assert.deepEqual(decodeEvent(encodeEvent(event)), event);
  // Hand-checked bytes: step 5 (field 2 varint), Summary{Value{tag "x", simple_value 1.0}}.
  assert.deepEqual(
    [...encodeEvent({ wallTime: 0, step: 5, summary: [{ tag: 'x', simpleValue: 1 }] })],
    [0x10, 0x05, 0x2a, 0x0a, 0x0a, 0x08, 0x0a, 0x01, 0x78, 0x15, 0x00, 0x00, 0x80, 0x3f],
  );
});

test('SummaryWriter writes scalars and images that read back with valid CRCs', async () => {
  const dir = tempDir();
  try {
    const w = new SummaryWriter(dir, { now: fakeClock(), flushEvery: 1000 });
    assert.match(path.basename(w.file), new RegExp(`^events\\.out\\.tfevents\\.1700000000\\.${os.hostname().replace(/[.]/g, '\\.')}$`));
    w.scalar('loss', 0.1, 1);
    w.scalar('psnr', 28.5, 1);
    w.scalar('loss', 0.05, 2);
    const rgb = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) & 0xff);
    const sample = await sharpPng(rgb, 3, 4, 3);
    w.image('sample', sample, 2);
    const gray = await sharpPng(Uint8Array.of(0, 128, 255, 7), 2, 2, 1);
    w.image('gray', gray, 3);
    w.close();
    w.close(); // idempotent
    assert.throws(() => w.scalar('loss', 1, 4), /already closed/);

    assert.deepEqual(listEventFiles(dir), [w.file]);
    const bytes = fs.readFileSync(w.file);
    const { records, truncatedTail } = readRecords(bytes, w.file);
    assert.equal(truncatedTail, false);
    assert.equal(records.length, 6);
    // Re-framing every payload reproduces the file exactly, so both CRCs of each record match.
    assert.deepEqual(Buffer.concat(records.map(frameRecord)), bytes);

    const events = readEvents(w.file);
    assert.deepEqual(events[0], { wallTime: 1_700_000_000, step: 0, fileVersion: 'brain.Event:2' });
    const scalars = events.flatMap((e) => (e.summary ?? []).filter((v) => v.simpleValue !== undefined).map((v) => [v.tag, e.step, v.simpleValue]));
    assert.deepEqual(scalars, [
      ['loss', 1, Math.fround(0.1)],
      ['psnr', 1, 28.5],
      ['loss', 2, Math.fround(0.05)],
    ]);
    assert.ok(events.every((e, i) => i === 0 || e.wallTime > events[i - 1]!.wallTime));

    const image = events[4]!.summary![0]!;
    assert.equal(image.tag, 'sample');
    assert.equal(events[4]!.step, 2);
    assert.deepEqual({ ...image.image!, encodedImageString: undefined }, { height: 4, width: 3, colorspace: 3, encodedImageString: undefined });
    assert.deepEqual(image.image!.encodedImageString, sample);
    assert.deepEqual((await decodePng(image.image!.encodedImageString)).data, rgb);
    const grayValue = events[5]!.summary![0]!;
    assert.deepEqual([grayValue.image!.height, grayValue.image!.width, grayValue.image!.colorspace], [2, 2, 1]);
    assert.deepEqual(grayValue.image!.encodedImageString, gray);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('image summaries record the size and channels of PNG bytes, which sharp and TensorFlow decode exactly', async () => {
  const dir = tempDir();
  try {
    const w = new SummaryWriter(dir, { now: fakeClock() });
    const images: Array<{ data: Uint8Array; width: number; height: number; channels: 1 | 2 | 3 | 4 }> = [];
    for (const channels of [1, 2, 3, 4] as const) {
      const [width, height] = [13, 9];
      const data = Uint8Array.from({ length: width * height * channels }, (_, i) => (i % 7 < 3 ? (i * 2654435761) >>> 24 : i * 3 + Math.floor(i / (width * channels))) & 0xff);
      images.push({ data, width, height, channels });
      w.image(`c${channels}`, await sharpPng(data, width, height, channels), channels);
    }
    assert.throws(() => w.image('gif', new TextEncoder().encode('GIF89a................................'), 9), /image gif: not PNG bytes/);
    // Raw pixels are not accepted (JavaScript callers can pass anything).
    assert.throws(() => w.image('raw', { rgb: new Uint8Array(6), height: 1, width: 2 } as unknown as Uint8Array, 9), /image raw: not PNG bytes/);
    // Palette PNGs decode to RGB.
    const palette = await sharp(images[2]!.data, { raw: { width: 13, height: 9, channels: 3 } }).png({ palette: true, colours: 4 }).toBuffer();
    w.image('palette', palette, 5);
    w.close();

    const events = readEvents(w.file).slice(1);
    for (const [i, image] of images.entries()) {
      const v = events[i]!.summary![0]!.image!;
      assert.deepEqual([v.width, v.height, v.colorspace], [image.width, image.height, image.channels]);
      const back = await decodePng(v.encodedImageString);
      assert.equal(back.channels, image.channels);
      assert.deepEqual(back.data, image.data, `channels ${image.channels}`);
      if (tf.node !== undefined && image.channels !== 2) {
        const decoded = tf.node.decodePng(v.encodedImageString, image.channels);
        assert.deepEqual(Uint8Array.from(decoded.dataSync()), image.data);
        decoded.dispose();
      }
    }
    const p = events[4]!.summary![0]!.image!;
    assert.deepEqual([p.width, p.height, p.colorspace], [13, 9, 3]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the tensorboard hook writes validation images encoded by sharp, even when the stream has already ended', async () => {
  const dir = tempDir();
  try {
    const waits: Array<Promise<unknown>> = [];
    const ctx = { setup: { workDir: dir }, wait: (p: Promise<unknown>) => void waits.push(p) } as unknown as TrainContext;
    const validation = (images: SideBySide[]): TrainEvent => ({ type: 'validation', ctx, epoch: 0, iteration: 5, psnr: 30, ssim: 0.9, perVideo: {}, seconds: 1, images });
    const rgb = Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => i / 17);
    // The stream completes, and the hook's finalize runs, before the encoding resolves.
    await lastValueFrom(of(validation([{ name: 'a', height: 2, width: 3, rgb }])).pipe(tensorboard({ logDir: path.join(dir, 'good') })));
    assert.equal(waits.length, 1);
    await waits[0];
    await new Promise(setImmediate); // the close queued behind the write
    const [file] = listEventFiles(path.join(dir, 'good'));
    const values = readEvents(file!, { strict: true }).flatMap((e) => (e.summary ?? []).map((v) => ({ step: e.step, ...v })));
    assert.deepEqual(
      values.map((v) => v.tag),
      ['val/psnr', 'val/ssim', 'val_images/a'],
    );
    const image = values[2]!;
    assert.equal(image.step, 5);
    assert.deepEqual([image.image!.width, image.image!.height, image.image!.colorspace], [3, 2, 3]);
    assert.deepEqual((await decodePng(image.image!.encodedImageString)).data, Uint8Array.from(rgb, (x) => Math.round(x * 255)));

    // An image whose pixels do not match its size fails the work the run waits for.
    await lastValueFrom(of(validation([{ name: 'b', height: 2, width: 3, rgb: new Float32Array(5) }])).pipe(tensorboard({ logDir: path.join(dir, 'bad') })));
    assert.equal(waits.length, 2);
    await assert.rejects(waits[1]!, /encode: 3x2x3 needs 18 bytes, got 5/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('records reach the file only on flush, and a torn or corrupt tail is handled', () => {
  const dir = tempDir();
  try {
    const w = new SummaryWriter(dir, { now: fakeClock(), flushEvery: 3, flushSecs: 1e6 });
    assert.equal(readEvents(w.file).length, 1); // file_version is written at once
    w.scalar('x', 1, 1);
    w.scalar('x', 2, 2);
    assert.equal(readEvents(w.file).length, 1);
    w.scalar('x', 3, 3); // third buffered record triggers a flush
    assert.equal(readEvents(w.file).length, 4);
    w.scalar('x', 4, 4);
    w.flush();
    assert.equal(readEvents(w.file).length, 5);
    assert.throws(() => w.scalar('x', 5, 1.5), /step for x must be an integer/);
    assert.throws(() => w.scalar('', 5, 1), /non-empty/);
    w.close();

    // A crash in the middle of an append: earlier records stay readable.
    const bytes = fs.readFileSync(w.file);
    const torn = path.join(dir, 'torn.tfevents');
    fs.writeFileSync(torn, bytes.subarray(0, bytes.length - 5));
    assert.deepEqual(
      readEvents(torn).map((e) => e.step),
      [0, 1, 2, 3],
    );
    assert.throws(() => readEvents(torn, { strict: true }), /torn\.tfevents: file ends inside record 4/);

    const corrupt = path.join(dir, 'corrupt.tfevents');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 6] = flipped[flipped.length - 6]! ^ 1;
    fs.writeFileSync(corrupt, flipped);
    assert.throws(() => readEvents(corrupt), /corrupt\.tfevents: data CRC mismatch in record 4/);
    const badLength = Buffer.from(bytes);
    badLength[0] = badLength[0]! ^ 1;
    fs.writeFileSync(corrupt, badLength);
    assert.throws(() => readEvents(corrupt), /length CRC mismatch in record 0/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('two writers in the same second get separate files', () => {
  const dir = tempDir();
  try {
    const a = new SummaryWriter(dir, { now: () => 1_700_000_000_000 });
    const b = new SummaryWriter(dir, { now: () => 1_700_000_000_000 });
    a.scalar('a', 1, 1);
    b.scalar('b', 2, 1);
    a.close();
    b.close();
    assert.notEqual(a.file, b.file);
    assert.equal(readEvents(a.file)[1]!.summary![0]!.tag, 'a');
    assert.equal(readEvents(b.file)[1]!.summary![0]!.tag, 'b');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('files written by TensorFlow itself parse, and our encoder reproduces their scalar records', { skip: tf.node === undefined }, () => {
  const dir = tempDir();
  try {
    const w = tf.node.summaryFileWriter(dir);
    w.scalar('loss', 0.75, 3);
    w.scalar('loss', -2, 4);
    w.flush();
    const [file] = listEventFiles(dir);
    assert.ok(file !== undefined);
    const events = readEvents(file, { strict: true });
    assert.equal(events[0]!.fileVersion, FILE_VERSION);
    assert.deepEqual(
      events.slice(1).map((e) => [e.step, e.summary![0]!.tag, e.summary![0]!.simpleValue]),
      [
        [3, 'loss', 0.75],
        [4, 'loss', -2],
      ],
    );
    const { records } = readRecords(fs.readFileSync(file));
    for (const data of records.slice(1)) assert.deepEqual(encodeEvent(decodeEvent(data)), data);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('JsonlWriter appends whole lines; readJsonl skips torn lines with a warning', () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'logs', 'train.jsonl');
    const a = new JsonlWriter(file);
    const b = new JsonlWriter(file); // a second appender never overwrites or splits lines
    a.write({ step: 1, loss: 0.5, note: 'line\nbreak' });
    b.write({ step: 1, psnr: 30 });
    a.write({ step: 2, loss: NaN });
    a.flush();
    a.close();
    b.close();
    assert.throws(() => a.write({}), /already closed/);
    const other = new JsonlWriter(path.join(dir, 'other.jsonl'));
    assert.throws(() => other.write(undefined), /not JSON-serialisable/);
    other.close();
    const warnings: string[] = [];
    const onWarning = (m: string): void => void warnings.push(m);
    assert.deepEqual(readJsonl(file, { onWarning }), [{ step: 1, loss: 0.5, note: 'line\nbreak' }, { step: 1, psnr: 30 }, { step: 2, loss: null }]);
    assert.deepEqual(warnings, []);

    // A machine crash mid-write leaves a partial last line.
    fs.appendFileSync(file, '{"step": 3, "lo');
    assert.equal(readJsonl(file, { onWarning }).length, 3);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /train\.jsonl:4: skipped torn last line/);

    // Resuming the log must not glue the next record onto the fragment.
    const c = new JsonlWriter(file);
    c.write({ step: 3, loss: 0.25 });
    c.close();
    warnings.length = 0;
    assert.deepEqual(readJsonl(file, { onWarning }).at(-1), { step: 3, loss: 0.25 });
    assert.equal(readJsonl(file, { onWarning: () => undefined }).length, 4);
    assert.match(warnings[0]!, /train\.jsonl:4: skipped unparsable line/);
    assert.throws(() => readJsonl(path.join(dir, 'missing.jsonl')), /readJsonl .*missing\.jsonl/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Optional cross-check with TensorBoard's own reader, only where Python has it installed.
const hasPythonTensorboard = spawnSync('python3', ['-c', 'import tensorboard'], { stdio: 'ignore' }).status === 0;

test('TensorBoard (Python) reads our file', { skip: hasPythonTensorboard ? false : 'python3 tensorboard package not installed' }, async () => {
  const dir = tempDir();
  try {
    const png = await sharpPng(new Uint8Array(2 * 2 * 3).fill(200), 2, 2, 3);
    const w = new SummaryWriter(dir);
    w.scalar('loss', 0.5, 1);
    w.scalar('loss', 0.25, 2);
    w.image('img', png, 2);
    w.close();
    const script = [
      'import json, sys',
      'from tensorboard.backend.event_processing.event_accumulator import EventAccumulator',
      "acc = EventAccumulator(sys.argv[1], size_guidance={'scalars': 0, 'images': 0})",
      'acc.Reload()',
      "s = [[e.step, e.value] for e in acc.Scalars('loss')]",
      "i = [[e.step, e.width, e.height] for e in acc.Images('img')]",
      "print(json.dumps({'scalars': s, 'images': i}))",
    ].join('\n');
    const r = spawnSync('python3', ['-c', script, w.file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1)!), {
      scalars: [
        [1, 0.5],
        [2, 0.25],
      ],
      images: [[2, 2, 2]],
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
