// `simdeblur leaderboard [--protocol smoke|quick|standard|FILE.ts] [--models a,b,…|all]
// [--data DIR] [--out DIR] [--resume]`: trains and evaluates the models under one protocol and
// writes leaderboard.json / .md / .html (docs/leaderboard-guide.md).
import fs from 'node:fs';
import path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { parseCommandLine } from './args.ts';
import { EXIT_FAILED, EXIT_INTERRUPTED, UsageError } from './exit.ts';
import { decodeProtocol, type Protocol } from '../leaderboard/protocol.ts';
import { detectLayout } from '../leaderboard/data.ts';

const USAGE = 'usage: simdeblur leaderboard [--protocol smoke|quick|standard|FILE.ts] [--models a,b,...|all] [--data DIR] [--out DIR] [--resume]';

/** The protocol reading the benchmark at `dir` instead of its own data (centre-frame scoring needs synthesised data: every frame is scored). */
function onBenchmark(p: Protocol, dir: string): Protocol {
  if (!fs.existsSync(dir)) throw new UsageError(`--data: ${dir} does not exist`);
  let layout;
  try {
    layout = detectLayout(dir);
  } catch (err) {
    throw new UsageError(`--data: ${err instanceof Error ? err.message : String(err)}`);
  }
  const decoded = decodeProtocol({ ...p, data: { benchmark: { layout, root: path.resolve(dir) } }, eval: { ...p.eval, score: typeof p.eval.score === 'object' ? 'all' : p.eval.score } });
  if (isLeft(decoded)) throw new UsageError(`--data: ${decoded.left.join('; ')}`);
  return decoded.right;
}

/** Runs the `leaderboard` command; resolves to its exit status. */
export async function leaderboardCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    {
      args,
      allowPositionals: true,
      options: {
        protocol: { type: 'string', default: 'quick' },
        models: { type: 'string' },
        data: { type: 'string' },
        out: { type: 'string' },
        resume: { type: 'boolean', default: false },
      },
    },
    USAGE,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'\n${USAGE}`);
  const { loadProtocol } = await import('../leaderboard/protocols/index.ts');
  const { selectModels } = await import('../leaderboard/entry.ts');
  let loaded;
  let models: string[];
  try {
    loaded = await loadProtocol(values.protocol);
    models = selectModels(loaded.protocol, values.models);
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
  const protocol = values.data === undefined ? loaded.protocol : onBenchmark(loaded.protocol, values.data);
  const out = values.out ?? path.join('work_dirs', 'leaderboard', protocol.name);
  if (values.resume && !fs.existsSync(path.join(out, 'rows'))) throw new UsageError(`--resume: ${out} holds no leaderboard rows to resume from`);
  const { runLeaderboard } = await import('../leaderboard/runner.ts');
  const stop = new AbortController();
  const onInt = () => {
    process.stderr.write('\nstopping: the model in progress is abandoned, the rows done are kept\n');
    stop.abort();
  };
  process.once('SIGINT', onInt);
  try {
    process.stderr.write(`leaderboard ${protocol.name}: ${models.length} models (${models.join(', ')}) into ${out}\n`);
    const r = await runLeaderboard({ protocol, ...(loaded.file ? { protocolFile: loaded.file } : {}), models, out, signal: stop.signal });
    process.stderr.write(`${r.rows.length} rows; wrote ${r.files.markdown}, ${r.files.html}, ${r.files.json}, ${r.files.png}\n`);
    for (const f of r.failed) process.stderr.write(`failed: ${f.model}: ${f.error}\n`);
    console.log(JSON.stringify({ protocol: protocol.name, out: path.resolve(out), rows: r.rows.length, ran: r.ran, skipped: r.skipped, failed: r.failed, stopped: r.stopped, files: r.files }));
    return r.stopped ? EXIT_INTERRUPTED : r.failed.length > 0 ? EXIT_FAILED : 0;
  } finally {
    process.off('SIGINT', onInt);
  }
}
