// One definition per model. `defineModel` registers a model component (its codec, defaults,
// checks and builder) together with what ties it to the original implementation: the class
// name, the constructor argument names (derived from ours, with overrides for irregular ones)
// and the values that reproduce the original's computation. Named presets are partial options
// for published configurations. The zoo lookup (`fromOriginal`), the `parity` command and the
// parity tests all derive from these definitions. A model whose H and W must be multiples of
// some n says so once (`sizeMultiple`); every build then takes any size (src/models/pad.ts).
import type * as t from 'io-ts';
import { decodeComponent, defineComponent, type Combinator, type ComponentInput, type ComponentSpec, type Spec } from '../config/registry.ts';
import type { Problem, StrictType, StrictTypeOf } from '../config/codecs.ts';
import { showValue } from '../config/errors.ts';
import { didYouMean } from '../config/suggest.ts';
import { ParamStore } from '../nn/params.ts';
import { countParams, type Model } from './model.ts';
import { padToMultiple } from './pad.ts';
import type { SamplingOptions } from '../data/sampling.ts';

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** How a model relates to the original implementation's class. */
export interface OriginalClass<P> {
  /** The class name(s) in the original (several when more than one class builds this network). */
  readonly className: string | readonly string[];
  /** Constructor argument names that are not the snake_case form of ours (`imgChannels: 'img_channel'`). */
  readonly names?: { readonly [K in keyof P]?: string };
  /** Our options that the original's constructor does not take; they keep their defaults. */
  readonly extra?: ReadonlyArray<keyof P>;
  /** Values that reproduce the original's computation where ours differs (no argument there). */
  readonly fixed?: Partial<P>;
  /**
   * Constructor arguments that do not shape the network built here (the original ignores them,
   * or they name files to load weights from): accepted and dropped.
   */
  readonly ignored?: readonly string[];
}

/**
 * What `defineModel` takes: the model's `type` tag, its options codec with defaults and checks, the
 * builder that creates its parameters and forward pass, and optionally presets and the original
 * PyTorch class it maps.
 */
export interface ModelDefinition<T extends string, R extends t.Props, O extends t.Props, DK extends keyof StrictTypeOf<R, O>, PN extends string> {
  readonly type: T;
  /** The options (without `type`), made with `strict(...)`. */
  readonly codec: StrictType<R, O>;
  /** Values of options left out: the original constructor's defaults unless stated otherwise. */
  readonly defaults?: { readonly [K in DK]?: StrictTypeOf<R, O>[K] };
  /** Constraints involving several options; paths are option names. */
  readonly check?: (options: StrictTypeOf<R, O>) => readonly Problem[];
  /** Builds the network into `store` (named as the original's state_dict). */
  readonly build: (options: StrictTypeOf<R, O>, store: ParamStore) => Model;
  /**
   * What the network needs H and W of its input to be multiples of (stride-2 levels, a
   * downscaled hidden state); a function when it depends on the options. The built model's
   * `apply` mirror-pads other sizes at the bottom and right and crops the outputs back, so it
   * accepts any size; `build` itself only ever sees multiples through `apply`.
   */
  readonly sizeMultiple?: number | ((options: StrictTypeOf<R, O>) => number);
  readonly original?: OriginalClass<StrictTypeOf<R, O>>;
  /** Named partial options: published configurations (`edvr.preset('deblur')`). */
  readonly presets?: { readonly [N in PN]: Partial<StrictTypeOf<R, O>> };
  /** One line for listings. */
  readonly describe?: string;
  /**
   * How the model runs over a video when no experiment says so (a zoo model given with a weights
   * file): its strategy and temporal windows. Default: one output per `numFrames` window centred on
   * the target (n_c) when the model has a `numFrames` option, else one frame at a time.
   */
  readonly inference?: (options: StrictTypeOf<R, O>) => Partial<ModelInference>;
}

/** How a model runs over a video: its strategy, its windows, and whether it carries state through a whole video. */
export interface ModelInference {
  readonly strategy: ComponentSpec;
  readonly sampling: Partial<SamplingOptions>;
  /**
   * The model is recurrent over a clip of any length: it runs once over a whole video, carrying
   * its state, rather than over windows of its validation length.
   */
  readonly wholeVideo: boolean;
  /**
   * Crops of a frame restore like the whole frame only when they start on this grid (the
   * product of the model's stride-2 levels); default: its `sizeMultiple`, else 1. Tiles are laid on it.
   */
  readonly align: number;
}

/** A model's combinator: the component combinator plus its presets and original-class mapping. */
export type ModelCombinator<T extends string, P, D, PN extends string> = Combinator<'model', T, P, D> & {
  readonly presets: { readonly [N in PN]: Partial<P> };
  /** The spec of a preset, with overrides. */
  preset(name: PN, overrides?: Partial<P>): Spec<T, P>;
  /** Builds the model of these options (defaults filled) with initial weights from `seed`. */
  create(options?: ComponentInput<P, D>, seed?: number): Model;
  readonly original?: OriginalClass<P>;
};

/** The full options type of a model combinator `C` (every option, defaults included). */
export type OptionsOf<C> = C extends Combinator<'model', string, infer P, unknown> ? Simplify<P> : never;

interface OriginalEntry {
  readonly type: string;
  readonly className: string;
  /** Original argument name → our option name. */
  readonly argToOption: ReadonlyMap<string, string>;
  readonly ignored: ReadonlySet<string>;
  readonly fixed: Readonly<Record<string, unknown>>;
  readonly combinator: (partial: object) => ComponentSpec;
}

const originals = new Map<string, OriginalEntry>();
const builders = new Map<string, (spec: ComponentSpec, store: ParamStore) => Model>();
const sizeMultiples = new Map<string, (options: object) => number>();
const inferences = new Map<string, (options: Record<string, unknown>) => Partial<ModelInference>>();

/** `numInCh` → `num_in_ch`, the original's spelling of most arguments. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Defines and registers a model: returns its combinator (a `model` component that validates options
 * and fills defaults) with `presets`, `preset(name)` and `create(options, seed)`.
 */
export function defineModel<
  const T extends string,
  R extends t.Props,
  O extends t.Props,
  DK extends keyof StrictTypeOf<R, O> = never,
  const PN extends string = never,
>(def: ModelDefinition<T, R, O, DK, PN>): ModelCombinator<T, StrictTypeOf<R, O>, { [K in DK]: unknown }, PN> {
  type P = StrictTypeOf<R, O>;
  const declared = def.sizeMultiple;
  const multipleOf = (options: P): number => {
    const m = typeof declared === 'function' ? declared(options) : (declared ?? 1);
    if (!Number.isInteger(m) || m < 1) throw new Error(`defineModel(${def.type}): sizeMultiple must be a positive integer, got ${showValue(m)}`);
    return m;
  };
  if (typeof declared === 'number') multipleOf({} as P);
  const build = (spec: P, store: ParamStore): Model => padToMultiple(def.build(spec, store), multipleOf(spec));
  const combinator = defineComponent<'model', T, R, O, DK>({
    kind: 'model',
    type: def.type,
    codec: def.codec,
    ...(def.defaults !== undefined ? { defaults: def.defaults } : {}),
    ...(def.check !== undefined ? { check: def.check } : {}),
    build: (spec, { seed }) => {
      const { type: _, ...options } = spec as { type: T } & P;
      return build(options as unknown as P, new ParamStore(seed));
    },
    ...(def.describe !== undefined ? { describe: def.describe } : {}),
  });
  if (declared !== undefined) sizeMultiples.set(def.type, multipleOf as (options: object) => number);
  builders.set(def.type, (spec, store) => {
    const { type: _, ...options } = spec;
    return build(options as unknown as P, store);
  });
  if (def.inference !== undefined) inferences.set(def.type, def.inference as unknown as (options: Record<string, unknown>) => Partial<ModelInference>);
  const presets = (def.presets ?? {}) as { readonly [N in PN]: Partial<P> };
  const preset = (name: PN, overrides: Partial<P> = {}): Spec<T, P> => {
    const p = (presets as Record<string, Partial<P>>)[name];
    if (p === undefined) throw new Error(`model ${def.type} has no preset ${showValue(name)}${didYouMean(String(name), Object.keys(presets))} (presets: ${Object.keys(presets).join(', ') || 'none'})`);
    return (combinator as unknown as (o: object) => Spec<T, P>)({ ...p, ...overrides });
  };
  if (def.original !== undefined) registerOriginal(def.type, def.codec as unknown as StrictType<t.Props, t.Props>, def.original as OriginalClass<Record<string, unknown>>, combinator as unknown as (o: object) => ComponentSpec);
  const create = (options: object = {}, seed = 0): Model => buildModel((combinator as unknown as (o: object) => ComponentSpec)(options), seed);
  return Object.assign(combinator, { presets, preset, create, ...(def.original !== undefined ? { original: def.original } : {}) }) as unknown as ModelCombinator<T, P, { [K in DK]: unknown }, PN>;
}

function registerOriginal(type: string, codec: StrictType<t.Props, t.Props>, original: OriginalClass<Record<string, unknown>>, combinator: (o: object) => ComponentSpec): void {
  const extra = new Set<string>((original.extra ?? []).map(String));
  const fixed = original.fixed ?? {};
  const argToOption = new Map<string, string>();
  const ignored = new Set(original.ignored ?? []);
  for (const option of [...Object.keys(codec.required), ...Object.keys(codec.optional)]) {
    if (extra.has(option) || option in fixed) continue;
    const arg = original.names?.[option] ?? snakeCase(option);
    if (!ignored.has(arg)) argToOption.set(arg, option);
  }
  for (const className of typeof original.className === 'string' ? [original.className] : original.className) {
    if (originals.has(className)) throw new Error(`defineModel(${type}): original class ${className} is already mapped to ${originals.get(className)!.type}`);
    originals.set(className, { type, className, argToOption, ignored, fixed, combinator });
  }
}

/** The original classes with a definition here, by name. */
export function originalClassNames(): string[] {
  return [...originals.keys()];
}

/**
 * Our spec for the original class `className` constructed with `kwargs` (the original's argument
 * names; missing ones take the defaults). Unknown classes and arguments are errors that name
 * them, with the closest known name.
 */
export function fromOriginal(className: string, kwargs: Readonly<Record<string, unknown>>): ComponentSpec {
  const entry = originals.get(className);
  if (entry === undefined) throw new Error(`unknown model class ${showValue(className)}${didYouMean(className, originals.keys())} (known: ${originalClassNames().join(', ')})`);
  const options: Record<string, unknown> = { ...entry.fixed };
  for (const [arg, value] of Object.entries(kwargs)) {
    if (entry.ignored.has(arg)) continue;
    const option = entry.argToOption.get(arg);
    if (option === undefined) {
      const known = [...entry.argToOption.keys(), ...entry.ignored];
      throw new Error(`${className}: unknown constructor argument ${showValue(arg)}${didYouMean(arg, known)} (known: ${known.join(', ') || 'none'})`);
    }
    options[option] = value;
  }
  try {
    return entry.combinator(options);
  } catch (err) {
    throw new Error(`${className}(${JSON.stringify(kwargs)}): ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * What H and W of the input must be multiples of for the model of `spec` (decoded first) to run
 * without padding; undefined when its definition declares no `sizeMultiple` (any size runs as it
 * is).
 */
export function modelSizeMultiple(spec: ComponentSpec): number | undefined {
  const decoded = decodeComponent('model', spec);
  const { type, ...options } = decoded;
  return sizeMultiples.get(type)?.(options);
}

/** Builds a model spec (decoded first: defaults filled, errors with their paths). */
export function buildModel(spec: ComponentSpec, seed: number): Model {
  return buildInto(spec, new ParamStore(seed));
}

function buildInto(spec: ComponentSpec, store: ParamStore): Model {
  const decoded = decodeComponent('model', spec);
  const b = builders.get(decoded.type);
  if (b === undefined) throw new Error(`model type ${showValue(decoded.type)} was not defined with defineModel`);
  return b(decoded, store);
}

/** How the model of a spec runs over a video by default (see `ModelDefinition.inference`). */
export function modelInference(spec: ComponentSpec): ModelInference {
  const decoded = decodeComponent('model', spec) as ComponentSpec & { numFrames?: unknown };
  const own = inferences.get(decoded.type)?.(decoded as unknown as Record<string, unknown>) ?? {};
  const numFrames = typeof decoded.numFrames === 'number' ? decoded.numFrames : 1;
  return { strategy: { type: 'singleScale' }, sampling: { sampling: 'n_c', numFrames }, wholeVideo: false, align: modelSizeMultiple(decoded) ?? 1, ...own };
}

/** Parameter and buffer shapes of a spec, without allocating any tensor. */
export function paramShapes(spec: ComponentSpec): { params: Record<string, number[]>; buffers: Record<string, number[]> } {
  const m = buildInto(spec, ParamStore.shapesOnly());
  const shapes = (r: Readonly<Record<string, { shape: readonly number[] }>>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, [...v.shape]]));
  return { params: shapes(m.params), buffers: shapes(m.buffers) };
}

/** Number of trainable scalars of a spec, without allocating any tensor. */
export function paramCount(spec: ComponentSpec): number {
  return countParams(buildInto(spec, ParamStore.shapesOnly()));
}
