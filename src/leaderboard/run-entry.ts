// Runs one leaderboard entry in this process: trains its experiment with `fit` (the run
// directory gets experiment.json, log.jsonl and the final checkpoint, as `simdeblur train`
// writes them), scores the final weights, measures the cost, and returns the row. The worker
// process (worker.ts) calls it once and exits, so that the peak memory is this model's own.
import fs from 'node:fs';
import path from 'node:path';
import { tap } from 'rxjs';
import { buildComponent } from '../config/registry.ts';
import { fit } from '../engine/fit.ts';
import { loadWeights, readCheckpointState, readEmaWeights } from '../engine/checkpoint.ts';
import { loadStateDict } from '../models/model.ts';
import type { Strategy } from '../engine/strategy.ts';
import type { Dataset } from '../data/dataset.ts';
import { runtimeInfo } from '../runtime/index.ts';
import { writePng } from '../infer/sinks.ts';
import { sideBySide } from '../infer/side-by-side.ts';
import { measureCost } from './cost.ts';
import { withDataDir } from './data.ts';
import type { Entry } from './entry.ts';
import { scoreModel } from './score.ts';
import type { Row, Versions } from './rows.ts';

/** What the entry's run reports while it goes. */
export type EntryProgress =
  | { readonly type: 'step'; readonly iteration: number; readonly total: number; readonly loss: number; readonly secondsPerIter: number }
  | { readonly type: 'phase'; readonly phase: 'training' | 'evaluating' | 'measuring cost' };

/** Where an entry runs and what it is called. */
export interface EntryRun {
  readonly entry: Entry;
  readonly hash: string;
  readonly protocol: string;
  readonly protocolHash: string;
  /** The real folder `$DATA` stands for. */
  readonly dataDir: string;
  /** The leaderboard's output folder. */
  readonly out: string;
  /** The run directory, relative to `out` (emptied first: a crashed attempt leaves one behind). */
  readonly runDir: string;
  /** Where the showcase strip (blurry | restored | sharp PNG) goes. */
  readonly showcaseFile: string;
  readonly onProgress?: (p: EntryProgress) => void;
}

function packageVersion(): string {
  const pkg = new URL('../../package.json', import.meta.url);
  return String((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version?: unknown }).version ?? 'unknown');
}

/** Versions of the package, TensorFlow, tfjs and Node in this process. */
export function versions(): Versions {
  const info = runtimeInfo();
  return { simdeblur: packageVersion(), tensorflow: info.tfVersion ?? 'none', tfjs: info.tfjsVersion, node: process.versions.node, backend: info.backend };
}

/** Trains, scores and measures one entry; resolves to its row (the caller stores it). */
export async function runEntry(r: EntryRun): Promise<Row> {
  const t0 = performance.now();
  const { entry } = r;
  const exp = withDataDir(entry.experiment, r.dataDir);
  const workDir = path.join(r.out, r.runDir);
  fs.rmSync(workDir, { recursive: true, force: true });
  const progress = r.onProgress ?? (() => undefined);

  // The evaluation data is opened first: a problem with it shows before the training, not after.
  const evalSpec = withDataDir(entry.eval.dataset, r.dataDir);
  const data = await buildComponent<Dataset | Promise<Dataset>>('dataset', evalSpec, { split: 'val' });
  const single = await buildComponent<Dataset | Promise<Dataset>>('dataset', { ...evalSpec, sampling: 'n_n', numFrames: 1, interval: 1, overlapping: true }, { split: 'val' });

  progress({ type: 'phase', phase: 'training' });
  const stepSeconds: number[] = [];
  // CPU time of the whole process (TensorFlow's threads included) per step: less sensitive than
  // wall time to other work sharing the machine.
  const stepCpuSeconds: number[] = [];
  let cpuMark = process.cpuUsage();
  let total = 0;
  const summary = await fit(exp, {
    workDir,
    progress: false,
    tensorboard: false,
    hooks: [
      tap((ev) => {
        if (ev.type === 'start') total = ev.totalIterations;
        if (ev.type !== 'step') return;
        stepSeconds.push((ev.dataMs + ev.stepMs) / 1000);
        const cpu = process.cpuUsage(cpuMark);
        cpuMark = process.cpuUsage();
        stepCpuSeconds.push((cpu.user + cpu.system) / 1e6);
        const perIter = mean(stepSeconds.slice(1)) || stepSeconds[0]!;
        if (ev.iteration % exp.log.every === 0 || ev.iteration === total) {
          progress({ type: 'step', iteration: ev.iteration, total, loss: ev.loss, secondsPerIter: perIter });
        }
      }),
    ],
  });
  if (summary.reason !== 'completed') throw new Error(`training stopped at iteration ${summary.iteration}`);
  if (summary.checkpoint === undefined) throw new Error('training wrote no checkpoint');

  progress({ type: 'phase', phase: 'evaluating' });
  const model = buildComponent('model', exp.model, { seed: exp.seed });
  try {
    loadWeights(model, path.join(summary.checkpoint, 'weights.safetensors'));
    // With an EMA, its weights are what the run validated and what is kept.
    if (readCheckpointState(summary.checkpoint).emaMeta !== null) loadStateDict(model, readEmaWeights(summary.checkpoint), { layout: 'ours', strict: false });
    const strategy = buildComponent<Strategy>('strategy', exp.strategy ?? { type: 'singleScale' });
    const scores = await scoreModel(model, model.params, strategy, data, single, entry.eval.frames);
    const s = scores.showcase;
    await writePng(r.showcaseFile, sideBySide(s.id, s.input ? [s.input, s.output, s.gt] : [s.output, s.gt], s.width, s.height));

    progress({ type: 'phase', phase: 'measuring cost' });
    const cost = await measureCost(model, model.params, strategy, { ...entry.cost, seed: exp.seed });
    return {
      model: entry.model,
      note: entry.note,
      recipe: entry.recipe,
      psnr: scores.psnr,
      ssim: scores.ssim,
      inputPsnr: scores.inputPsnr,
      inputSsim: scores.inputSsim,
      frames: scores.frames,
      params: cost.params,
      macsPerFrame: cost.macsPerFrame,
      costSize: entry.cost.size,
      trainSecondsPerIter: mean(stepSeconds.slice(1)) || (stepSeconds[0] ?? NaN),
      trainCpuSecondsPerIter: mean(stepCpuSeconds.slice(1)) || (stepCpuSeconds[0] ?? NaN),
      inferenceMsPerFrame: cost.inferenceMsPerFrame,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      iterations: summary.iteration,
      samplesSeen: summary.iteration * exp.data.batchSize,
      batch: exp.data.batchSize,
      seed: exp.seed,
      hash: r.hash,
      protocolHash: r.protocolHash,
      protocol: r.protocol,
      versions: versions(),
      wallSeconds: (performance.now() - t0) / 1000,
      cpuSeconds: cpuSeconds(),
      finishedAt: new Date().toISOString(),
      runDir: r.runDir,
      warnings: summary.warnings,
    };
  } finally {
    model.dispose();
  }
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}
