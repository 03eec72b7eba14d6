import { test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import { fromPytorchLayout, readSafetensors, writeSafetensors } from '../src/io/safetensors.ts';
import type { RawTensor } from '../src/io/safetensors.ts';
import { CDVD_FLOW_PREFIX } from '../src/models/cdvd-tsp.ts';
import { PVDNET_BIMNET_PREFIX } from '../src/models/pvdnet.ts';
import { flowNetStateDict, setFlowWeightsWarningSink, warnFlowWeights } from '../src/models/flow-weights.ts';
import { stateDict } from '../src/models/model.ts';
import type { Model } from '../src/models/model.ts';
import { buildComponent, decodeComponent } from '../src/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'parity');
const fixtureFile = (model: string): string => path.join(SHARED, model, 'weights.safetensors');
// The two weight files are ~40 MB each and stay where they are shared (as in the parity tests).
const skipCdvd = fs.existsSync(fixtureFile('cdvd_tsp')) ? false : `CDVD-TSP fixture not found at ${fixtureFile('cdvd_tsp')}`;
const skipPvdnet = fs.existsSync(fixtureFile('pvdnet')) ? false : `PVDNet fixture not found at ${fixtureFile('pvdnet')}`;

const CDVD_SPEC = { type: 'cdvdTsp', nResblock: 1, nFeat: 8 } as const;
const PVDNET_SPEC = { type: 'pvdnet', largeModel: false } as const;

/** Runs `fn` with the flow-weights warnings collected instead of printed. */
function withWarnings<A>(fn: (warnings: string[]) => A): A {
  const warnings: string[] = [];
  const previous = setFlowWeightsWarningSink((m) => warnings.push(m));
  try {
    return fn(warnings);
  } finally {
    setFlowWeightsWarningSink(previous);
  }
}

function tempFile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flow-weights-')), name);
}

function writeTemp(name: string, tensors: Record<string, RawTensor>): string {
  const file = tempFile(name);
  writeSafetensors(file, tensors);
  return file;
}

function removeTemp(file: string): void {
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
}

/** Keys under `prefix`, with it removed. */
function stripPrefix(sd: Record<string, RawTensor>, prefix: string): Record<string, RawTensor> {
  return Object.fromEntries(Object.entries(sd).flatMap(([k, v]) => (k.startsWith(prefix) ? [[k.slice(prefix.length), v]] : [])));
}

/** The sniklaus repositories' later naming: every `moduleX` key part becomes `netX`. */
function netNaming(sd: Record<string, RawTensor>): Record<string, RawTensor> {
  const rename = (k: string): string => k.split('.').map((p) => (/^module[A-Z]/.test(p) ? `net${p.slice(6)}` : p)).join('.');
  return Object.fromEntries(Object.entries(sd).map(([k, v]) => [rename(k), v]));
}

/** Asserts that every model variable under `prefix` holds exactly the file's value (PyTorch layout in the file). */
function assertFlowEquals(m: Model, file: Record<string, RawTensor>, prefix: string, count: number): void {
  const vars = { ...m.params, ...m.buffers };
  const keys = Object.keys(vars).filter((k) => k.startsWith(prefix));
  assert.equal(keys.length, count);
  for (const k of keys) {
    const raw = file[k];
    assert.ok(raw !== undefined, `the fixture has no '${k}'`);
    const expected = fromPytorchLayout(k, raw, m.kinds[k] ?? 'plain');
    const actual = vars[k]!.dataSync() as Float32Array;
    assert.deepEqual(vars[k]!.shape, [...expected.shape], k);
    const same = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected.data.buffer, expected.data.byteOffset, expected.data.byteLength));
    assert.ok(same, `'${k}' differs from the file`);
  }
}

function buildQuiet(spec: object, seed: number): { model: Model; warnings: string[] } {
  return withWarnings((warnings) => ({ model: buildComponent('model', decodeComponent('model', spec), { seed }), warnings }));
}

function assertBuildFails(spec: object, patterns: readonly (string | RegExp)[]): void {
  const before = tf.memory().numTensors;
  withWarnings((warnings) => {
    assert.throws(
      () => buildComponent('model', decodeComponent('model', spec), { seed: 5 }),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        for (const p of patterns) {
          if (typeof p === 'string') assert.ok(err.message.includes(p), `message lacks ${JSON.stringify(p)}:\n${err.message}`);
          else assert.match(err.message, p);
        }
        return true;
      },
    );
    assert.deepEqual(warnings, []);
  });
  // The half-built model is disposed.
  assert.equal(tf.memory().numTensors, before);
}

test('flowNetStateDict maps both namings of the flow networks to model keys under the prefix', () => {
  const sd = { 'netExtractor.netOne.0.weight': 1, 'moduleSix.moduleUpfeat.bias': 2, 'network.netlike.0': 3 };
  // The result has no prototype (a key is never taken for an inherited property): compare its entries.
  assert.deepEqual({ ...flowNetStateDict(sd, 'flow_net.moduleNetwork.') }, {
    'flow_net.moduleNetwork.moduleExtractor.moduleOne.0.weight': 1,
    'flow_net.moduleNetwork.moduleSix.moduleUpfeat.bias': 2,
    // Only `net` followed by a capital is the later naming.
    'flow_net.moduleNetwork.network.netlike.0': 3,
  });
  assert.deepEqual({ ...flowNetStateDict({ 'netFeatures.netOne.0.weight': 'w' }, 'BIMNet.') }, { 'BIMNet.moduleFeatures.moduleOne.0.weight': 'w' });
});

test('the default sink writes one warning line to stderr', () => {
  const writes: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    warnFlowWeights('something is off');
  } finally {
    process.stderr.write = write;
  }
  assert.deepEqual(writes, ['warning: something is off\n']);
});

test('CDVD-TSP without flowWeights warns exactly once, naming the model, PWC-Net and the option', () => {
  const { model, warnings } = buildQuiet(CDVD_SPEC, 1);
  model.dispose();
  assert.equal(warnings.length, 1);
  const [w] = warnings as [string];
  assert.ok(!w.includes('\n'));
  for (const s of ['CDVD-TSP', 'PWC-Net', 'randomly initialised', 'model.flowWeights=FILE']) assert.ok(w.includes(s), `warning lacks '${s}': ${w}`);
});

test('PVDNet without bimnetWeights warns exactly once, naming the model, BIMNet and the option', () => {
  for (const fixBimnet of [true, false]) {
    const { model, warnings } = buildQuiet({ ...PVDNET_SPEC, fixBimnet }, 1);
    model.dispose();
    assert.equal(warnings.length, 1);
    const [w] = warnings as [string];
    assert.ok(!w.includes('\n'));
    for (const s of ['PVDNet', 'BIMNet (LiteFlowNet)', 'randomly initialised', 'model.bimnetWeights=FILE']) assert.ok(w.includes(s), `warning lacks '${s}': ${w}`);
    assert.equal(w.includes('frozen (fixBimnet)'), fixBimnet);
  }
});

test('the options are optional non-empty strings', () => {
  assert.throws(() => decodeComponent('model', { ...CDVD_SPEC, flowWeights: '' }), /flowWeights/);
  assert.throws(() => decodeComponent('model', { ...PVDNET_SPEC, bimnetWeights: 3 }), /bimnetWeights/);
  assert.equal(decodeComponent('model', { ...CDVD_SPEC, flowWeights: 'a.safetensors' })['flowWeights'], 'a.safetensors');
});

test('a missing or unreadable file is an error naming the model, the option and the file', () => {
  const missing = path.join(os.tmpdir(), 'flow-weights-no-such-dir', 'pwc.safetensors');
  assertBuildFails({ ...CDVD_SPEC, flowWeights: missing }, ['CDVD-TSP', 'flowWeights', missing]);
  const garbage = tempFile('garbage.safetensors');
  fs.writeFileSync(garbage, 'not a safetensors file');
  try {
    assertBuildFails({ ...PVDNET_SPEC, bimnetWeights: garbage }, ['PVDNet', 'bimnetWeights', garbage]);
  } finally {
    removeTemp(garbage);
  }
});

test('CDVD-TSP flowWeights: missing, unexpected and mis-shaped keys, and a file of other weights, are errors naming file and key', () => {
  // A PWC-Net state dict in sniklaus's later naming, made from a freshly built model.
  const src = buildQuiet(CDVD_SPEC, 3).model;
  const full = stateDict(src, 'pytorch');
  src.dispose();
  const pwc = netNaming(stripPrefix(full, CDVD_FLOW_PREFIX));
  assert.equal(Object.keys(pwc).length, 126);
  assert.ok('netFiv.netUpfeat.weight' in pwc);

  const { ['netFiv.netUpfeat.weight']: _dropped, ...withoutOne } = pwc;
  const cases: Array<{ name: string; sd: Record<string, RawTensor>; patterns: (string | RegExp)[] }> = [
    { name: 'missing', sd: withoutOne, patterns: ["missing key 'netFiv.netUpfeat.weight'", `'${CDVD_FLOW_PREFIX}moduleFiv.moduleUpfeat.weight'`, "'net…' names"] },
    {
      name: 'unexpected',
      sd: { ...pwc, 'netExtractor.netOne.6.weight': pwc['netExtractor.netOne.0.weight']! },
      patterns: ["unexpected key 'netExtractor.netOne.6.weight'"],
    },
    {
      name: 'shape',
      sd: { ...pwc, 'netRefiner.netMain.12.bias': { shape: [3], data: new Float32Array(3) } },
      patterns: ["wrong shape for 'netRefiner.netMain.12.bias'", '[3]', '[2]'],
    },
    { name: 'other', sd: { 'recons_net.inBlock.0.0.weight': pwc['netExtractor.netOne.0.weight']! }, patterns: ['holds no PWC-Net weights', "'recons_net.inBlock.0.0.weight'"] },
  ];
  for (const c of cases) {
    const file = writeTemp(`${c.name}.safetensors`, c.sd);
    try {
      assertBuildFails({ ...CDVD_SPEC, flowWeights: file }, ['CDVD-TSP', file, ...c.patterns]);
    } finally {
      removeTemp(file);
    }
  }
});

test('PVDNet bimnetWeights: a missing key and a wrong shape are errors naming file and key', () => {
  const src = buildQuiet(PVDNET_SPEC, 3).model;
  const bim = Object.fromEntries(Object.entries(stateDict(src, 'pytorch')).filter(([k]) => k.startsWith(PVDNET_BIMNET_PREFIX)));
  src.dispose();
  const key = 'BIMNet.moduleRegularization.0.moduleScaleX.weight';
  assert.ok(key in bim);
  const { [key]: _dropped, ...withoutOne } = bim;
  const wrong = { ...bim, [key]: { shape: [1, 9, 1, 1], data: new Float32Array(9) } };
  for (const [name, sd, pattern] of [
    ['missing', withoutOne, `missing key '${key}'`],
    ['shape', wrong, `wrong shape for '${key}'`],
  ] as const) {
    const file = writeTemp(`${name}.safetensors`, sd);
    try {
      assertBuildFails({ ...PVDNET_SPEC, bimnetWeights: file }, ['PVDNet', file, pattern, "with the model's prefix 'BIMNet.'"]);
    } finally {
      removeTemp(file);
    }
  }
});

test('CDVD-TSP loads the fixture PWC-Net from each accepted key form', { skip: skipCdvd }, () => {
  const fixture = readSafetensors(fixtureFile('cdvd_tsp')).tensors;
  const bare = stripPrefix(fixture, CDVD_FLOW_PREFIX);
  const forms: Array<[string, Record<string, RawTensor>]> = [
    ['module-names', bare],
    ['net-names', netNaming(bare)],
    ['prefixed', Object.fromEntries(Object.entries(bare).map(([k, v]) => [CDVD_FLOW_PREFIX + k, v]))],
    ['whole', fixture],
  ];
  for (const [name, sd] of forms) {
    const file = writeTemp(`${name}.safetensors`, sd);
    try {
      const { model, warnings } = buildQuiet({ ...CDVD_SPEC, flowWeights: file }, 11);
      try {
        assert.deepEqual(warnings, [], name);
        assertFlowEquals(model, fixture, CDVD_FLOW_PREFIX, 126);
        if (name === 'whole') {
          // Only the flow network is read from a whole-model file.
          const k = 'recons_net.inBlock.0.0.weight';
          const ours = model.params[k]!.dataSync();
          const theirs = fromPytorchLayout(k, fixture[k]!, 'conv').data;
          assert.notDeepEqual(Array.from(ours.slice(0, 8)), Array.from(theirs.slice(0, 8)));
        }
      } finally {
        model.dispose();
      }
    } finally {
      removeTemp(file);
    }
  }
});

test('PVDNet loads the fixture BIMNet from each accepted key form', { skip: skipPvdnet }, () => {
  const fixture = readSafetensors(fixtureFile('pvdnet')).tensors;
  const bare = stripPrefix(fixture, PVDNET_BIMNET_PREFIX);
  const forms: Array<[string, Record<string, RawTensor>, boolean]> = [
    ['bare', bare, true],
    ['net-names', netNaming(bare), false],
    ['prefixed', Object.fromEntries(Object.entries(bare).map(([k, v]) => [PVDNET_BIMNET_PREFIX + k, v])), true],
    ['whole', fixture, false],
  ];
  for (const [name, sd, fixBimnet] of forms) {
    const file = writeTemp(`${name}.safetensors`, sd);
    try {
      const { model, warnings } = buildQuiet({ ...PVDNET_SPEC, fixBimnet, bimnetWeights: file }, 11);
      try {
        assert.deepEqual(warnings, [], name);
        assertFlowEquals(model, fixture, PVDNET_BIMNET_PREFIX, 212);
        // Frozen BIMNet weights are buffers; trainable ones are params.
        const inParams = Object.keys(model.params).some((k) => k.startsWith(PVDNET_BIMNET_PREFIX));
        assert.equal(inParams, !fixBimnet, name);
      } finally {
        model.dispose();
      }
    } finally {
      removeTemp(file);
    }
  }
});
