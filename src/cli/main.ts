#!/usr/bin/env -S npx tsx
// The `simdeblur` command line. Each subcommand lives in its own module, imported when the
// command runs: most load TensorFlow, which `setup` must not (it replaces the native library).
import { parseArgs } from 'node:util';
import { EXIT_USAGE, UsageError, exitStatusOf } from './exit.ts';
import { parseCommandLine } from './args.ts';

const USAGE = `usage: simdeblur <command> [options] [--verbose]

commands:
  train RECIPE.ts [--set key=value]... [--work-dir DIR] [--resume | --resume-from DIR] [--quiet] [--no-tensorboard] [--allow-nonfinite]
        [--nproc N | --cluster HOST:PORT,... --rank R]   (data-parallel on several processes: docs/distributed.md)
                                        train an experiment (Ctrl-C stops cleanly with a checkpoint)
  test RECIPE.ts --checkpoint DIR [--set key=value]... [--no-ema] [--save-images DIR [--side-by-side]] [--json] [--allow-nonfinite]
                                        PSNR/SSIM of a checkpoint on the recipe's validation data
  deblur INPUT... --out DIR [--checkpoint DIR | RECIPE.ts --checkpoint DIR | --model NAME --weights FILE] [--tile N] [--tlc] [--gt DIR] ...
                                        restore your own images, frame folders and videos (docs/inference.md;
                                        no weights option: the shipped demonstration models)
  web --out DIR | --serve [--port P] [--checkpoint DIR | --model NAME --weights FILE] [--tile N]
                                        a static web page that deblurs photos in the browser (docs/web.md)
  synth --layout gopro|dvd|reds|bsd --out DIR --videos N --frames M --size WxH --seed S [--images DIR] ...
                                        write a motion-blur dataset made from photographs (docs/synth.md)
  doctor [--json]                       show the TensorFlow runtime in use and check it works
  setup [--gpu] [--from-wheel] [--wheel FILE] [--force] [--no-collective]
                                        install the native TensorFlow runtime (docs/runtime.md)
  parity DIR [DIR...] [--weights FILE [--key K]]
                                        check a model against a reference fixture (weights + io);
                                        --weights: a .pth or .safetensors state dict instead of DIR's
  convert IN.pth --out OUT.safetensors [--key params_ema] [--ema]
                                        a PyTorch checkpoint's state dict as safetensors (docs/weights.md)
  bench [--backends a,b] [--only conv,models,ops,loader,data-wait,optim,deblur,profile,frame] [--models dbn,edvr,...] [--runs N] [--graph]
                                        print benchmark rows as JSON lines (profile: time per op type;
                                        frame: demo models on 720p frames; both only when named;
                                        --graph: models run as graph functions; docs/performance.md)
  leaderboard [--protocol smoke|quick|standard|FILE.ts] [--models a,b,...|all] [--data DIR] [--out DIR] [--resume]
                                        train and evaluate models under one protocol: leaderboard.md, .html, .json
                                        (docs/leaderboard-guide.md)
  flops --model NAME [--set key=value]... --size WxH [--frames N] [--json]
                                        parameters and multiply-accumulates per frame, counted by running the model
  report WORK_DIR [WORK_DIR...] [--out FILE.html]
                                        one HTML page of training curves (loss, lr, validation PSNR/SSIM) from log.jsonl

  --verbose (any command)               also show TensorFlow's start-up and INFO log lines
`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  train: async (args) => (await import('./train.ts')).trainCommand(args),
  test: async (args) => (await import('./test.ts')).testCommand(args),
  deblur: async (args) => (await import('./deblur.ts')).deblurCommand(args),
  synth: async (args) => (await import('./synth.ts')).synthCommand(args),
  convert: async (args) => (await import('./convert.ts')).convertCommand(args),
  leaderboard: async (args) => (await import('./leaderboard.ts')).leaderboardCommand(args),
  flops: async (args) => (await import('./flops.ts')).flopsCommand(args),
  report: async (args) => (await import('./report.ts')).reportCommand(args),
  web: async (args) => (await import('./web.ts')).webCommand(args),
  setup: async (args) => (await import('../setup/command.ts')).setupCommand(args),
  async doctor(args) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
    const { doctorReport, formatDoctor } = await import('./doctor.ts');
    const report = doctorReport();
    console.log(values.json ? JSON.stringify(report) : formatDoctor(report));
    return report.selfTest.ok ? 0 : 1;
  },
  async parity(args) {
    const usage = 'usage: simdeblur parity DIR [DIR...] [--weights FILE [--key K]]';
    const { positionals, values } = parseCommandLine({ args, allowPositionals: true, options: { weights: { type: 'string' }, key: { type: 'string' } } }, usage);
    if (positionals.length === 0) throw new UsageError(usage);
    if (values.key !== undefined && values.weights === undefined) throw new UsageError(`--key needs --weights\n${usage}`);
    const { runParity } = await import('../models/parity.ts');
    const weights = values.weights === undefined ? undefined : { file: values.weights, ...(values.key === undefined ? {} : { key: values.key }) };
    let ok = true;
    for (const dir of positionals) {
      const r = runParity(dir, weights);
      console.log(JSON.stringify(r));
      ok &&= r.ok;
    }
    return ok ? 0 : 1;
  },
  async bench(args) {
    const { values } = parseArgs({
      args,
      options: { backends: { type: 'string' }, only: { type: 'string' }, models: { type: 'string' }, runs: { type: 'string' }, graph: { type: 'boolean', default: false } },
    });
    const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));
    const runs = values.runs === undefined ? undefined : Number(values.runs);
    if (runs !== undefined && !(Number.isInteger(runs) && runs > 0)) throw new UsageError(`--runs: expected a positive integer, got "${values.runs}"`);
    const { runBench } = await import('./bench.ts');
    await runBench({ backends: list(values.backends), only: list(values.only), models: list(values.models), runs, graph: values.graph }, (row) => console.log(JSON.stringify(row)));
    return 0;
  },
};

export async function main(argv: string[]): Promise<number> {
  // Commands load TensorFlow on first use, after this, so level 0 set here also shows the lines
  // it prints while loading (which are otherwise held back, see src/runtime/quiet.ts).
  if (argv.includes('--verbose')) process.env.TF_CPP_MIN_LOG_LEVEL = '0';
  const [name, ...rest] = argv.filter((a) => a !== '--verbose');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) {
      process.stderr.write(USAGE);
      return EXIT_USAGE;
    }
    process.stdout.write(USAGE);
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`simdeblur: unknown command '${name}'\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    return await cmd(rest);
  } catch (err) {
    process.stderr.write(`simdeblur ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return exitStatusOf(err);
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '');
if (invokedDirectly) process.exitCode = await main(process.argv.slice(2));
