import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSynthArgs, synthCommand } from '../src/cli/synth.ts';

const ok = ['--layout', 'reds', '--out', '/tmp/x', '--videos', '2', '--frames', '5', '--size', '64x48'];

function without(flag: string): string[] {
  const i = ok.indexOf(flag);
  return [...ok.slice(0, i), ...ok.slice(i + 2)];
}

test('synth arguments: parsed into synthesize options', () => {
  const o = parseSynthArgs([...ok, '--seed', '9', '--sub-frames', '9', '--noise', '0.01', '--jpeg-quality', '80', '--split', 'test', '--speed', '3', '--quiet']);
  assert.equal(o.layout, 'reds');
  assert.equal(o.out, '/tmp/x');
  assert.deepEqual([o.videos, o.frames, o.width, o.height, o.seed], [2, 5, 64, 48, 9]);
  assert.deepEqual([o.subFrames, o.noise, o.jpegQuality, o.split, o.motion?.speed, o.quiet], [9, 0.01, 80, 'test', 3, true]);
  assert.deepEqual(parseSynthArgs([...ok, '--direction', '90', '--drift', '6']).motion, { direction: 90, drift: 6 });
  assert.equal(parseSynthArgs(ok).motion, undefined);
  const d = parseSynthArgs(ok);
  assert.deepEqual([d.seed, d.subFrames, d.noise, d.jpegQuality, d.quiet], [0, undefined, undefined, undefined, false]);
  assert.equal(parseSynthArgs([...ok, '--sub-frames', 'auto']).subFrames, 'auto');
});

test('synth arguments: clear errors naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [without('--layout'), /--layout is required/],
    [without('--out'), /--out is required/],
    [without('--size'), /--size is required/],
    [without('--videos'), /--videos is required/],
    [without('--frames'), /--frames is required/],
    [[...without('--layout'), '--layout', 'vimeo'], /--layout: expected one of gopro, dvd, reds, bsd, got "vimeo"/],
    [[...without('--size'), '--size', '64'], /--size: expected WIDTHxHEIGHT/],
    [[...without('--size'), '--size', '0x10'], /--size/],
    [[...without('--videos'), '--videos', '1.5'], /--videos: expected an integer/],
    [[...without('--frames'), '--frames', '0'], /--frames: expected an integer >= 1/],
    [[...ok, '--sub-frames', '8'], /--sub-frames: expected 'auto' or an odd integer/],
    [[...ok, '--noise=-1'], /--noise: expected a number >= 0/],
    [[...ok, '--noise', 'lots'], /--noise/],
    [[...ok, '--drift=-2'], /--drift: expected a number >= 0, got "-2"/],
    [[...ok, '--direction', 'left'], /--direction: expected a number of degrees, got "left"/],
    [[...ok, '--jpeg-quality', '0'], /--jpeg-quality: expected an integer in 1..100/],
    [[...ok, '--seed=-3'], /--seed/],
    [[...ok, '--exposure', '2'], /--exposure: expected a number in \(0, 1\]/],
    [[...ok, '--split', 'val'], /--split: expected train, test or both/],
    [[...ok, '--averaging', 'median'], /--averaging/],
    [[...ok, '--bogus', '1'], /Unknown option '--bogus'[\s\S]*usage: simdeblur synth/],
    [[...ok, 'extra'], /positional/],
  ];
  for (const [args, re] of cases) {
    assert.throws(() => parseSynthArgs(args), re, args.join(' '));
    await assert.rejects(synthCommand(args), re);
  }
});

test('synth command: writes a small dataset and reports its roots', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-cli-'));
  const logs: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void logs.push(a.join(' '));
  try {
    const code = await synthCommand(['--layout', 'bsd', '--out', out, '--videos', '1', '--frames', '2', '--size', '32x24', '--split', 'train', '--quiet']);
    assert.equal(code, 0);
  } finally {
    console.log = log;
    process.on('exit', () => fs.rmSync(out, { recursive: true, force: true }));
  }
  assert.ok(fs.existsSync(path.join(out, 'train/000/Blur/RGB/00000001.png')));
  assert.ok(logs.some((l) => l.includes(`rootGt=${path.join(out, 'train')}`)));
  assert.ok(logs.some((l) => /4 files written/.test(l)));
});
