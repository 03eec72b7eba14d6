// io-ts validation errors as one readable line per problem:
//   model.innerChannels: expected positive integer, got "64"
//   optimizer.lrr: unknown key (did you mean lr?)
import * as t from 'io-ts';
import { isLeft, left, right, type Either } from 'fp-ts/lib/Either.js';
import { typeName } from './codecs.ts';

const MAX_SHOWN = 60;

/** A value as it appears after "got": JSON where possible, shortened. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'bigint') return `${v}n`;
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN - 1)}…` : s;
}

const tagOf = (c: t.Decoder<unknown, unknown>): string | undefined => (c as { _tag?: string })._tag;
const isUnion = (c: t.Decoder<unknown, unknown>): boolean => tagOf(c) === 'UnionType';
// Entries below these carry a branch index as key, which is not part of the data path.
const isBranching = (c: t.Decoder<unknown, unknown>): boolean => isUnion(c) || tagOf(c) === 'IntersectionType';

/** The dotted data path of a context (array indices included, union branch indices not). */
function pathOf(context: t.Context, end = context.length): string {
  const keys: string[] = [];
  for (let i = 1; i < end; i++) {
    const parent = context[i - 1]!;
    const key = context[i]!.key;
    if (key === '' || isBranching(parent.type)) continue;
    keys.push(key);
  }
  return keys.join('.');
}

function line(path: string, message: string, root: string): string {
  const full = root === '' ? path : path === '' ? root : `${root}.${path}`;
  return full === '' ? message : `${full}: ${message}`;
}

function lineOf(e: t.ValidationError, root: string): string {
  const last = e.context[e.context.length - 1];
  const message = e.message ?? `expected ${last === undefined ? 'a valid value' : typeName(last.type)}, got ${showValue(e.value)}`;
  return line(pathOf(e.context), message, root);
}

type Item = { kind: 'error'; error: t.ValidationError } | { kind: 'union'; at: number; errors: t.ValidationError[] };

/**
 * Lines for `errors`, looking for unions from context index `from` on. The errors of a failed
 * union are reduced to those of the branch whose shape matched best (it failed only below its
 * own level, with the fewest problems), or to a single "expected <union>" line when no branch
 * matched or the best ones tie.
 */
function lines(errors: readonly t.ValidationError[], from: number, root: string): string[] {
  const items: Item[] = [];
  const groups = new Map<string, Item & { kind: 'union' }>();
  for (const e of errors) {
    const at = e.context.findIndex((entry, i) => i >= from && isUnion(entry.type));
    if (at < 0) {
      items.push({ kind: 'error', error: e });
      continue;
    }
    // The same union at the same place: same path and same codec object.
    const id = `${at}\u0000${pathOf(e.context, at + 1)}`;
    const g = groups.get(id);
    if (g !== undefined && g.errors[0]!.context[at]!.type === e.context[at]!.type) {
      g.errors.push(e);
    } else {
      const item = { kind: 'union' as const, at, errors: [e] };
      groups.set(id, item);
      items.push(item);
    }
  }
  return items.flatMap((item) => {
    if (item.kind === 'error') return [lineOf(item.error, root)];
    const { at, errors: es } = item;
    const entry = es[0]!.context[at]!;
    const oneLine = [line(pathOf(es[0]!.context, at + 1), `expected ${typeName(entry.type)}, got ${showValue(entry.actual)}`, root)];
    const byBranch = new Map<string, t.ValidationError[]>();
    for (const e of es) {
      const branch = e.context[at + 1]?.key ?? '';
      byBranch.set(branch, [...(byBranch.get(branch) ?? []), e]);
    }
    // Branches that accepted the value's outer shape and failed inside it; of those, the one
    // with the fewest problems, if there is a single one.
    const matched = [...byBranch.values()].filter((b) => b.every((e) => e.context.length > at + 2));
    const fewest = Math.min(...matched.map((b) => b.length));
    const best = matched.filter((b) => b.length === fewest);
    return best.length === 1 ? lines(best[0]!, at + 2, root) : oneLine;
  });
}

/**
 * One line per problem, with the full dotted path and what was expected, without duplicates.
 * `root` prefixes every path (e.g. the name of a component being checked on its own).
 */
export function formatErrors(errors: t.Errors, root = ''): string[] {
  return [...new Set(lines(errors, 0, root))];
}

/** Decodes and formats: the decoded value, or the error lines. */
export function decodeWith<A>(codec: t.Decoder<unknown, A>, value: unknown, root = ''): Either<string[], A> {
  const r = codec.decode(value);
  return isLeft(r) ? left(formatErrors(r.left, root)) : right(r.right);
}

/** Decodes or throws one Error listing every problem under `title`. */
export function decodeOrThrow<A>(codec: t.Decoder<unknown, A>, value: unknown, title: string, root = ''): A {
  const r = decodeWith(codec, value, root);
  if (isLeft(r)) throw new Error(`${title}:\n  ${r.left.join('\n  ')}`);
  return r.right;
}
