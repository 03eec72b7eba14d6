#!/usr/bin/env -S npx tsx
// The `simdeblur` command line. Each subcommand lives in its own module.
import { parseArgs } from 'node:util';
import { doctorReport, formatDoctor } from './doctor.ts';
import { runBench } from './bench.ts';
import { runParity } from '../models/parity.ts';
import { trainCommand } from './train.ts';
import { testCommand } from './test.ts';
import { synthCommand } from './synth.ts';

const USAGE = `usage: simdeblur <command> [options]

commands:
  train RECIPE.ts [--set key=value]... [--work-dir DIR] [--resume | --resume-from DIR] [--quiet] [--no-tensorboard]
                                        train an experiment (Ctrl-C stops cleanly with a checkpoint)
  test RECIPE.ts --checkpoint DIR [--set key=value]... [--no-ema] [--json]
                                        PSNR/SSIM of a checkpoint on the recipe's validation data
  synth --layout gopro|dvd|reds|bsd --out DIR --videos N --frames M --size WxH --seed S [--images DIR] ...
                                        write a motion-blur dataset made from photographs (docs/synth.md)
  doctor [--json]                       show the TensorFlow runtime in use and check it works
  parity DIR [DIR...]                   check a model against a reference fixture (weights + io)
  bench [--backends a,b] [--only conv,models,ops,loader,data-wait] [--models dbn,edvr,...] [--runs N]
                                        print benchmark rows as JSON lines
`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  train: trainCommand,
  test: testCommand,
  synth: synthCommand,
  async doctor(args) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
    const report = doctorReport();
    console.log(values.json ? JSON.stringify(report) : formatDoctor(report));
    return report.selfTest.ok ? 0 : 1;
  },
  async parity(args) {
    const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
    if (positionals.length === 0) throw new Error('usage: simdeblur parity DIR [DIR...]');
    let ok = true;
    for (const dir of positionals) {
      const r = runParity(dir);
      console.log(JSON.stringify(r));
      ok &&= r.ok;
    }
    return ok ? 0 : 1;
  },
  async bench(args) {
    const { values } = parseArgs({
      args,
      options: { backends: { type: 'string' }, only: { type: 'string' }, models: { type: 'string' }, runs: { type: 'string' } },
    });
    const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));
    const runs = values.runs === undefined ? undefined : Number(values.runs);
    if (runs !== undefined && !(Number.isInteger(runs) && runs > 0)) throw new Error(`--runs: expected a positive integer, got "${values.runs}"`);
    await runBench({ backends: list(values.backends), only: list(values.only), models: list(values.models), runs }, (row) => console.log(JSON.stringify(row)));
    return 0;
  },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 1 : 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`simdeblur: unknown command '${name}'\n${USAGE}`);
    return 2;
  }
  try {
    return await cmd(rest);
  } catch (err) {
    process.stderr.write(`simdeblur ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '');
if (invokedDirectly) process.exitCode = await main(process.argv.slice(2));
