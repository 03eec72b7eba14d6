import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  constant,
  multiStep,
  exponential,
  cosine,
  cosineRestart,
  warmupMultiStep,
  warmupCosineRestart,
  type LrSchedule,
} from '../src/optim/schedules.ts';
import { cosine as cosineSpec, cosineRestart as cosineRestartSpec, runLengthIn } from '../src/optim/schedule-components.ts';
import { buildComponent } from '../src/config/registry.ts';

/**
 * A plain-JS model of PyTorch's chainable `_LRScheduler`: the constructor performs one step
 * (last_epoch −1 → 0), and each step sets lr ← getLr(epoch, current lr).
 */
function simulate(base: number, steps: number, getLr: (e: number, lr: number) => number): number[] {
  const out: number[] = [];
  let lr = base;
  for (let e = 0; e < steps; e++) {
    lr = getLr(e, lr);
    out.push(lr);
  }
  return out;
}

function torchMultiStep(base: number, milestones: number[], gamma: number, steps: number): number[] {
  return simulate(base, steps, (e, lr) => {
    const n = milestones.filter((m) => m === e).length;
    return n === 0 ? lr : lr * gamma ** n;
  });
}

function torchExponential(base: number, gamma: number, steps: number): number[] {
  return simulate(base, steps, (e, lr) => (e === 0 ? lr : lr * gamma));
}

/** The chainable cosine step shared by CosineAnnealingLR and the restart variants (phase origin R). */
function cosineStep(e: number, lr: number, R: number, T: number, base: number, eta: number): number {
  const k = e - R;
  const m = (k - 1 - T) % (2 * T);
  if (m === 0) return lr + ((base - eta) * (1 - Math.cos(Math.PI / T))) / 2;
  return ((1 + Math.cos((Math.PI * k) / T)) / (1 + Math.cos((Math.PI * (k - 1)) / T))) * (lr - eta) + eta;
}

function torchCosine(base: number, T: number, eta: number, steps: number): number[] {
  return simulate(base, steps, (e, lr) => (e === 0 ? lr : cosineStep(e, lr, 0, T, base, eta)));
}

/** CosineAnnealingLR_Restart (and its warm-up variant when warmup is given). */
function torchCosineRestart(
  base: number,
  o: { T_period: number[]; restarts?: number[]; weights?: number[]; eta_min: number; warmup?: { epochs: number; init: number } },
  steps: number,
): number[] {
  const restarts = (o.restarts && o.restarts.length > 0 ? o.restarts : [0]).map((r) => r + 1);
  const weights = o.weights && o.weights.length > 0 ? o.weights : [1];
  let T = o.T_period[0]!;
  let R = 0;
  return simulate(base, steps, (e, lr) => {
    if (o.warmup !== undefined) {
      if (e < o.warmup.epochs) return o.warmup.init + e * ((base - o.warmup.init) / (o.warmup.epochs - 1));
    } else if (e === 0) {
      return base;
    }
    const idx = restarts.indexOf(e);
    if (idx >= 0) {
      R = e;
      T = o.T_period[idx + 1]!;
      return base * weights[idx]!;
    }
    return cosineStep(e, lr, R, T, base, o.eta_min);
  });
}

function torchWarmupMultiStep(base: number, milestones: number[], W: number, init: number, gamma: number, steps: number): number[] {
  return simulate(base, steps, (e, lr) => {
    if (e < W) return init + e * ((base - init) / (W - 1));
    return milestones.includes(e) ? lr * gamma : lr;
  });
}

function assertSeq(s: LrSchedule, base: number, want: number[], label: string): void {
  const at = s(base);
  want.forEach((w, t) => {
    const got = at(t);
    assert.ok(Math.abs(got - w) <= 1e-12 * Math.abs(w) + 1e-24, `${label} t=${t}: ${got} vs ${w}`);
  });
}

test('constant, multiStep and exponential follow the PyTorch recurrences', () => {
  assertSeq(constant(), 3e-4, Array(20).fill(3e-4), 'constant');
  assertSeq(multiStep({ milestones: [5, 12, 12, 30], gamma: 0.5 }), 1e-3, torchMultiStep(1e-3, [5, 12, 12, 30], 0.5, 40), 'multiStep');
  assertSeq(multiStep({ milestones: [30, 3] }), 0.1, torchMultiStep(0.1, [30, 3], 0.1, 40), 'multiStep unsorted, default gamma');
  assertSeq(exponential({ gamma: 0.95 }), 2e-3, torchExponential(2e-3, 0.95, 60), 'exponential');
});

test('cosine matches CosineAnnealingLR, including beyond T_max', () => {
  assertSeq(cosine({ tMax: 10 }), 1e-3, torchCosine(1e-3, 10, 0, 55), 'cosine T=10');
  assertSeq(cosine({ tMax: 7, etaMin: 1e-5 }), 4e-4, torchCosine(4e-4, 7, 1e-5, 60), 'cosine T=7 eta');
  assertSeq(cosine({ tMax: 1, etaMin: 1e-6 }), 1e-3, torchCosine(1e-3, 1, 1e-6, 12), 'cosine T=1');
  // Closed form within the first half period.
  const at = cosine({ tMax: 20, etaMin: 1e-6 })(1e-3);
  for (let t = 0; t <= 20; t++) assert.ok(Math.abs(at(t) - (1e-6 + ((1e-3 - 1e-6) * (1 + Math.cos((Math.PI * t) / 20))) / 2)) < 1e-15);
});

test('cosineRestart matches CosineAnnealingLR_Restart (restarts shifted by one, weights)', () => {
  const cases = [
    { T_period: [10, 10, 10, 10], restarts: [10, 20, 30], weights: [1, 0.5, 0.25], eta_min: 1e-7 },
    { T_period: [5, 8, 3], restarts: [4, 15], weights: [0.8, 1], eta_min: 1e-8 }, // 2nd period outlives its cycle, last one repeats
    { T_period: [6, 4], eta_min: 0 }, // default restarts [0] → a restart at step 1
    { T_period: [3, 12], restarts: [], weights: [], eta_min: 1e-8 },
  ];
  for (const c of cases) {
    const s = cosineRestart({ tPeriod: c.T_period, restarts: c.restarts, weights: c.weights, etaMin: c.eta_min });
    assertSeq(s, 2e-4, torchCosineRestart(2e-4, c, 60), JSON.stringify(c));
  }
  // The documented shift: configured restart 10 takes effect at step 11 with LR base·weight.
  const at = cosineRestart({ tPeriod: [10, 10], restarts: [10], weights: [0.5] })(1e-3);
  assert.equal(at(11), 0.5e-3);
  assert.ok(Math.abs(at(10) - 1e-8) < 1e-18);
});

test('warmupMultiStep matches WarmupMultiStepLR', () => {
  assertSeq(warmupMultiStep({ milestones: [8, 15, 20], warmupEpochs: 5, warmupInitLr: 1e-6, gamma: 0.5 }), 1e-3,
    torchWarmupMultiStep(1e-3, [8, 15, 20], 5, 1e-6, 0.5, 30), 'warmupMultiStep');
  // Milestones inside the warm-up have no effect; one at the warm-up's end does.
  assertSeq(warmupMultiStep({ milestones: [2, 4, 9], warmupEpochs: 4 }), 1e-2, torchWarmupMultiStep(1e-2, [2, 4, 9], 4, 1e-6, 0.1, 15), 'warmupMultiStep edge');
  const at = warmupMultiStep({ milestones: [50] })(1e-3);
  assert.equal(at(0), 1e-6);
  assert.ok(Math.abs(at(29) - 1e-3) < 1e-18);
});

test('warmupCosineRestart matches WarmupCosineAnnealingLR_Restart', () => {
  const cases = [
    { T_period: [20, 10, 10], restarts: [19, 29], weights: [0.5, 0.5], eta_min: 1e-8, warmup: { epochs: 5, init: 1e-6 } },
    { T_period: [8, 6], restarts: [12], weights: [1], eta_min: 1e-7, warmup: { epochs: 9, init: 0 } }, // warm-up ends on a zero of the cosine
    { T_period: [10, 5, 5], restarts: [0, 14], weights: [1, 0.3], eta_min: 1e-8, warmup: { epochs: 4, init: 1e-6 } }, // restart inside the warm-up
    { T_period: [4, 4], restarts: [2], weights: [1], eta_min: 1e-8, warmup: { epochs: 6, init: 1e-5 } }, // warm-up longer than the period
  ];
  for (const c of cases) {
    const s = warmupCosineRestart({ tPeriod: c.T_period, restarts: c.restarts, weights: c.weights, etaMin: c.eta_min, warmupEpochs: c.warmup.epochs, warmupInitLr: c.warmup.init });
    assertSeq(s, 1e-3, torchCosineRestart(1e-3, c, 60), JSON.stringify(c));
  }
});

test('schedules validate their arguments with clear errors', () => {
  assert.throws(() => warmupMultiStep({ milestones: [5], warmupEpochs: 1 }), /warmupMultiStep: warmupEpochs must be an integer > 1, got 1/);
  assert.throws(() => warmupMultiStep({ milestones: [5, 5] }), /strictly increasing/);
  assert.throws(() => cosineRestart({ tPeriod: [10, 10], restarts: [5, 8], weights: [1] }), /restarts and weights must have the same length, got 2 and 1/);
  assert.throws(() => cosineRestart({ tPeriod: [10, 10], restarts: [5, 8], weights: [1, 1] }), /tPeriod needs .* at least 3 entries, got 2/);
  assert.throws(() => cosineRestart({ tPeriod: [10] }), /at least 2 entries/);
  assert.throws(() => cosineRestart({ tPeriod: [10, 0] }), /tPeriod\[1\] must be a positive integer/);
  assert.throws(() => cosineRestart({ tPeriod: [10, 10, 10], restarts: [8, 5], weights: [1, 1] }), /restarts must be strictly increasing/);
  assert.throws(() => warmupCosineRestart({ tPeriod: [10, 10], warmupEpochs: 0 }), /warmupEpochs/);
  assert.throws(() => cosine({ tMax: 0 }), /tMax must be a positive integer/);
  assert.throws(() => cosine({ tMax: 2.5 }), /tMax/);
  assert.throws(() => multiStep({ milestones: [-1] }), /milestones\[0\] must be a non-negative integer/);
  assert.throws(() => exponential({ gamma: -0.5 }), /gamma/);
  assert.throws(() => constant()(-1), /base learning rate/);
  assert.throws(() => constant()(1)(1.5), /step index must be a non-negative integer/);
  assert.throws(() => constant()(1)(-1), /step index/);
});

test('cosine without tMax spans the run: tMax defaults to the run length the interpreter passes', () => {
  const spec = cosineSpec({ etaMin: 1e-6, stepEvery: 'iteration' });
  assert.equal('tMax' in spec, false);
  const base = 2e-3;
  const fromRun = buildComponent('schedule', spec, { baseLr: base, runLength: 30 });
  const explicit = cosine({ tMax: 30, etaMin: 1e-6 })(base);
  for (let t = 0; t <= 45; t++) assert.equal(fromRun(t), explicit(t), `t=${t}`);
  // A tMax that is given wins over the run's length.
  const given = buildComponent('schedule', cosineSpec({ tMax: 7, stepEvery: 'iteration' }), { baseLr: base, runLength: 30 });
  assert.equal(given(7), cosine({ tMax: 7 })(base)(7));
  assert.throws(() => buildComponent('schedule', spec, { baseLr: base }), /cosine schedule: tMax is not set and the run's length in iterations is not known; set tMax/);
  // Restart periods are per cycle, not the run's length: they stay required.
  assert.throws(() => cosineRestartSpec({} as never), /tPeriod/);
});

test("the run's length in the schedule's unit", () => {
  assert.equal(runLengthIn('iteration', { iterations: 3000 }, 25), 3000);
  assert.equal(runLengthIn('epoch', { epochs: 40 }, 25), 40);
  assert.equal(runLengthIn('iteration', { epochs: 40 }, 25), 1000);
  // An iteration-based run reaches into epoch ceil(iterations / itersPerEpoch) - 1.
  assert.equal(runLengthIn('epoch', { iterations: 1001 }, 25), 41);
  assert.equal(runLengthIn('epoch', { iterations: 1000 }, 25), 40);
  assert.throws(() => runLengthIn('epoch', { iterations: 10 }, 0), /iterations per epoch must be a positive integer, got 0/);
});
