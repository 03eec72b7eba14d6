// A leaderboard protocol: the conditions every model is trained and evaluated under, as a typed
// value in the experiment language. It states the data, the training budget and rules, the
// evaluation and the cost measurements; what is particular to a model (its network options,
// training windows, strategy, loss and learning rate) comes from the model's own recipe or
// registry definition (see entry.ts), adjusted only by the protocol's per-model rules.
import * as t from 'io-ts';
import { arrayOf, Bool, NonEmptyString, NonNegInt, oneOf, pairOf, PositiveInt, PositiveNumber, Str, strict, withChecks, withDefault, withDefaults, type InputOf } from '../config/codecs.ts';
import { decodeOrThrow, decodeWith } from '../config/errors.ts';
import { componentCodec, registeredTypes } from '../config/registry.ts';
import { didYouMean } from '../config/suggest.ts';
import { layoutNames } from '../synth/layout.ts';
import type { Either } from 'fp-ts/lib/Either.js';
// Registers the built-in components, which the codecs of the schedule, loss and optimiser look up.
import '../components.ts';

const Layout = oneOf(...layoutNames);
const Size = pairOf(PositiveInt, '[height, width]');
/** A number, or `'recipe'`: the value the model's recipe uses. */
const orRecipe = <A>(codec: t.Type<A, A, unknown>) => t.union([codec, oneOf('recipe')], `${codec.name} or 'recipe'`);

/** A dataset synthesised from the bundled photographs (src/synth), once, shared by every model. */
const SynthData = withDefaults(
  strict(
    {
      layout: Layout,
      /** Training videos. */
      videos: PositiveInt,
      /** Held-out videos, for the evaluation. */
      testVideos: PositiveInt,
      frames: PositiveInt,
      width: PositiveInt,
      height: PositiveInt,
      seed: NonNegInt,
    },
    {
      /** Camera motion limits (see `simdeblur synth`), e.g. `{ speed: 3, drift: 8, direction: 0 }`. */
      motion: t.record(t.string, t.unknown, 'motion options'),
    },
    'synthesised data',
  ),
  { layout: 'gopro', seed: 1 },
);

/** A benchmark read in place from its published layout. */
const BenchmarkData = strict({ layout: Layout, root: NonEmptyString }, {}, 'benchmark data');

const DataFields = strict({}, { synth: SynthData, benchmark: BenchmarkData }, '{ synth } or { benchmark }');
const DataCodec = withChecks(DataFields, (d) =>
  (d.synth === undefined) === (d.benchmark === undefined) ? [{ message: `expected exactly one of synth, benchmark, got ${d.synth === undefined ? 'neither' : 'both'}` }] : [],
);

const TrainCodec = withDefaults(
  strict(
    {
      /** Optimisation steps per model (one batch each), or the recipe's own run length. */
      iterations: orRecipe(PositiveInt),
      /** Samples per batch, or the recipe's. */
      batch: orRecipe(PositiveInt),
      /** Training crop [height, width], or the recipe's. */
      crop: t.union([Size, oneOf('recipe')], "[height, width] or 'recipe'"),
      /** The recipe's augmentations (with the protocol's crop), flips only, or the crop alone. */
      augment: oneOf('recipe', 'flips', 'none'),
      /** Multiplies the recipe's learning rate (a short budget usually wants a larger one). */
      lrScale: PositiveNumber,
      /** One schedule for every model (spanning the run when it has a length), or the recipe's. */
      schedule: t.union([componentCodec('schedule'), oneOf('recipe')], "schedule spec or 'recipe'"),
      /** One loss for every model, or the recipe's. */
      loss: t.union([componentCodec('loss'), oneOf('recipe')], "loss spec or 'recipe'"),
      /** Loader worker threads. */
      workers: NonNegInt,
      /** Step period of the run's log.jsonl and of the progress lines. */
      logEvery: PositiveInt,
    },
    {
      /** Longest training clip of recurrent models (sampling n_n or strcnn); longer recipe clips are cut. */
      maxFrames: PositiveInt,
      /** The optimiser of models that have no recipe (its lr is used as given). */
      optimizer: componentCodec('optimizer'),
    },
    'training rules',
  ),
  { augment: 'recipe', lrScale: 1, schedule: 'recipe', loss: 'recipe', workers: 0, logEvery: 10 },
);

/** What the protocol changes for one model type. */
const ModelRule = strict(
  {},
  {
    /** Recipe file (relative to `recipes.dir`) instead of the one found by name. */
    recipe: NonEmptyString,
    /** A named preset of the model applied over the recipe's options. */
    preset: NonEmptyString,
    /** Model options applied last. */
    options: t.record(t.string, t.unknown, 'model options'),
    /** The learning rate itself, instead of the recipe's scaled by `train.lrScale`. */
    lr: PositiveNumber,
    /** Shown beside the model's name in the tables (e.g. why its options differ from the paper's). */
    note: Str,
  },
  'model rule',
);

const EvalCodec = withDefaults(
  strict(
    {
      /**
       * Which restored frames are scored: every frame the model restores, or only the `centre` frames of
       * each held-out video (the same frames for every model, whatever its temporal window).
       */
      score: t.union([oneOf('all'), strict({ centre: PositiveInt }, {}, '{ centre }')], "'all' or { centre: N }"),
      /** Also validate during training (every `every` iterations; default: at the end), for the run's log. */
      during: Bool,
    },
    { every: PositiveInt },
    'evaluation',
  ),
  { score: 'all', during: false },
);

const CostCodec = withDefaults(
  strict(
    {
      /** Frame size [height, width] MACs and inference time are measured at. */
      size: Size,
      /** Timed inference runs after one untimed (the median is reported). */
      runs: PositiveInt,
      /** Clip length for models evaluated on whole videos. */
      videoFrames: PositiveInt,
    },
    {},
    'cost measurement',
  ),
  { size: [256, 256], runs: 2, videoFrames: 5 },
);

const RecipesCodec = withDefaults(
  strict(
    {},
    {
      /** Folder of recipe files, relative to the current directory (default: the package's recipes/). */
      dir: NonEmptyString,
      /**
       * Benchmarks in order of preference: model `m` uses `<dir>/<m>-<benchmark>.ts`, the first that
       * exists (default: the data's layout, then dvd, gopro, reds).
       */
      benchmarks: arrayOf(Layout, 'array of benchmark names'),
    },
    'recipe lookup',
  ),
  {},
);

const ProtocolFields = withDefaults(
  strict(
    {
      name: NonEmptyString,
      description: Str,
      seed: NonNegInt,
      recipes: RecipesCodec,
      data: DataCodec,
      train: TrainCodec,
      models: withDefault(t.record(t.string, ModelRule, 'record of model rules'), {}),
      /** The models `--models` defaults to: a list of model types, or every registered one. */
      defaultModels: t.union([oneOf('all'), arrayOf(NonEmptyString)], "'all' or array of model types"),
      eval: EvalCodec,
      cost: CostCodec,
    },
    {},
    'protocol',
  ),
  { description: '', seed: 0, defaultModels: 'all' },
);

/** Model types named by a protocol that are not registered, as problems. */
function unknownModels(p: t.TypeOf<typeof ProtocolFields>): { path: string; message: string }[] {
  const known = registeredTypes('model');
  const bad = (where: string, type: string) => ({ path: where, message: `unknown model type '${type}'${didYouMean(type, known)} (known: ${known.join(', ')})` });
  const fromRules = Object.keys(p.models).filter((k) => !known.includes(k)).map((k) => bad(`models.${k}`, k));
  const fromDefaults = p.defaultModels === 'all' ? [] : p.defaultModels.flatMap((k, i) => (known.includes(k) ? [] : [bad(`defaultModels.${i}`, k)]));
  const scoring = typeof p.eval.score === 'object' && p.data.synth === undefined ? [{ path: 'eval.score', message: 'scoring the centre frames needs synthesised data (their names are known); use \'all\' with a benchmark' }] : [];
  return [...fromRules, ...fromDefaults, ...scoring];
}

/** The protocol codec: validates every key, fills the defaults. */
export const ProtocolCodec = withChecks(ProtocolFields, unknownModels);

/** A decoded protocol: every key checked, defaults filled. */
export type Protocol = t.TypeOf<typeof ProtocolCodec>;
/** What `protocol(...)` accepts: keys with defaults may be left out. */
export type ProtocolInput = InputOf<typeof ProtocolFields>;
/** A protocol's per-model rule. */
export type ModelRule = t.TypeOf<typeof ModelRule>;
/** A protocol's data section: synthesised or a benchmark. */
export type ProtocolData = Protocol['data'];
/** The synthesised-data settings of a protocol. */
export type SynthData = t.TypeOf<typeof SynthData>;

/** Decodes a protocol value: the value with defaults filled, or one line per problem. */
export function decodeProtocol(value: unknown): Either<string[], Protocol> {
  return decodeWith(ProtocolCodec, value);
}

/** Builds a protocol value, filling defaults; throws listing every problem (with its key path). */
export function protocol(input: ProtocolInput): Protocol {
  return decodeOrThrow(ProtocolCodec, input, 'invalid protocol');
}
