// Codecs for experiment values: named primitives (the names appear in error messages), strict
// records that reject unknown keys, defaults, and cross-field checks.
//
// Every codec here decodes JSON to JSON (the decoded type equals the encoded type), so a
// decoded experiment can be written to disk and decoded again unchanged.
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import { didYouMean } from './suggest.ts';

/** A plain `{...}` object: not null, not an array, not a class instance. */
export function isPlainObject(u: unknown): u is Record<string, unknown> {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return false;
  const proto: unknown = Object.getPrototypeOf(u);
  return proto === Object.prototype || proto === null;
}

/** Own property only: `constructor`, `toString` … of the prototype are not keys of a spec. */
export function ownValue(o: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

const clone = <A>(a: A): A => (a === undefined ? a : structuredClone(a));

// ---------------------------------------------------------------------------------------------
// Primitives

function numberCodec(name: string, ok: (n: number) => boolean): t.Type<number, number, unknown> {
  // NaN and ±Infinity are rejected everywhere: JSON cannot carry them.
  const is = (u: unknown): u is number => typeof u === 'number' && Number.isFinite(u) && ok(u);
  return new t.Type<number, number, unknown>(name, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);
}

/** Any finite number. */
export const FiniteNumber = numberCodec('number', () => true);
/** An integer greater than zero. */
export const PositiveInt = numberCodec('positive integer', (n) => Number.isInteger(n) && n > 0);
/** An integer greater than or equal to zero. */
export const NonNegInt = numberCodec('non-negative integer', (n) => Number.isInteger(n) && n >= 0);
/** A finite number greater than zero. */
export const PositiveNumber = numberCodec('positive number', (n) => n > 0);
/** A finite number greater than or equal to zero. */
export const NonNegNumber = numberCodec('non-negative number', (n) => n >= 0);
/** The closed interval [0, 1]. */
export const Probability = numberCodec('number in [0, 1]', (n) => n >= 0 && n <= 1);
/** The half-open interval [0, 1), for rates that must stay below one (Adam betas, EMA-like factors). */
export const UnitInterval = numberCodec('number in [0, 1)', (n) => n >= 0 && n < 1);

/** A string of at least one character. */
export const NonEmptyString = new t.Type<string, string, unknown>(
  'non-empty string',
  (u): u is string => typeof u === 'string' && u.length > 0,
  (u, c) => (typeof u === 'string' && u.length > 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** A boolean (`t.boolean`). */
export const Bool = t.boolean;
/** Any string, empty included (`t.string`). */
export const Str = t.string;

/** One of a fixed set of strings, named `one of a, b, c`. */
export class OneOfType<V extends string> extends t.Type<V, V, unknown> {
  readonly _tag = 'OneOfType' as const;
  constructor(readonly values: readonly V[]) {
    const is = (u: unknown): u is V => typeof u === 'string' && (values as readonly string[]).includes(u);
    super(`one of ${values.join(', ')}`, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);
  }
}

/**
 * A codec accepting exactly one of the given string `values`; its name (`one of a, b, c`) appears in
 * error messages.
 */
export function oneOf<const V extends readonly [string, ...string[]]>(...values: V): OneOfType<V[number]> {
  return new OneOfType<V[number]>(values);
}

/** `t.array` with a readable name (`array of positive integer`). */
export function arrayOf<C extends t.Mixed>(codec: C, name = `array of ${typeName(codec)}`): t.ArrayC<C> {
  return t.array(codec, name);
}

/** A two-element array, both elements decoded by `codec`; any other length is one error. */
export function pairOf<A, O>(codec: t.Type<A, O, unknown>, name = `pair of ${typeName(codec)}`): t.Type<[A, A], [O, O], unknown> {
  return new t.Type<[A, A], [O, O], unknown>(
    name,
    (u): u is [A, A] => Array.isArray(u) && u.length === 2 && u.every((x) => codec.is(x)),
    (u, c) => {
      if (!Array.isArray(u) || u.length !== 2) return t.failure(u, c);
      const errors: t.ValidationError[] = [];
      const out: A[] = [];
      u.forEach((x, i) => {
        const r = codec.validate(x, t.appendContext(c, String(i), codec, x));
        if (isLeft(r)) errors.push(...r.left);
        else out.push(r.right);
      });
      return errors.length > 0 ? t.failures(errors) : t.success(out as [A, A]);
    },
    ([a, b]) => [codec.encode(a), codec.encode(b)],
  );
}

/** The name used after "expected" in messages. */
export function typeName(codec: t.Decoder<unknown, unknown>): string {
  const c = codec as { _tag?: string; value?: unknown; keys?: object; types?: ReadonlyArray<{ _tag?: string; value?: unknown }> };
  const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
  if (c._tag === 'LiteralType') return show(c.value);
  if (c._tag === 'KeyofType' && c.keys !== undefined) return `one of ${Object.keys(c.keys).join(', ')}`;
  if (c._tag === 'UnionType' && c.types !== undefined && c.types.every((b) => b._tag === 'LiteralType')) {
    return `one of ${c.types.map((b) => show(b.value)).join(', ')}`;
  }
  return codec.name;
}

// ---------------------------------------------------------------------------------------------
// Defaults

/**
 * Marks codecs that accept a missing value (they supply one). `strict` passes `undefined` to
 * such a codec instead of reporting a missing required key.
 */
export interface AcceptsMissing {
  readonly acceptsMissing: true;
}

function acceptsMissing(codec: t.Mixed): boolean {
  return (codec as Partial<AcceptsMissing>).acceptsMissing === true;
}

/**
 * What a user may write for a codec's value: its decoded type, except where defaults make keys
 * optional. Carried as a phantom property by the codecs here (`strict`, `withDefaults`, …), so
 * the input types of experiments and components are derived from their codecs.
 */
export interface HasInput<I> {
  readonly _input?: I;
}
/**
 * The type a user may write for codec `C`: its input type where it carries one (keys with defaults
 * optional), else its decoded type.
 */
export type InputOf<C> = C extends HasInput<infer I> ? (unknown extends I ? TypeOfAny<C> : I) : TypeOfAny<C>;
type TypeOfAny<C> = C extends t.Type<infer A, unknown, unknown> ? A : never;

export class DefaultsType<A, O, I = A, Opt extends boolean = true> extends t.Type<A, O, unknown> implements AcceptsMissing, HasInput<I> {
  readonly _tag = 'DefaultsType' as const;
  readonly acceptsMissing = true as const;
  declare readonly _input?: I;
  /** Type level only: whether a user may leave the value out (its defaults make it complete). */
  declare readonly _optional: Opt;
  constructor(
    readonly codec: t.Type<A, O, unknown>,
    /** For records: merged under the given keys. Otherwise: the whole value when missing. */
    readonly defaults: unknown,
    readonly mode: 'merge' | 'replace',
  ) {
    super(
      codec.name,
      codec.is,
      (u, c) => {
        if (u === undefined) return codec.validate(clone(defaults), c);
        if (mode === 'merge' && isPlainObject(u)) {
          const merged: Record<string, unknown> = clone(defaults) as Record<string, unknown>;
          // An explicit `undefined` counts as absent, as it does in JSON.
          for (const [k, v] of Object.entries(u)) if (v !== undefined) merged[k] = v;
          return codec.validate(merged, c);
        }
        return codec.validate(u, c);
      },
      codec.encode,
    );
  }
}

/**
 * Decoding a partial record fills the missing keys from `defaults` (one level; nest
 * `withDefaults` for nested defaults). A missing value decodes as `defaults` alone.
 */
export function withDefaults<C extends t.Mixed, D extends Partial<t.TypeOf<C>>>(
  codec: C,
  defaults: D,
): DefaultsType<t.TypeOf<C>, t.OutputOf<C>, WithOptional<InputOf<C>, keyof D>, {} extends WithOptional<InputOf<C>, keyof D> ? true : false> {
  if (!isPlainObject(defaults)) throw new Error(`withDefaults(${codec.name}): defaults must be a plain object`);
  return new DefaultsType(codec, defaults, 'merge');
}

/** A missing value decodes as `value`; a present one must satisfy `codec` on its own. */
export function withDefault<C extends t.Mixed>(codec: C, value: t.TypeOf<C>): DefaultsType<t.TypeOf<C>, t.OutputOf<C>, InputOf<C>> {
  return new DefaultsType(codec, value, 'replace');
}

type WithOptional<T, K extends PropertyKey> = T extends object ? Simplify<Omit<T, K> & { [P in Extract<keyof T, K>]?: T[P] }> : T;

// ---------------------------------------------------------------------------------------------
// Strict records

type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** The decoded type of a strict record: the keys of `R` required, those of `O` optional. */
export type StrictTypeOf<R extends t.Props, O extends t.Props> = Simplify<
  { [K in keyof R]: t.TypeOf<R[K]> } & { [K in keyof O]?: t.TypeOf<O[K]> }
>;
/** The encoded type of a strict record: the keys of `R` required, those of `O` optional. */
export type StrictOutputOf<R extends t.Props, O extends t.Props> = Simplify<
  { [K in keyof R]: t.OutputOf<R[K]> } & { [K in keyof O]?: t.OutputOf<O[K]> }
>;
/** Required keys that a user may leave out: their codec's defaults make a complete value. */
type DefaultedKeys<R extends t.Props> = { [K in keyof R]: R[K] extends { readonly _optional: true } ? K : never }[keyof R];
/**
 * What a user may write for a strict record: the keys of `R` required unless their codec supplies a
 * default, those of `O` optional.
 */
export type StrictInputOf<R extends t.Props, O extends t.Props> = Simplify<
  { [K in Exclude<keyof R, DefaultedKeys<R>>]: InputOf<R[K]> } & { [K in DefaultedKeys<R>]?: InputOf<R[K]> } & { [K in keyof O]?: InputOf<O[K]> }
>;

/** A failure with its own message, at `key` below the context `c`. */
export function keyFailure(c: t.Context, key: string, value: unknown, message: string): t.ValidationError {
  return { value, context: t.appendContext(c, key, t.unknown, value), message };
}

/**
 * An exact record: required and optional keys, each with its codec. Unknown keys FAIL (with the
 * closest known key suggested); missing required keys fail, unless their codec supplies a default.
 * Optional keys that are absent (or `undefined`) stay absent in the result.
 */
export class StrictType<R extends t.Props, O extends t.Props> extends t.Type<StrictTypeOf<R, O>, StrictOutputOf<R, O>, unknown> implements HasInput<StrictInputOf<R, O>> {
  readonly _tag = 'StrictType' as const;
  declare readonly _input?: StrictInputOf<R, O>;
  constructor(
    name: string,
    readonly required: R,
    readonly optional: O,
  ) {
    const known = [...Object.keys(required), ...Object.keys(optional)];
    const knownSet = new Set(known);
    const entries = (): Array<[string, t.Mixed, boolean]> => [
      ...Object.entries(required).map(([k, v]): [string, t.Mixed, boolean] => [k, v, true]),
      ...Object.entries(optional).map(([k, v]): [string, t.Mixed, boolean] => [k, v, false]),
    ];
    const is = (u: unknown): u is StrictTypeOf<R, O> =>
      isPlainObject(u) &&
      Object.keys(u).every((k) => knownSet.has(k) || u[k] === undefined) &&
      entries().every(([k, codec, req]) => {
        const v = ownValue(u, k);
        return v === undefined ? !req : codec.is(v);
      });
    super(
      name,
      is,
      (u, c) => {
        if (!isPlainObject(u)) return t.failure(u, c);
        const errors: t.ValidationError[] = [];
        const out: Record<string, unknown> = {};
        for (const [k, codec, req] of entries()) {
          const v = ownValue(u, k);
          if (v === undefined && !(req && acceptsMissing(codec))) {
            if (req) errors.push(keyFailure(c, k, undefined, `missing required key (expected ${typeName(codec)})`));
            continue;
          }
          const r = codec.validate(v, t.appendContext(c, k, codec, v));
          if (isLeft(r)) errors.push(...r.left);
          else if (r.right !== undefined) out[k] = r.right;
        }
        for (const k of Object.keys(u)) {
          if (!knownSet.has(k) && u[k] !== undefined) errors.push(keyFailure(c, k, u[k], `unknown key${didYouMean(k, known)}`));
        }
        return errors.length > 0 ? t.failures(errors) : t.success(out as StrictTypeOf<R, O>);
      },
      (a) => {
        const out: Record<string, unknown> = {};
        const rec = a as Record<string, unknown>;
        for (const [k, codec] of entries()) {
          const v = rec[k];
          if (v !== undefined) out[k] = codec.encode(v);
        }
        return out as StrictOutputOf<R, O>;
      },
    );
  }

  /** All keys, required first. */
  get keys(): string[] {
    return [...Object.keys(this.required), ...Object.keys(this.optional)];
  }
}

/**
 * An exact record codec ({@link StrictType}) with `required` and `optional` keys; unknown keys fail,
 * and `name` appears in error messages.
 */
export function strict<R extends t.Props, O extends t.Props = {}>(required: R, optional?: O, name = 'object'): StrictType<R, O> {
  return new StrictType(name, required, optional ?? ({} as O));
}

// ---------------------------------------------------------------------------------------------
// Cross-field checks

/** A problem found by a check: `path` is dotted, relative to the checked value ('' = itself). */
export interface Problem {
  readonly path?: string;
  readonly message: string;
}

/**
 * Runs `check` on successfully decoded values; each problem becomes a failure at its path.
 * For constraints that involve several keys (exactly one of two keys, equal lengths, ...).
 */
export function withChecks<C extends t.Mixed>(codec: C, check: (a: t.TypeOf<C>) => readonly Problem[]): Checked<C> {
  type A = t.TypeOf<C>;
  type O = t.OutputOf<C>;
  const out = new t.Type<A, O, unknown>(
    codec.name,
    (u): u is A => codec.is(u) && check(u).length === 0,
    (u, c) => {
      const r = codec.validate(u, c);
      if (isLeft(r)) return r;
      const problems = check(r.right);
      if (problems.length === 0) return r;
      return t.failures(
        problems.map((p) => {
          const keys = p.path === undefined || p.path === '' ? [] : p.path.split('.');
          const context = keys.reduce<t.Context>((ctx, k) => t.appendContext(ctx, k, t.unknown, undefined), c);
          return { value: r.right, context, message: p.message };
        }),
      );
    },
    codec.encode,
  );
  // A checked codec that accepts a missing value still does.
  if (acceptsMissing(codec)) Object.assign(out, { acceptsMissing: true });
  return out as Checked<C>;
}

/** A checked codec keeps the input type, and the acceptance of a missing value, of the codec it checks. */
export type Checked<C extends t.Mixed> = t.Type<t.TypeOf<C>, t.OutputOf<C>, unknown> &
  HasInput<InputOf<C>> &
  (C extends AcceptsMissing ? AcceptsMissing : unknown) &
  (C extends { readonly _optional: infer X } ? { readonly _optional: X } : unknown);
