// The published package, used the way a project uses it: `npm pack`, install the tarball (and
// tsx) from the npm registry into an empty project, provision the runtime with
// `npx simdeblur setup`, check it with `doctor`, and train a recipe that imports only 'simdeblur'.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'simdeblur-package-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

// Variables npm sets for a running script (npm test) would point child npm commands back at
// this repository; the consumer's commands must see a plain environment.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], cwd: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function ok(r: Result, what: string): Result {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r;
}

const RECIPE = `import { experiment, models, losses, optim, datasets } from 'simdeblur';

export default experiment({
  name: 'tiny-dbn',
  data: {
    train: datasets.synthetic({ videos: 2, samplesPerVideo: 4, height: 32, width: 32, seed: 1 }),
    val: datasets.synthetic({ videos: 1, samplesPerVideo: 2, height: 32, width: 32, seed: 2 }),
    batchSize: 2,
  },
  model: models.dbn({ innerChannels: 8 }),
  loss: losses.charbonnier(),
  optimizer: optim.adam({ lr: 1e-3 }),
  run: { iterations: 2 },
  validation: { every: 2 },
  checkpoint: { every: 2 },
});
`;

test('the packed package installs into an empty project, sets up its runtime and trains a recipe', async () => {
  const packDir = path.join(work, 'pack');
  fs.mkdirSync(packDir);
  // dist/ built from the sources as they are (prepack does it too, but not where npm is set to ignore scripts).
  ok(await run(npm, ['run', 'build'], root), 'npm run build');
  const packed = ok(await run(npm, ['pack', '--silent', '--ignore-scripts', '--pack-destination', packDir], root), 'npm pack');
  const tarball = path.join(packDir, packed.stdout.trim().split('\n').pop()!);
  assert.ok(fs.existsSync(tarball), `npm pack wrote no ${tarball}`);

  const project = path.join(work, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  const tsxVersion = (JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'tsx', 'package.json'), 'utf8')) as { version: string }).version;
  // Install scripts off: tfjs-node's would download libtensorflow; `simdeblur setup` provisions it.
  ok(await run(npm, ['install', tarball, `tsx@${tsxVersion}`, '--ignore-scripts', '--no-audit', '--no-fund'], project), 'npm install');
  assert.ok(!fs.existsSync(path.join(project, 'node_modules', 'simdeblur', 'src')), 'the package ships sources');

  const setup = ok(await run(npx, ['--no', 'simdeblur', 'setup'], project), 'npx simdeblur setup');
  assert.match(setup.stdout, /@tensorflow\/tfjs-node: .*(ready|restored)/);
  const doctor = ok(await run(npx, ['--no', 'simdeblur', 'doctor', '--json'], project), 'npx simdeblur doctor --json');
  assert.equal(JSON.parse(doctor.stdout.trim().split('\n').pop()!).backend, 'tensorflow');

  fs.writeFileSync(path.join(project, 'recipe.ts'), RECIPE);
  const train = ok(await run(npx, ['--no', 'simdeblur', 'train', 'recipe.ts', '--quiet'], project), 'npx simdeblur train recipe.ts');
  const summary = JSON.parse(train.stdout.trim().split('\n').pop()!) as { iteration: number };
  assert.equal(summary.iteration, 2);
  assert.ok(fs.existsSync(path.join(project, 'work_dirs', 'tiny-dbn', 'checkpoints', 'iter_00000002', 'weights.safetensors')));

  // The shipped demonstration model deblurs a photo with no weights given; the trained checkpoint too.
  const photo = path.resolve('assets', 'images', 'chelsea.png');
  const demo = ok(await run(npx, ['--no', 'simdeblur', 'deblur', photo, '--out', 'deblurred', '--json'], project), 'npx simdeblur deblur photo');
  assert.equal(JSON.parse(demo.stdout.trim().split('\n').pop()!).frames, 1);
  assert.ok(fs.existsSync(path.join(project, 'deblurred', 'chelsea.png')));
  const own = ok(await run(npx, ['--no', 'simdeblur', 'deblur', photo, '--out', 'own', '--checkpoint', 'work_dirs/tiny-dbn/checkpoints/iter_00000002'], project), 'npx simdeblur deblur --checkpoint');
  assert.match(own.stderr, /model: dbn from work_dirs\/tiny-dbn/);
  assert.ok(fs.existsSync(path.join(project, 'own', 'chelsea.png')));
});
