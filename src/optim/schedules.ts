// Learning-rate schedules as closed forms of PyTorch's chainable `_LRScheduler`s: the value at
// integer step t equals what the scheduler's `get_lr` recurrence gives after t calls to
// `step()` (t counts epochs or iterations — the caller decides). A schedule is validated when
// built; `schedule(baseLr)(t)` is then a pure function.

/** Learning rate at step t (a non-negative integer). */
export type LrAt = (t: number) => number;
/** A schedule, applied to the optimiser's base learning rate. */
export type LrSchedule = (baseLr: number) => LrAt;

function fail(owner: string, msg: string): never {
  throw new Error(`${owner}: ${msg}`);
}

function checkNonNegative(owner: string, name: string, v: number): void {
  if (!Number.isFinite(v) || v < 0) fail(owner, `${name} must be a finite number >= 0, got ${v}`);
}

function checkPositive(owner: string, name: string, v: number): void {
  if (!Number.isFinite(v) || v <= 0) fail(owner, `${name} must be a finite number > 0, got ${v}`);
}

function checkIndexList(owner: string, name: string, xs: readonly number[], strictlyIncreasing: boolean): void {
  xs.forEach((x, i) => {
    if (!Number.isInteger(x) || x < 0) fail(owner, `${name}[${i}] must be a non-negative integer, got ${x}`);
    if (strictlyIncreasing && i > 0 && x <= xs[i - 1]!) fail(owner, `${name} must be strictly increasing, got [${xs.join(', ')}]`);
  });
}

/** Wraps `at` with checks of the base LR and of t. */
function schedule(owner: string, at: (baseLr: number, t: number) => number): LrSchedule {
  return (baseLr: number): LrAt => {
    checkNonNegative(owner, 'base learning rate', baseLr);
    return (t: number): number => {
      if (!Number.isInteger(t) || t < 0) fail(owner, `step index must be a non-negative integer, got ${t}`);
      return at(baseLr, t);
    };
  };
}

/** The base learning rate at every step. */
export function constant(): LrSchedule {
  return schedule('constant', (base) => base);
}

/**
 * Options of `multiStep`: the milestones (values of t, in the schedule's step unit) and the factor
 * `gamma`.
 */
export interface MultiStepOptions {
  readonly milestones: readonly number[];
  /** Default 0.1. */
  readonly gamma?: number;
}

/** torch MultiStepLR: multiplied by gamma at each milestone (a repeated milestone counts each time). */
export function multiStep(options: MultiStepOptions): LrSchedule {
  const gamma = options.gamma ?? 0.1;
  checkNonNegative('multiStep', 'gamma', gamma);
  checkIndexList('multiStep', 'milestones', options.milestones, false);
  const counts = new Map<number, number>();
  for (const m of options.milestones) counts.set(m, (counts.get(m) ?? 0) + 1);
  const sorted = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  return schedule('multiStep', (base, t) => {
    let lr = base;
    // One multiplication per milestone epoch, in order, exactly as the recurrence does it.
    for (const [m, n] of sorted) if (m <= t) lr = lr * gamma ** n;
    return lr;
  });
}

/** Options of `exponential`: the factor `gamma` applied once per step of t. */
export interface ExponentialOptions {
  readonly gamma: number;
}

/** torch ExponentialLR: base · gamma^t. */
export function exponential(options: ExponentialOptions): LrSchedule {
  checkNonNegative('exponential', 'gamma', options.gamma);
  return schedule('exponential', (base, t) => base * options.gamma ** t);
}

/**
 * The chainable cosine rule shared by CosineAnnealingLR and the restart schedules, from an
 * anchor (e0, L0) on a cosine of period T whose phase starts at epoch R. For e > e0 the
 * recurrence is lr_e = eta + (lr_{e−1} − eta)·c(e)/c(e−1), c(e) = 1 + cos(π(e−R)/T), except at
 * "bump" epochs s with (s − R − 1 − T) mod 2T = 0 (where c(s−1) = 0), where
 * lr_s = lr_{s−1} + (base − eta)(1 − cos(π/T))/2. Between bumps the ratios telescope.
 */
function chainedCosine(t: number, R: number, T: number, e0: number, L0: number, base: number, eta: number): number {
  const c = (e: number): number => 1 + Math.cos((Math.PI * (e - R)) / T);
  const bump = ((base - eta) * (1 - Math.cos(Math.PI / T))) / 2;
  const first = R + 1 + T;
  const bumpAfter = (e: number): number => first + 2 * T * Math.ceil((e + 1 - first) / (2 * T));
  const bumpAtOrBefore = (e: number): number => first + 2 * T * Math.floor((e - first) / (2 * T));
  let anchorE = e0;
  let anchorL = L0;
  // At most two rounds: after one bump reached from a zero of c, every later bump restarts from eta.
  for (;;) {
    if (t === anchorE) return anchorL;
    const along = (e: number): number => (e === anchorE ? anchorL : eta + ((anchorL - eta) * c(e)) / c(anchorE));
    const s = bumpAfter(anchorE);
    if (t < s) return along(t);
    const before = along(s - 1);
    if (before === eta) {
      const last = bumpAtOrBefore(t);
      const atLast = eta + bump;
      return t === last ? atLast : eta + ((atLast - eta) * c(t)) / c(last);
    }
    anchorE = s;
    anchorL = before + bump;
  }
}

/** Options of `cosine`: the half period `tMax` in steps of t and the minimum learning rate `etaMin`. */
export interface CosineOptions {
  /** Half period T_max (a positive integer). */
  readonly tMax: number;
  /** Default 0. */
  readonly etaMin?: number;
}

/** torch CosineAnnealingLR: eta + (base − eta)(1 + cos(πt/T_max))/2 (periodic beyond T_max). */
export function cosine(options: CosineOptions): LrSchedule {
  const etaMin = options.etaMin ?? 0;
  if (!Number.isInteger(options.tMax) || options.tMax <= 0) fail('cosine', `tMax must be a positive integer, got ${options.tMax}`);
  checkNonNegative('cosine', 'etaMin', etaMin);
  return schedule('cosine', (base, t) => (t === 0 ? base : chainedCosine(t, 0, options.tMax, 0, base, base, etaMin)));
}

/**
 * Options of `cosineRestart`: cycle periods, restart steps with their learning-rate weights, and the
 * minimum learning rate; all counts in steps of t.
 */
export interface CosineRestartOptions {
  /** Period of each cycle: `tPeriod[0]` before the first restart, `tPeriod[i+1]` after restart i. */
  readonly tPeriod: readonly number[];
  /** Restart epochs as configured; each takes effect one step later (r + 1). Default [0]. */
  readonly restarts?: readonly number[];
  /** LR at restart i is base · weights[i]. Default [1]; same length as `restarts`. */
  readonly weights?: readonly number[];
  /** Default 1e-8. */
  readonly etaMin?: number;
}

interface Restarts {
  /** Effective restart steps (configured + 1), strictly increasing. */
  readonly at: readonly number[];
  readonly weights: readonly number[];
  readonly tPeriod: readonly number[];
  readonly etaMin: number;
}

function checkRestarts(owner: string, o: CosineRestartOptions): Restarts {
  const restarts = o.restarts !== undefined && o.restarts.length > 0 ? o.restarts : [0];
  const weights = o.weights !== undefined && o.weights.length > 0 ? o.weights : [1];
  const etaMin = o.etaMin ?? 1e-8;
  checkIndexList(owner, 'restarts', restarts, true);
  if (restarts.length !== weights.length) {
    fail(owner, `restarts and weights must have the same length, got ${restarts.length} and ${weights.length}`);
  }
  weights.forEach((w, i) => checkNonNegative(owner, `weights[${i}]`, w));
  o.tPeriod.forEach((p, i) => {
    if (!Number.isInteger(p) || p <= 0) fail(owner, `tPeriod[${i}] must be a positive integer, got ${p}`);
  });
  if (o.tPeriod.length < restarts.length + 1) {
    fail(owner, `tPeriod needs one period before the first restart and one after each of the ${restarts.length} restart(s): ` +
      `at least ${restarts.length + 1} entries, got ${o.tPeriod.length}`);
  }
  checkNonNegative(owner, 'etaMin', etaMin);
  return { at: restarts.map((r) => r + 1), weights, tPeriod: o.tPeriod, etaMin };
}

/** Index of the last effective restart in [from, t], or -1. */
function lastRestart(r: Restarts, t: number, from: number): number {
  let idx = -1;
  r.at.forEach((s, i) => {
    if (s >= from && s <= t) idx = i;
  });
  return idx;
}

/**
 * The original's CosineAnnealingLR_Restart: cosine cycles from base (period tPeriod[0]), and at
 * each restart r (effective at r + 1) a new cycle from base · weight with the next period.
 */
export function cosineRestart(options: CosineRestartOptions): LrSchedule {
  const r = checkRestarts('cosineRestart', options);
  return schedule('cosineRestart', (base, t) => {
    if (t === 0) return base;
    const i = lastRestart(r, t, 0);
    if (i < 0) return chainedCosine(t, 0, r.tPeriod[0]!, 0, base, base, r.etaMin);
    const R = r.at[i]!;
    return chainedCosine(t, R, r.tPeriod[i + 1]!, R, base * r.weights[i]!, base, r.etaMin);
  });
}

interface Warmup {
  readonly epochs: number;
  readonly initLr: number;
}

function checkWarmup(owner: string, epochs: number, initLr: number): Warmup {
  if (!Number.isInteger(epochs) || epochs <= 1) fail(owner, `warmupEpochs must be an integer > 1, got ${epochs}`);
  checkNonNegative(owner, 'warmupInitLr', initLr);
  return { epochs, initLr };
}

/** Linear warm-up: initLr + t·(base − initLr)/(epochs − 1), reaching base at t = epochs − 1. */
function warmupAt(w: Warmup, base: number, t: number): number {
  return w.initLr + t * ((base - w.initLr) / (w.epochs - 1));
}

/**
 * Options of `warmupMultiStep`: the milestones and `gamma` of MultiStepLR plus the warm-up length in
 * steps of t and its initial learning rate.
 */
export interface WarmupMultiStepOptions {
  readonly milestones: readonly number[];
  /** Default 30 (> 1). */
  readonly warmupEpochs?: number;
  /** Default 1e-6. */
  readonly warmupInitLr?: number;
  /** Default 0.1. */
  readonly gamma?: number;
}

/**
 * The original's WarmupMultiStepLR: linear warm-up for t < warmupEpochs, then the LR reached at
 * the end of warm-up, multiplied by gamma at each milestone >= warmupEpochs (milestones during
 * the warm-up have no effect).
 */
export function warmupMultiStep(options: WarmupMultiStepOptions): LrSchedule {
  const w = checkWarmup('warmupMultiStep', options.warmupEpochs ?? 30, options.warmupInitLr ?? 1e-6);
  const gamma = options.gamma ?? 0.1;
  checkNonNegative('warmupMultiStep', 'gamma', gamma);
  const milestones = [...options.milestones].sort((a, b) => a - b);
  checkIndexList('warmupMultiStep', 'milestones (sorted)', milestones, true);
  return schedule('warmupMultiStep', (base, t) => {
    if (t < w.epochs) return warmupAt(w, base, t);
    let lr = warmupAt(w, base, w.epochs - 1);
    for (const m of milestones) if (m >= w.epochs && m <= t) lr = lr * gamma;
    return lr;
  });
}

/**
 * Options of `warmupCosineRestart`: those of `cosineRestart` plus the warm-up length in steps of t and
 * its initial learning rate.
 */
export interface WarmupCosineRestartOptions extends CosineRestartOptions {
  /** Default 10 (> 1). */
  readonly warmupEpochs?: number;
  /** Default 1e-6. */
  readonly warmupInitLr?: number;
}

/**
 * The original's WarmupCosineAnnealingLR_Restart: linear warm-up for t < warmupEpochs; then the
 * restart/cosine rule of `cosineRestart`, continuing the first cycle's phase (period
 * tPeriod[0], phase origin 0) from the LR reached at the end of warm-up. Restarts that fall
 * inside the warm-up are never reached.
 */
export function warmupCosineRestart(options: WarmupCosineRestartOptions): LrSchedule {
  const w = checkWarmup('warmupCosineRestart', options.warmupEpochs ?? 10, options.warmupInitLr ?? 1e-6);
  const r = checkRestarts('warmupCosineRestart', options);
  return schedule('warmupCosineRestart', (base, t) => {
    if (t < w.epochs) return warmupAt(w, base, t);
    const i = lastRestart(r, t, w.epochs);
    if (i < 0) return chainedCosine(t, 0, r.tPeriod[0]!, w.epochs - 1, warmupAt(w, base, w.epochs - 1), base, r.etaMin);
    const R = r.at[i]!;
    return chainedCosine(t, R, r.tPeriod[i + 1]!, R, base * r.weights[i]!, base, r.etaMin);
  });
}
