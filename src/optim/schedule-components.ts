// Built-in learning-rate schedule components (closed forms in src/optim/schedules.ts). Every
// schedule has `stepEvery`: whether t counts epochs (the original's behaviour) or iterations.
// A parameter spanning the whole run (cosine's `tMax`) may be left out: the interpreter then
// passes the run's length, counted in `stepEvery` units, as `runLength`.
import * as t from 'io-ts';
import {
  constant as constantLr,
  cosine as cosineLr,
  cosineRestart as cosineRestartLr,
  exponential as exponentialLr,
  multiStep as multiStepLr,
  warmupCosineRestart as warmupCosineRestartLr,
  warmupMultiStep as warmupMultiStepLr,
} from './schedules.ts';
import { arrayOf, NonNegInt, NonNegNumber, oneOf, PositiveInt, strict } from '../config/codecs.ts';
import type { Problem } from '../config/codecs.ts';
import { defineComponent, type ComponentSpec } from '../config/registry.ts';

/** What t counts for a decoded schedule spec (every schedule has `stepEvery`). */
export function stepUnit(spec: ComponentSpec): 'epoch' | 'iteration' {
  const u = spec['stepEvery'];
  if (u !== 'epoch' && u !== 'iteration') throw new Error(`schedule spec ${spec.type} has no stepEvery`);
  return u;
}

/**
 * A run's length counted in a schedule's unit: the same number when the units agree, otherwise
 * converted with the iterations per epoch (an epoch-stepped schedule over an iteration-based
 * run counts the epochs the run reaches into).
 */
export function runLengthIn(unit: 'epoch' | 'iteration', run: { readonly epochs?: number; readonly iterations?: number }, itersPerEpoch: number): number {
  if (!Number.isInteger(itersPerEpoch) || itersPerEpoch <= 0) throw new Error(`runLengthIn: iterations per epoch must be a positive integer, got ${itersPerEpoch}`);
  if (run.epochs !== undefined) return unit === 'epoch' ? run.epochs : run.epochs * itersPerEpoch;
  if (run.iterations !== undefined) return unit === 'iteration' ? run.iterations : Math.ceil(run.iterations / itersPerEpoch);
  throw new Error('runLengthIn: the run has neither epochs nor iterations');
}

const stepEvery = oneOf('epoch', 'iteration');
const withStep = <P extends t.Props, O extends t.Props = {}>(props: P, optional?: O) => strict({ ...props, stepEvery }, optional);

const WarmupSteps = new t.Type<number, number, unknown>(
  'integer > 1',
  (u): u is number => typeof u === 'number' && Number.isInteger(u) && u > 1,
  (u, c) => (typeof u === 'number' && Number.isInteger(u) && u > 1 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

function increasing(path: string, xs: readonly number[]): Problem[] {
  const i = xs.findIndex((x, j) => j > 0 && x <= xs[j - 1]!);
  return i < 0 ? [] : [{ path: `${path}.${i}`, message: `expected a value above ${xs[i - 1]} (${path} must be strictly increasing), got ${xs[i]}` }];
}

interface RestartParams {
  readonly tPeriod: readonly number[];
  readonly restarts: readonly number[];
  readonly weights: readonly number[];
}

// The same constraints as the builder's, reported at their paths while decoding.
function restartProblems(p: RestartParams): Problem[] {
  const out = increasing('restarts', p.restarts);
  if (p.weights.length !== p.restarts.length) {
    out.push({ path: 'weights', message: `expected ${p.restarts.length} value(s), one per restart, got ${p.weights.length}` });
  }
  if (p.tPeriod.length < p.restarts.length + 1) {
    out.push({ path: 'tPeriod', message: `expected at least ${p.restarts.length + 1} periods (one before the first restart and one after each), got ${p.tPeriod.length}` });
  }
  return out;
}

/** Schedule component: the base learning rate throughout. */
export const constant = defineComponent({
  kind: 'schedule',
  type: 'constant',
  codec: withStep({}),
  defaults: { stepEvery: 'epoch' },
  build: (_s, { baseLr }) => constantLr()(baseLr),
  describe: 'the base learning rate throughout',
});

/**
 * Schedule component: torch's MultiStepLR, the learning rate multiplied by `gamma` (default 0.1) at
 * each milestone, counted in `stepEvery` units.
 */
export const multiStep = defineComponent({
  kind: 'schedule',
  type: 'multiStep',
  codec: withStep({ milestones: arrayOf(NonNegInt), gamma: NonNegNumber }),
  defaults: { gamma: 0.1, stepEvery: 'epoch' },
  build: (s, { baseLr }) => multiStepLr({ milestones: s.milestones, gamma: s.gamma })(baseLr),
  describe: 'MultiStepLR: multiplied by gamma at each milestone',
});

/** Schedule component: torch's ExponentialLR, base · gamma^t with t in `stepEvery` units. */
export const exponential = defineComponent({
  kind: 'schedule',
  type: 'exponential',
  codec: withStep({ gamma: NonNegNumber }),
  defaults: { stepEvery: 'epoch' },
  build: (s, { baseLr }) => exponentialLr({ gamma: s.gamma })(baseLr),
  describe: 'ExponentialLR: base · gamma^t',
});

/**
 * Schedule component: torch's CosineAnnealingLR with half period `tMax` (default: the run's length in
 * `stepEvery` units), down to `etaMin`.
 */
export const cosine = defineComponent({
  kind: 'schedule',
  type: 'cosine',
  codec: withStep({ etaMin: NonNegNumber }, { tMax: PositiveInt }),
  defaults: { etaMin: 0, stepEvery: 'epoch' },
  build: (s, { baseLr, runLength }) => {
    const tMax = s.tMax ?? runLength;
    if (tMax === undefined) throw new Error(`cosine schedule: tMax is not set and the run's length in ${s.stepEvery}s is not known; set tMax`);
    return cosineLr({ tMax, etaMin: s.etaMin })(baseLr);
  },
  describe: 'CosineAnnealingLR with half period tMax (default: the run, in stepEvery units)',
});

/**
 * Schedule component: cosine annealing with warm restarts (the original's CosineAnnealingLR_Restart),
 * one period per cycle and a weight per restart.
 */
export const cosineRestart = defineComponent({
  kind: 'schedule',
  type: 'cosineRestart',
  codec: withStep({ tPeriod: arrayOf(PositiveInt), restarts: arrayOf(NonNegInt), weights: arrayOf(NonNegNumber), etaMin: NonNegNumber }),
  defaults: { restarts: [0], weights: [1], etaMin: 1e-8, stepEvery: 'epoch' },
  check: restartProblems,
  build: (s, { baseLr }) => cosineRestartLr({ tPeriod: s.tPeriod, restarts: s.restarts, weights: s.weights, etaMin: s.etaMin })(baseLr),
  describe: 'cosine annealing with restarts (CosineAnnealingLR_Restart)',
});

/**
 * Schedule component: a linear warm-up over `warmupEpochs` steps of t, then MultiStepLR (the
 * original's WarmupMultiStepLR).
 */
export const warmupMultiStep = defineComponent({
  kind: 'schedule',
  type: 'warmupMultiStep',
  codec: withStep({ milestones: arrayOf(NonNegInt), warmupEpochs: WarmupSteps, warmupInitLr: NonNegNumber, gamma: NonNegNumber }),
  defaults: { warmupEpochs: 30, warmupInitLr: 1e-6, gamma: 0.1, stepEvery: 'epoch' },
  check: (p) => {
    const i = p.milestones.findIndex((m, j) => p.milestones.indexOf(m) !== j);
    return i < 0 ? [] : [{ path: `milestones.${i}`, message: `expected distinct milestones, got ${p.milestones[i]} twice` }];
  },
  build: (s, { baseLr }) =>
    warmupMultiStepLr({ milestones: s.milestones, warmupEpochs: s.warmupEpochs, warmupInitLr: s.warmupInitLr, gamma: s.gamma })(baseLr),
  describe: 'linear warm-up, then MultiStepLR (WarmupMultiStepLR)',
});

/**
 * Schedule component: a linear warm-up over `warmupEpochs` steps of t, then cosine annealing with
 * restarts (the original's WarmupCosineAnnealingLR_Restart).
 */
export const warmupCosineRestart = defineComponent({
  kind: 'schedule',
  type: 'warmupCosineRestart',
  codec: withStep({
    tPeriod: arrayOf(PositiveInt),
    restarts: arrayOf(NonNegInt),
    weights: arrayOf(NonNegNumber),
    warmupEpochs: WarmupSteps,
    warmupInitLr: NonNegNumber,
    etaMin: NonNegNumber,
  }),
  defaults: { restarts: [0], weights: [1], warmupEpochs: 10, warmupInitLr: 1e-6, etaMin: 1e-8, stepEvery: 'epoch' },
  check: restartProblems,
  build: (s, { baseLr }) =>
    warmupCosineRestartLr({
      tPeriod: s.tPeriod,
      restarts: s.restarts,
      weights: s.weights,
      warmupEpochs: s.warmupEpochs,
      warmupInitLr: s.warmupInitLr,
      etaMin: s.etaMin,
    })(baseLr),
  describe: 'linear warm-up, then cosine annealing with restarts (WarmupCosineAnnealingLR_Restart)',
});
