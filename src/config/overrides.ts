// Command-line overrides: `--set a.b.c=VALUE` applied to an experiment value. VALUE is read as
// JSON when it parses (numbers, booleans, null, arrays, objects, "quoted strings"), otherwise
// as the raw string. The result must then pass the experiment codec again, which is where a
// misspelt key is caught (with a suggestion) and a bad value reported with its path.
import { chain, isLeft, left, right, type Either } from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { isPlainObject } from './codecs.ts';
import { decodeExperiment, defaultWorkDir, type Experiment } from './experiment.ts';

export { decodeExperiment } from './experiment.ts';

/** A parsed `--set` override: the key path to set and the value to set there. */
export interface Override {
  readonly path: readonly string[];
  readonly value: unknown;
}

/** Parses `a.b.c=VALUE`. */
export function parseOverride(set: string): Either<string, Override> {
  const eq = set.indexOf('=');
  if (eq < 0) return left(`--set ${set}: expected PATH=VALUE`);
  const rawPath = set.slice(0, eq).trim();
  const rawValue = set.slice(eq + 1);
  if (rawPath === '') return left(`--set ${set}: the path before '=' is empty`);
  const path = rawPath.split('.');
  if (path.some((k) => k === '')) return left(`--set ${set}: empty key in path ${rawPath}`);
  // Assigning these would change prototypes rather than add a key.
  const bad = path.find((k) => k === '__proto__' || k === 'constructor' || k === 'prototype');
  if (bad !== undefined) return left(`--set ${set}: ${bad} is not allowed as a key`);
  return right({ path, value: parseValue(rawValue) });
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

const INDEX = /^(0|[1-9][0-9]*)$/;

/** `value` with `path` set to `v`, copying only the containers along the path. */
function setPath(value: unknown, path: readonly string[], v: unknown, done: readonly string[]): Either<string, unknown> {
  const [key, ...rest] = path;
  if (key === undefined) return right(v);
  const here = [...done, key].join('.');
  if (Array.isArray(value)) {
    if (!INDEX.test(key)) return left(`${here}: expected an array index, got ${JSON.stringify(key)}`);
    const i = Number(key);
    // One past the end appends.
    if (i > value.length) return left(`${here}: index out of range (the array has ${value.length} element${value.length === 1 ? '' : 's'})`);
    const inner = setPath(value[i], rest, v, [...done, key]);
    if (isLeft(inner)) return inner;
    const copy = value.slice();
    copy[i] = inner.right;
    return right(copy);
  }
  if (value === undefined || isPlainObject(value)) {
    // A missing intermediate becomes an object, so a new optional section can be set key by key.
    const obj: Record<string, unknown> = value === undefined ? {} : value;
    const inner = setPath(Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined, rest, v, [...done, key]);
    if (isLeft(inner)) return inner;
    return right({ ...obj, [key]: inner.right });
  }
  const what = value === null ? 'null' : typeof value;
  return left(`${here}: cannot set a key inside ${done.length === 0 ? 'the value' : done.join('.')} (a ${what})`);
}

/**
 * Applies `--set` overrides in order. Errors are about the overrides themselves (syntax, paths
 * through arrays or scalars); whether the result is a valid experiment is for the codec.
 */
export function applyOverrides(value: unknown, sets: readonly string[]): Either<string[], unknown> {
  const errors: string[] = [];
  let current = value;
  for (const set of sets) {
    const o = parseOverride(set);
    if (isLeft(o)) {
      errors.push(o.left);
      continue;
    }
    const r = setPath(current, o.right.path, o.right.value, []);
    if (isLeft(r)) errors.push(`--set ${set}: ${r.left}`);
    else current = r.right;
  }
  return errors.length > 0 ? left(errors) : right(current);
}

/**
 * Overrides, then the whole experiment decoded again. A `workDir` equal to its default
 * (`work_dirs/<name>`) is treated as not given, so that `--set name=other` moves it along.
 */
export function overrideExperiment(value: unknown, sets: readonly string[]): Either<string[], Experiment> {
  let base = value;
  if (isPlainObject(value) && typeof value['name'] === 'string' && value['workDir'] === defaultWorkDir(value['name'])) {
    const { workDir: _, ...rest } = value;
    base = rest;
  }
  return pipe(applyOverrides(base, sets), chain(decodeExperiment));
}
