// The registry of component kinds. A component is a tagged record `{ type, ...params }`; its
// definition gives the params codec, the defaults, and a builder that turns a decoded spec into
// a live object. `componentCodec(kind)` looks the type up when decoding, so components defined
// after the experiment codec was created (e.g. in a user's file) are accepted.
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import type { Model } from '../models/model.ts';
import type { Loss } from '../losses/types.ts';
import type { Optimizer } from '../optim/types.ts';
import type { LrAt } from '../optim/schedules.ts';
import { didYouMean } from './suggest.ts';
import { isPlainObject, keyFailure, ownValue, StrictType, withChecks, withDefaults } from './codecs.ts';
import type { Problem, StrictTypeOf } from './codecs.ts';
import { decodeOrThrow, decodeWith, showValue } from './errors.ts';

/** Every kind of component an experiment is assembled from, in a fixed order. */
export const componentKinds = ['model', 'loss', 'optimizer', 'schedule', 'dataset', 'augmentation', 'strategy'] as const;
/**
 * One of {@link componentKinds}: `model`, `loss`, `optimizer`, `schedule`, `dataset`, `augmentation`
 * or `strategy`.
 */
export type ComponentKind = (typeof componentKinds)[number];

/** What a model builder receives besides its spec. */
export interface ModelContext {
  /** Seed of the initial weights. */
  readonly seed: number;
}
/** What a learning-rate schedule builder receives besides its spec. */
export interface ScheduleContext {
  /** The optimizer spec's `lr`. */
  readonly baseLr: number;
  /**
   * The run's length counted in the schedule's `stepEvery` unit, when known: the default of
   * parameters that span the whole run (cosine's `tMax`).
   */
  readonly runLength?: number;
}

/** Build context and result of the kinds whose builders this layer can type. */
export interface TypedKinds {
  model: { context: ModelContext; built: Model };
  loss: { context: undefined; built: Loss };
  optimizer: { context: undefined; built: Optimizer };
  schedule: { context: ScheduleContext; built: LrAt };
}
/**
 * The component kinds whose build context and result are typed here: `model`, `loss`, `optimizer` and
 * `schedule`.
 */
export type TypedKind = keyof TypedKinds;
/** Kinds whose context and result are defined by the layers above (engine, data wiring). */
export type OpenKind = Exclude<ComponentKind, TypedKind>;

/** Any component spec: a JSON record tagged by `type`. */
export interface ComponentSpec {
  readonly type: string;
  readonly [key: string]: unknown;
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** A full spec: the tag plus every parameter (defaults filled). */
export type Spec<T extends string, P> = Simplify<{ type: T } & P>;

/**
 * Builders of typed kinds get the kind's context; builders of open kinds declare their own
 * context type on their second parameter (`(spec, ctx: MyContext) => ...`).
 */
export type Builder<K extends ComponentKind, S> = K extends TypedKind
  ? (spec: S, context: TypedKinds[K]['context']) => TypedKinds[K]['built']
  : (spec: S, context: never) => unknown;

/** What a combinator accepts: every parameter, those with a default optional. */
export type ComponentInput<P, D> = Simplify<Omit<P, keyof D> & Partial<Pick<P, Extract<keyof D, keyof P>>>>;

/**
 * What `defineComponent` takes: the kind and `type` tag, the parameter codec with defaults and
 * cross-parameter checks, and the builder that turns a full spec into the component.
 */
export interface ComponentDefinition<K extends ComponentKind, T extends string, R extends t.Props, O extends t.Props, DK extends keyof StrictTypeOf<R, O>> {
  readonly kind: K;
  readonly type: T;
  /** The parameters (without `type`), made with `strict(...)`. */
  readonly codec: StrictType<R, O>;
  /** Values of parameters left out. */
  readonly defaults?: { readonly [P in DK]?: StrictTypeOf<R, O>[P] };
  /** Constraints involving several parameters; paths are parameter names. */
  readonly check?: (params: StrictTypeOf<R, O>) => readonly Problem[];
  readonly build: Builder<K, Spec<T, StrictTypeOf<R, O>>>;
  /** One line for listings (`simdeblur` help). */
  readonly describe?: string;
}

/** The function returned by `defineComponent`: fills defaults, validates, returns the spec. */
export type Combinator<K extends ComponentKind, T extends string, P, D> = ({} extends ComponentInput<P, D>
  ? (partial?: ComponentInput<P, D>) => Spec<T, P>
  : (partial: ComponentInput<P, D>) => Spec<T, P>) & {
  readonly kind: K;
  readonly type: T;
  /** Decodes a spec of this type only (with `type`). */
  readonly codec: t.Type<Spec<T, P>, Spec<T, P>, unknown>;
  readonly defaults: Partial<P>;
};

interface Registered {
  readonly kind: ComponentKind;
  readonly type: string;
  readonly params: StrictType<t.Props, t.Props>;
  readonly codec: t.Type<ComponentSpec, ComponentSpec, unknown>;
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly build: (spec: ComponentSpec, context: unknown) => unknown;
  readonly describe?: string;
}

const registry = new Map<ComponentKind, Map<string, Registered>>(componentKinds.map((k) => [k, new Map()]));

function kindMap(kind: ComponentKind): Map<string, Registered> {
  const m = registry.get(kind);
  if (m === undefined) throw new Error(`unknown component kind ${showValue(kind)}: expected one of ${componentKinds.join(', ')}`);
  return m;
}

const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** The codec of one component type: `{ type: T, ...params }` with defaults and checks. */
function typeCodec(kind: ComponentKind, type: string, inner: t.Type<Record<string, unknown>, unknown, unknown>): t.Type<ComponentSpec, ComponentSpec, unknown> {
  const validate = (u: unknown, c: t.Context): t.Validation<ComponentSpec> => {
    if (!isPlainObject(u)) return t.failure(u, c);
    const ty = ownValue(u, 'type');
    if (ty !== type) return t.failures([keyFailure(c, 'type', ty, `expected ${type}, got ${showValue(ty)}`)]);
    const { type: _, ...rest } = u;
    const r = inner.validate(rest, c);
    return isLeft(r) ? r : t.success({ type, ...r.right });
  };
  return new t.Type<ComponentSpec, ComponentSpec, unknown>(
    `${type} ${kind} spec`,
    (u): u is ComponentSpec => !isLeft(validate(u, [])),
    validate,
    (a) => {
      const { type: ty, ...rest } = a;
      return { type: ty, ...(inner.encode(rest) as Record<string, unknown>) };
    },
  );
}

/**
 * Registers a component and returns its combinator. Throws if the type is already registered
 * for this kind, or if the defaults name unknown parameters or are invalid.
 */
export function defineComponent<K extends ComponentKind, const T extends string, R extends t.Props, O extends t.Props, DK extends keyof StrictTypeOf<R, O> = never>(
  def: ComponentDefinition<K, T, R, O, DK>,
): Combinator<K, T, StrictTypeOf<R, O>, { [P in DK]: unknown }> {
  const { kind, type } = def;
  const map = kindMap(kind);
  if (typeof type !== 'string' || !TYPE_NAME.test(type)) {
    throw new Error(`defineComponent: type must be a name (a letter, then letters, digits, _ . -), got ${showValue(type)}`);
  }
  if (map.has(type)) throw new Error(`defineComponent: ${kind} type ${type} is already registered`);
  if (!(def.codec instanceof StrictType)) throw new Error(`defineComponent(${type}): codec must be made with strict(...)`);
  if (def.codec.keys.includes('type')) throw new Error(`defineComponent(${type}): 'type' is reserved for the tag and cannot be a parameter`);
  // The engine reads these from any optimizer / schedule spec, user-defined ones included.
  const needed = kind === 'optimizer' ? 'lr' : kind === 'schedule' ? 'stepEvery' : undefined;
  if (needed !== undefined && !(needed in def.codec.required)) {
    throw new Error(`defineComponent(${type}): ${kind} components need a required '${needed}' parameter`);
  }
  const defaults = (def.defaults ?? {}) as Record<string, unknown>;
  if (!isPlainObject(defaults)) throw new Error(`defineComponent(${type}): defaults must be a plain object`);
  // Defaults are checked key by key now, so a bad default fails at definition, not at first use.
  const props: t.Props = { ...def.codec.required, ...def.codec.optional };
  const badDefaults = Object.entries(defaults).flatMap(([k, v]) => {
    const codec = props[k];
    if (codec === undefined) return [`${type}.${k}: default given for an unknown parameter`];
    const r = decodeWith(codec, v, `${type}.${k}`);
    return isLeft(r) ? r.left : [];
  });
  if (badDefaults.length > 0) throw new Error(`defineComponent(${type}): invalid defaults:\n  ${badDefaults.join('\n  ')}`);

  const check = def.check as ((p: Record<string, unknown>) => readonly Problem[]) | undefined;
  const params = def.codec as unknown as t.Type<Record<string, unknown>, unknown, unknown>;
  const inner = withDefaults(check === undefined ? params : withChecks(params, check), defaults);
  const codec = typeCodec(kind, type, inner);
  map.set(type, {
    kind,
    type,
    params: def.codec as unknown as StrictType<t.Props, t.Props>,
    codec,
    defaults: structuredClone(defaults),
    build: def.build as unknown as (spec: ComponentSpec, context: unknown) => unknown,
    ...(def.describe !== undefined ? { describe: def.describe } : {}),
  });
  const combinator = (partial?: object): ComponentSpec => decodeOrThrow(codec, { type, ...(partial ?? {}) }, `invalid ${kind} spec ${type}`, type);
  return Object.assign(combinator, { kind, type, codec, defaults: structuredClone(defaults) }) as unknown as Combinator<K, T, StrictTypeOf<R, O>, { [P in DK]: unknown }>;
}

/** Registered types of a kind, in registration order. */
export function registeredTypes(kind: ComponentKind): string[] {
  return [...kindMap(kind).keys()];
}

/**
 * A registered component as listed by `listComponents`: its kind, type, description, required and
 * optional parameter names, and defaults.
 */
export interface ComponentInfo {
  readonly kind: ComponentKind;
  readonly type: string;
  readonly describe?: string;
  readonly required: readonly string[];
  readonly optional: readonly string[];
  readonly defaults: Readonly<Record<string, unknown>>;
}

/** What is registered for a kind: parameters and defaults, for help and listings. */
export function listComponents(kind: ComponentKind): ComponentInfo[] {
  return [...kindMap(kind).values()].map((r) => ({
    kind: r.kind,
    type: r.type,
    ...(r.describe !== undefined ? { describe: r.describe } : {}),
    required: Object.keys(r.params.required),
    optional: Object.keys(r.params.optional),
    defaults: structuredClone(r.defaults),
  }));
}

const kindCodecs = new Map<ComponentKind, t.Type<ComponentSpec, ComponentSpec, unknown>>();

/**
 * A codec for any spec of `kind`: it reads `type`, then decodes with that type's codec (so the
 * errors are those of the selected component only).
 */
export function componentCodec(kind: ComponentKind): t.Type<ComponentSpec, ComponentSpec, unknown> {
  const cached = kindCodecs.get(kind);
  if (cached !== undefined) return cached;
  const map = kindMap(kind);
  const expected = (): string => (map.size > 0 ? `one of ${[...map.keys()].join(', ')}` : `a registered ${kind} type (none are registered)`);
  const validate = (u: unknown, c: t.Context): t.Validation<ComponentSpec> => {
    if (!isPlainObject(u)) return t.failures([{ value: u, context: c, message: `expected ${kind} spec (an object with a type), got ${showValue(u)}` }]);
    const ty = ownValue(u, 'type');
    if (ty === undefined) return t.failures([keyFailure(c, 'type', ty, `missing required key (expected ${expected()})`)]);
    const reg = typeof ty === 'string' ? map.get(ty) : undefined;
    if (reg === undefined) {
      const hint = typeof ty === 'string' ? didYouMean(ty, map.keys()) : '';
      return t.failures([keyFailure(c, 'type', ty, `expected ${expected()}, got ${showValue(ty)}${hint}`)]);
    }
    return reg.codec.validate(u, c);
  };
  const codec = new t.Type<ComponentSpec, ComponentSpec, unknown>(
    `${kind} spec`,
    (u): u is ComponentSpec => !isLeft(validate(u, [])),
    validate,
    (a) => {
      const reg = map.get(a.type);
      if (reg === undefined) throw new Error(`cannot encode ${kind} spec: type ${a.type} is not registered`);
      return reg.codec.encode(a);
    },
  );
  kindCodecs.set(kind, codec);
  return codec;
}

/** Decodes a spec of `kind` (filling defaults), or throws listing every problem. */
export function decodeComponent(kind: ComponentKind, spec: unknown): ComponentSpec {
  return decodeOrThrow(componentCodec(kind), spec, `invalid ${kind} spec`, kind);
}

type ContextArgs<K extends TypedKind> = TypedKinds[K]['context'] extends undefined ? [] : [context: TypedKinds[K]['context']];

/**
 * Builds the live object of a spec with its registered builder. The spec is decoded first
 * (defaults filled, errors thrown with their paths).
 */
export function buildComponent<K extends TypedKind>(kind: K, spec: ComponentSpec, ...context: ContextArgs<K>): TypedKinds[K]['built'];
/** Open kinds: the caller states the result type, e.g. `buildComponent<Dataset>('dataset', spec, ctx)`. */
export function buildComponent<B = unknown>(kind: OpenKind, spec: ComponentSpec, context?: unknown): B;
export function buildComponent(kind: ComponentKind, spec: ComponentSpec, context?: unknown): unknown {
  const decoded = decodeComponent(kind, spec);
  const reg = kindMap(kind).get(decoded.type)!;
  return reg.build(decoded, context);
}
