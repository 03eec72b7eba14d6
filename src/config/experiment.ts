// The experiment: one JSON value holding everything a run needs. `decodeExperiment` checks it
// and fills defaults; the decoded value decodes to itself again (after a JSON round trip too).
import * as t from 'io-ts';
import { isLeft, type Either } from 'fp-ts/lib/Either.js';
import { arrayOf, Bool, isPlainObject, NonEmptyString, NonNegInt, NonNegNumber, ownValue, PositiveInt, PositiveNumber, Probability, Str, strict, withChecks, withDefault, withDefaults, type HasInput, type InputOf } from './codecs.ts';
import { decodeOrThrow, decodeWith, showValue } from './errors.ts';
import { componentCodec, type ComponentSpec } from './registry.ts';

/** One weighted term of `experiment.loss.terms`. */
export interface LossTermSpec {
  weight: number;
  loss: ComponentSpec;
}

/** The length of a run: exactly one of the two. */
export type RunLength = { epochs: number; iterations?: undefined } | { iterations: number; epochs?: undefined };

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
type LossInput = ComponentSpec | { terms: Array<{ weight?: number; loss: ComponentSpec }> };
const LossCodec: t.Type<{ terms: LossTermSpec[] }, { terms: LossTermSpec[] }, unknown> & HasInput<LossInput> = new t.Type<{ terms: LossTermSpec[] }, { terms: LossTermSpec[] }, unknown>(
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

const RunFields = strict({}, { epochs: PositiveInt, iterations: PositiveInt }, '{ epochs } or { iterations }');
const RunCodec = withChecks(RunFields, (r) =>
  r.epochs !== undefined && r.iterations !== undefined
    ? [{ message: 'expected exactly one of epochs, iterations, got both' }]
    : r.epochs === undefined && r.iterations === undefined
      ? [{ message: 'expected exactly one of epochs, iterations, got neither' }]
      : [],
) as unknown as t.Type<RunLength, RunLength, unknown> & HasInput<RunLength>;

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
      syncBatchNorm: Bool,
      graph: Bool,
    },
    'experiment',
  ),
  { seed: 0 },
);

/** The experiment codec: validates every key and fills the defaults. */
export const ExperimentCodec = ExperimentFields;

/** A decoded experiment: every key checked, defaults filled (`workDir` stays absent unless given). */
export type Experiment = t.TypeOf<typeof ExperimentCodec>;
/** What `experiment(...)` accepts: the keys with defaults are optional. */
export type ExperimentInput = InputOf<typeof ExperimentCodec>;
/** The decoded `data` section of an experiment. */
export type DataSection = Experiment['data'];

/**
 * The experiment `experiment(input)` returns: the component specs keep the precise types of the
 * combinators that made them, so `exp.model.innerChannels` is a number for a DBN.
 */
export type TypedExperiment<I extends ExperimentInput> = Omit<Experiment, 'model' | 'optimizer' | 'schedule' | 'strategy' | 'data'> & {
  model: I['model'];
  optimizer: I['optimizer'];
  schedule: Given<I['schedule'], Experiment['schedule']>;
  strategy?: Given<I['strategy'], ComponentSpec>;
  data: Omit<DataSection, 'train' | 'val'> & (I['data'] extends { train: infer T; val?: infer V } ? { train: T; val?: Given<V, ComponentSpec> } : Pick<DataSection, 'train' | 'val'>);
};
/** `T`, or `Fallback` where the input left the key out (its type is then unknown or undefined). */
type Given<T, Fallback> = unknown extends T ? Fallback : [NonNullable<T>] extends [never] ? Fallback : NonNullable<T>;

/** Where a run writes: `workDir` when given, else `work_dirs/<name>`. */
export function workDirOf(e: Pick<Experiment, 'name' | 'workDir'>): string {
  return e.workDir ?? defaultWorkDir(e.name);
}

/** The work directory of an experiment that does not set `workDir`. */
export function defaultWorkDir(name: string): string {
  return `work_dirs/${name}`;
}

/** Decodes an experiment value: the value with defaults filled, or one line per problem. */
export function decodeExperiment(value: unknown): Either<string[], Experiment> {
  return decodeWith(ExperimentCodec, value);
}

/** Builds an experiment value, filling defaults; throws listing every problem. */
export function experiment<I extends ExperimentInput>(input: I): TypedExperiment<I> {
  return decodeOrThrow(ExperimentCodec, input, 'invalid experiment') as unknown as TypedExperiment<I>;
}

/** The unit of `validation.every` and `checkpoint.every`. */
export function runUnit(e: Experiment): 'epoch' | 'iteration' {
  return e.run.iterations !== undefined ? 'iteration' : 'epoch';
}
