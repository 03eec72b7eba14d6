// The model definitions: the original's constructor arguments map onto our options (derived
// names, irregular names, fixed and ignored arguments), presets, and shape-only builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import { fromOriginal, originalClassNames, paramCount, paramShapes, snakeCase } from '../src/models/define.ts';
import { models } from '../src/index.ts';

test('argument names are the snake_case of the options', () => {
  assert.equal(snakeCase('numInCh'), 'num_in_ch');
  assert.equal(snakeCase('innerChannels'), 'inner_channels');
  assert.equal(snakeCase('width'), 'width');
});

test('every zoo class of the original is defined', () => {
  const names = originalClassNames();
  for (const c of ['DBN', 'DBLRNet', 'STRCNN', 'IFIRNN', 'ESTRNN', 'EDVR', 'CDVD_TSP', 'STFAN', 'STFANCell', 'PVDNet', 'NAFNet', 'Restormer', 'MIMOUNet', 'MIMOUNetPlus', 'MSResNet', 'SRN']) {
    assert.ok(names.includes(c), c);
  }
});

test('fromOriginal maps arguments, fills defaults and applies fixed values', () => {
  assert.deepEqual(fromOriginal('DBN', { num_frames: 3, inner_channels: 8 }), models.dbn({ numFrames: 3, innerChannels: 8 }));
  // An irregular name.
  assert.equal(fromOriginal('NAFNet', { img_channel: 1 })['imgChannels'], 1);
  // The original decodes the LSTM's cell state; its spec says so without an argument.
  assert.equal(fromOriginal('SRN', {})['lstmOutput'], 'cell');
  // Arguments the original accepts and never reads are accepted and change nothing.
  assert.deepEqual(fromOriginal('SRN', { with_lstm: false }), fromOriginal('SRN', {}));
  assert.deepEqual(fromOriginal('MSResNet', { in_channels: 7 }), fromOriginal('MSResNet', {}));
});

test('fromOriginal names an unknown class or argument, with the closest known one', () => {
  assert.throws(() => fromOriginal('DNB', {}), /unknown model class "DNB" \(did you mean DBN\?\)/);
  assert.throws(() => fromOriginal('DBN', { inner_channel: 8 }), /DBN: unknown constructor argument "inner_channel" \(did you mean inner_channels\?\)/);
  // Our own option names are not the original's arguments.
  assert.throws(() => fromOriginal('DBN', { innerChannels: 8 }), /unknown constructor argument "innerChannels"/);
  assert.throws(() => fromOriginal('DBN', { num_frames: 0 }), /DBN\(.*numFrames/s);
});

test('presets are partial options with overrides; an unknown preset is named', () => {
  const gopro = models.nafnet.preset('gopro');
  assert.equal(gopro.width, 64);
  assert.deepEqual(gopro.encBlkNums, [1, 1, 1, 28]);
  assert.equal(models.nafnet.preset('gopro', { width: 32 }).width, 32);
  assert.throws(() => (models.nafnet.preset as (n: string) => unknown)('goPro'), /no preset "goPro" \(did you mean gopro\?\)/);
});

test('shape-only builds count parameters and list shapes without allocating', () => {
  const before = tf.memory().numTensors;
  const spec = models.dbn({ innerChannels: 8 });
  const shapes = paramShapes(spec);
  assert.deepEqual(shapes.params['F0.0.weight'], [5, 5, 15, 8]);
  assert.deepEqual(shapes.buffers['F0.1.running_mean'], [8]);
  assert.equal(tf.memory().numTensors, before);
  const m = models.dbn.create({ innerChannels: 8 }, 3);
  try {
    assert.equal(paramCount(spec), Object.values(m.params).reduce((n, v) => n + v.size, 0));
  } finally {
    m.dispose();
  }
});
