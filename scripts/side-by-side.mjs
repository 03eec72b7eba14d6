#!/usr/bin/env node
// Times our models and the original PyTorch ones alternately, in one window, and prints the
// ratio table (ours / original). On a shared or noisy machine only ratios taken this way are
// meaningful: whatever else runs slows both sides alike.
//
//   node scripts/side-by-side.mjs [--models dbn,nafnet-w64,...] [--rounds 2] [--runs 3]
//                                 [--baseline DIR] [--reference FILE] [--python /usr/bin/python3]
//                                 [--no-original] [--stat median|min] [--omp-passive] [--graph] [--json FILE]
//
// Each round runs, per model, `simdeblur bench --only models --models NAME --runs N` of this
// checkout, then `python3 scripts/ref_bench.py NAME N` (the original PyTorch model of every
// bench case but mscnn, some on CPU stand-ins for CUDA-only ops, see its header; it needs
// ../shared/reference and Debian's python3-torch and python3-torchvision), then, with
// --baseline, the same bench of another checkout DIR (to measure a change before/after in the
// same window; --no-original leaves the original out, and the ratios are then ours / baseline). Every run is its own process, so each
// peak RSS is that model's own. `--stat min` takes our rows' fastest run instead of their
// median (steadier on a busy machine; ref_bench.py reports medians only, so use it with
// --no-original). `--omp-passive` sets OMP_WAIT_POLICY=PASSIVE for the original: on a busy
// machine PyTorch's spinning OpenMP threads lose their time slices and it runs 3-20× slower
// than in a quiet window (TensorFlow's pool degrades far less); say so when reporting. Both sides get 2 threads and the same malloc setting. Per side,
// the median over rounds is reported. Progress goes to stderr; the table to stdout; --json also
// writes every raw row. `--graph` runs our side's models as graph functions (`bench --graph`);
// a --baseline checkout still runs op by op, so `--graph --baseline .` compares the two ways.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'dbn,nafnet-w64,dblrnet,strcnn,ifirnn,estrnn,srn,mscnn,mimounet,restormer,edvr,cdvd-tsp,stfan-cell,stfan-20,pvdnet-large' },
    rounds: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    baseline: { type: 'string' },
    reference: { type: 'string', default: path.join(root, 'scripts', 'ref_bench.py') },
    python: { type: 'string', default: '/usr/bin/python3' },
    json: { type: 'string' },
    'no-original': { type: 'boolean', default: false },
    stat: { type: 'string', default: 'median' },
    'omp-passive': { type: 'boolean', default: false },
    graph: { type: 'boolean', default: false },
  },
});
/** A bad option: say which, and stop with the usage exit status. */
function usage(message) {
  process.stderr.write(`side-by-side: ${message}\n`);
  process.exit(2);
}
const models = values.models.split(',').map((s) => s.trim()).filter(Boolean);
const rounds = Number(values.rounds);
const runs = Number(values.runs);
for (const [k, v] of [['rounds', rounds], ['runs', runs]]) {
  if (!Number.isInteger(v) || v < 1) usage(`--${k}: expected a positive integer, got ${values[k]}`);
}
const withOriginal = !values['no-original'];
if (values.stat !== 'median' && values.stat !== 'min') usage(`--stat: expected median or min, got ${values.stat}`);
const [fwdKey, fbKey] = values.stat === 'min' ? ['forwardMinS', 'forwardBackwardMinS'] : ['forwardS', 'forwardBackwardS'];
if (!withOriginal && !values.baseline) usage('--no-original needs --baseline: there is nothing to compare with');
if (withOriginal && !fs.existsSync(values.reference)) usage(`--reference: ${values.reference} does not exist (the original's harness, scripts/ref_bench.py)`);

// The malloc setting of the reference README: page faults are costly here, and glibc's default
// thresholds hand large buffers back to the kernel after every op.
const env = {
  ...process.env,
  GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184:glibc.malloc.top_pad=268435456',
  // ref_bench.py sets 2 threads for PyTorch; TensorFlow's intra-op pool gets the same.
  TF_NUM_INTRAOP_THREADS: '2',
};

/** Runs a command; returns the last JSON line of its stdout that has `key`. */
function lastJson(cmd, args, cwd, key, extraEnv = {}) {
  const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8', maxBuffer: 1 << 26 });
  const rows = (r.stdout ?? '').split('\n').flatMap((l) => {
    try {
      const o = JSON.parse(l);
      return o && typeof o === 'object' && key in o ? [o] : [];
    } catch {
      return [];
    }
  });
  if (r.status !== 0 || rows.length === 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed with status ${r.status}:\n${(r.stderr ?? '').split('\n').slice(-12).join('\n')}`);
  }
  return rows[rows.length - 1];
}

const ours = (dir, model, graph = false) => {
  const row = lastJson(process.execPath, [path.join(dir, 'bin', 'simdeblur.mjs'), 'bench', '--only', 'models', '--models', model, '--runs', String(runs), ...(graph ? ['--graph'] : [])], dir, 'forwardS');
  return { forwardS: row[fwdKey], forwardBackwardS: row[fbKey], peakRssMb: row.peakRssMb, peakTensorMb: row.peakTensorMb };
};
const original = (model) => {
  const row = lastJson(values.python, [values.reference, model, String(runs)], path.dirname(values.reference), 'forwardS', values['omp-passive'] ? { OMP_WAIT_POLICY: 'PASSIVE' } : {});
  return { forwardS: row.forwardS, forwardBackwardS: row.forwardBackwardS, peakRssMb: row.peakRssMb };
};

const sides = [
  ['ours', (m) => ours(root, m, values.graph)],
  ...(withOriginal ? [['original', original]] : []),
  ...(values.baseline ? [['baseline', (m) => ours(path.resolve(values.baseline), m)]] : []),
];
// The side the ratios are taken against.
const against = withOriginal ? 'original' : 'baseline';

/** samples[model][side] = rows, one per round. */
const samples = Object.fromEntries(models.map((m) => [m, Object.fromEntries(sides.map(([s]) => [s, []]))]));
const started = Date.now();
for (let r = 0; r < rounds; r++) {
  for (const m of models) {
    for (const [side, run] of sides) {
      process.stderr.write(`[side-by-side] round ${r + 1}/${rounds} ${m} ${side} (${Math.round((Date.now() - started) / 1000)} s)\n`);
      try {
        samples[m][side].push(run(m));
      } catch (err) {
        // A model the original's harness cannot build (its code is not in the reference) gets
        // no ratio; every other failure stops the run.
        if (side !== 'original' || !/cannot be timed|not available/.test(String(err))) throw err;
        process.stderr.write(`[side-by-side] ${m}: the original is not available: ${String(err).trim().split('\n').pop()}\n`);
        samples[m][side].push({ forwardS: NaN, forwardBackwardS: NaN, peakRssMb: NaN });
      }
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
};
const med = (rows, key) => median(rows.map((row) => row[key]));
const ratio = (a, b) => (b > 0 ? a / b : NaN);
const fmt = (v, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const geo = (xs) => {
  const ok = xs.filter(Number.isFinite);
  return Math.exp(ok.reduce((s, x) => s + Math.log(x), 0) / ok.length);
};

const cols = ['forwardS', 'forwardBackwardS', 'peakRssMb'];
const lines = [];
const hasBase = withOriginal && Boolean(values.baseline);
lines.push(
  `| model | forward s ours / ${against} (ratio) | forward+backward s ours / ${against} (ratio) | peak RSS MB ours / ${against} (ratio) |${hasBase ? ' baseline fwd / fwd+bwd s / RSS MB |' : ''}`,
  `| --- | --- | --- | --- |${hasBase ? ' --- |' : ''}`,
);
const ratios = Object.fromEntries(cols.map((c) => [c, []]));
for (const m of models) {
  const o = samples[m].ours;
  const p = samples[m][against];
  const cells = cols.map((c) => {
    const a = med(o, c);
    const b = med(p, c);
    ratios[c].push(ratio(a, b));
    const d = c === 'peakRssMb' ? 0 : 3;
    return `${fmt(a, d)} / ${fmt(b, d)} (${fmt(ratio(a, b), 2)}×)`;
  });
  const base = hasBase ? ` ${cols.map((c) => fmt(med(samples[m].baseline, c), c === 'peakRssMb' ? 0 : 3)).join(' / ')} |` : '';
  lines.push(`| ${m} | ${cells.join(' | ')} |${base}`);
}
if (models.length > 1) lines.push(`| geometric mean of ratios | ${cols.map((c) => `${fmt(geo(ratios[c]), 2)}×`).join(' | ')} |${hasBase ? ' |' : ''}`);
console.log(lines.join('\n'));
console.log(`\n${rounds} round(s), ${runs} timed run(s) each (ours: ${values.stat} of the runs${values['omp-passive'] ? '; original with OMP_WAIT_POLICY=PASSIVE' : ''}), medians over rounds per side; ${new Date().toISOString()}; ${Math.round((Date.now() - started) / 1000)} s`);
if (values.json) fs.writeFileSync(values.json, JSON.stringify({ models, rounds, runs, samples }, null, 1));
