// The command line run in the test's own process, its output captured.
import { main } from '../../src/cli/main.ts';

/**
 * Runs the command line in this process: exit status, what it printed (console.log) and its
 * stderr. (The test runner reports on stdout, which is left alone.)
 */
export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const [log, write] = [console.log, process.stderr.write.bind(process.stderr)];
  console.log = (...xs: unknown[]) => void (out += `${xs.map(String).join(' ')}\n`);
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), out, err };
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
}
