// Command-line option parsing shared by the commands: parseArgs with its errors as usage
// errors, and integer options checked against their range, naming the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit.ts';

/** `parseArgs(config)`, its errors (unknown option, missing value) as usage errors followed by `usage`. */
export function parseCommandLine<C extends ParseArgsConfig>(config: C, usage: string): ReturnType<typeof parseArgs<C>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
  }
}

/** The integer value of option `--name` in [min, max]; undefined when not given. */
export function intOption(name: string, v: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name}: expected an integer${max < Number.MAX_SAFE_INTEGER ? ` in ${min}..${max}` : ` >= ${min}`}, got "${v}"`);
  }
  return n;
}
