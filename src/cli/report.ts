// `simdeblur report WORK_DIR [WORK_DIR...] [--out FILE.html]`: one self-contained HTML page with
// the training curves of one or several runs, read from their log.jsonl.
import fs from 'node:fs';
import path from 'node:path';
import { parseCommandLine } from './args.ts';
import { UsageError } from './exit.ts';

const USAGE = 'usage: simdeblur report WORK_DIR [WORK_DIR...] [--out FILE.html]';

/** Runs the `report` command; resolves to its exit status. */
export async function reportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({ args, allowPositionals: true, options: { out: { type: 'string' } } }, USAGE);
  if (positionals.length === 0) throw new UsageError(USAGE);
  const { readRunLogs, logFileOf } = await import('../leaderboard/run-log.ts');
  for (const d of positionals) if (!fs.existsSync(logFileOf(d))) throw new UsageError(`${d}: no log.jsonl (is it a training work directory?)`);
  const out = values.out ?? (positionals.length === 1 ? path.join(path.dirname(logFileOf(positionals[0]!)), 'report.html') : 'report.html');
  const runs = readRunLogs(positionals);
  const [{ reportHtml }, { writeFileAtomic }] = await Promise.all([import('../leaderboard/report.ts'), import('../io/atomic.ts')]);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  await writeFileAtomic(out, await reportHtml(runs));
  process.stderr.write(`wrote ${out} (${runs.length} run${runs.length === 1 ? '' : 's'}: ${runs.map((r) => `${r.name}, ${r.steps.length} steps, ${r.validations.length} validations`).join('; ')})\n`);
  console.log(JSON.stringify({ out: path.resolve(out), runs: runs.map((r) => ({ name: r.name, dir: r.dir, steps: r.steps.length, validations: r.validations.length, best: r.best })) }));
  return 0;
}
