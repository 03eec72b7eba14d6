// The experiment: one JSON value holding everything a run needs. `decodeExperiment` checks it
// and fills defaults; the decoded value decodes to itself again (after a JSON round trip too).
import * as t from 'io-ts';
import { isLeft, type Either } from 'fp-ts/lib/Either.js';
import { arrayOf, Bool, isPlainObject, NonEmptyString, NonNegInt, NonNegNumber, ownValue, PositiveInt, PositiveNumber, Probability, Str, strict, withChecks, withDefault, withDefaults } from './codecs.ts';
import { decodeOrThrow, decodeWith, showValue } from './errors.ts';
import { componentCodec, type ComponentSpec } from './registry.ts';

/** One weighted term of `experiment.loss.terms`. */
export interface LossTermSpec {
  weight: number;
  loss: ComponentSpec;
}

export interface DataSection {
  train: ComponentSpec;
  val?: ComponentSpec;
  batchSize: number;
  valBatchSize: number;
  workers: number;
  /** Applied in order to every training sample. */
  augment: ComponentSpec[];
}

export interface Experiment {
  name: string;
  seed: number;
  workDir: string;
  data: DataSection;
  model: ComponentSpec;
  /** Absent: the engine's single-scale strategy. */
  strategy?: ComponentSpec;
  loss: { terms: LossTermSpec[] };
  optimizer: ComponentSpec;
  schedule: ComponentSpec;
  clipGradNorm?: number;
  ema?: { decay: number };
  /** Exactly one of the two. */
  run: { epochs?: number; iterations?: number };
  /** `every` counts epochs, or iterations when `run.iterations` is set. */
  validation: { every: number; saveImages: number };
  /** `every` counts like `validation.every`. */
  checkpoint: { every: number; keepLast: number; keepBest: boolean };
  /** `every` counts iterations. */
  log: { every: number };
}

/** What `experiment(...)` accepts: an Experiment with defaulted keys optional. */
export interface ExperimentInput {
  name: string;
  seed?: number;
  /** Default `work_dirs/<name>`. */
  workDir?: string;
  data: {
    train: ComponentSpec;
    val?: ComponentSpec;
    batchSize: number;
    valBatchSize?: number;
    workers?: number;
    augment?: ComponentSpec[];
  };
  model: ComponentSpec;
  strategy?: ComponentSpec;
  /** One loss spec (weight 1), or weighted terms. */
  loss: ComponentSpec | { terms: Array<{ weight?: number; loss: ComponentSpec }> };
  optimizer: ComponentSpec;
  /** Default: constant. */
  schedule?: ComponentSpec;
  clipGradNorm?: number;
  ema?: { decay?: number };
  run: { epochs: number; iterations?: undefined } | { iterations: number; epochs?: undefined };
  validation: { every: number; saveImages?: number };
  checkpoint: { every: number; keepLast?: number; keepBest?: boolean };
  log?: { every?: number };
}

const DataCodec = withDefaults(
  strict(
    {
      train: componentCodec('dataset'),
      batchSize: PositiveInt,
      valBatchSize: PositiveInt,
      workers: NonNegInt,
      augment: arrayOf(componentCodec('augmentation'), 'array of augmentation specs'),
    },
    { val: componentCodec('dataset') },
  ),
  { valBatchSize: 1, workers: 0, augment: [] },
);

const TermCodec = withDefaults(strict({ weight: NonNegNumber, loss: componentCodec('loss') }), { weight: 1 });
const TermsCodec = withChecks(strict({ terms: arrayOf(TermCodec, 'array of loss terms') }), (s) =>
  s.terms.length === 0 ? [{ path: 'terms', message: 'expected at least one term, got []' }] : [],
);

/** `{ terms: [...] }`, or a single loss spec standing for one term of weight 1. */
const LossCodec = new t.Type<{ terms: LossTermSpec[] }, { terms: LossTermSpec[] }, unknown>(
  'loss spec or { terms }',
  (u): u is { terms: LossTermSpec[] } => TermsCodec.is(u),
  (u, c) => {
    if (isPlainObject(u) && ownValue(u, 'terms') !== undefined) return TermsCodec.validate(u, c);
    if (isPlainObject(u) && ownValue(u, 'type') !== undefined) {
      const r = componentCodec('loss').validate(u, c);
      return isLeft(r) ? r : t.success({ terms: [{ weight: 1, loss: r.right }] });
    }
    return t.failures([{ value: u, context: c, message: `expected a loss spec (an object with a type) or { terms: [{ weight, loss }] }, got ${showValue(u)}` }]);
  },
  t.identity,
);

const RunCodec = withChecks(strict({}, { epochs: PositiveInt, iterations: PositiveInt }, '{ epochs } or { iterations }'), (r) =>
  r.epochs !== undefined && r.iterations !== undefined
    ? [{ message: 'expected exactly one of epochs, iterations, got both' }]
    : r.epochs === undefined && r.iterations === undefined
      ? [{ message: 'expected exactly one of epochs, iterations, got neither' }]
      : [],
);

const ExperimentFields = withDefaults(
  strict(
    {
      name: NonEmptyString,
      seed: NonNegInt,
      data: DataCodec,
      model: componentCodec('model'),
      loss: LossCodec,
      optimizer: componentCodec('optimizer'),
      schedule: withDefault(componentCodec('schedule'), { type: 'constant' }),
      run: RunCodec,
      validation: withDefaults(strict({ every: PositiveInt, saveImages: NonNegInt }), { saveImages: 0 }),
      checkpoint: withDefaults(strict({ every: PositiveInt, keepLast: PositiveInt, keepBest: Bool }), { keepLast: 3, keepBest: true }),
      log: withDefaults(strict({ every: PositiveInt }), { every: 10 }),
    },
    {
      workDir: Str,
      strategy: componentCodec('strategy'),
      clipGradNorm: PositiveNumber,
      ema: withDefaults(strict({ decay: Probability }), { decay: 0.999 }),
    },
    'experiment',
  ),
  { seed: 0 },
);

/** The experiment codec: validates every key and fills the defaults. */
export const ExperimentCodec: t.Type<Experiment, Experiment, unknown> = new t.Type<Experiment, Experiment, unknown>(
  'experiment',
  (u): u is Experiment => ExperimentFields.is(u) && typeof ownValue(u as Record<string, unknown>, 'workDir') === 'string',
  (u, c) => {
    const r = ExperimentFields.validate(u, c);
    if (isLeft(r)) return r;
    // workDir's default depends on name, so it is filled after the fields are known.
    const e = r.right;
    return t.success({ ...e, workDir: e.workDir ?? defaultWorkDir(e.name) } as Experiment);
  },
  t.identity,
);

/** `workDir` as the decoder fills it in when it is not given. */
export function defaultWorkDir(name: string): string {
  return `work_dirs/${name}`;
}

/** Decodes an experiment value: the value with defaults filled, or one line per problem. */
export function decodeExperiment(value: unknown): Either<string[], Experiment> {
  return decodeWith(ExperimentCodec, value);
}

/** Builds an experiment value, filling defaults; throws listing every problem. */
export function experiment(input: ExperimentInput): Experiment {
  return decodeOrThrow(ExperimentCodec, input, 'invalid experiment');
}

/** The unit of `validation.every` and `checkpoint.every`. */
export function runUnit(e: Experiment): 'epoch' | 'iteration' {
  return e.run.iterations !== undefined ? 'iteration' : 'epoch';
}
