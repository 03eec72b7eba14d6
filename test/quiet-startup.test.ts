import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { isNative } from '../src/runtime/index.ts';
import { filterStartupLog } from '../src/runtime/quiet.ts';

const STARTUP = /oneDNN custom operations|absl::InitializeLog/;
const LOAD = "import('./src/runtime/index.ts').then((m) => m.tf.zeros([1]).dataSync())";
const node = (args: string[], env: Record<string, string | undefined> = {}) => {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8', env: childEnv });
};
const native = { skip: isNative() ? false : 'needs the native TensorFlow runtime' };

test("TensorFlow's start-up lines are held back when the runtime loads", native, () => {
  const r = node(['-e', LOAD], { TF_CPP_MIN_LOG_LEVEL: undefined });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, STARTUP);
});

test('TF_CPP_MIN_LOG_LEVEL=0 and --verbose bring them back', native, () => {
  const env = node(['-e', LOAD], { TF_CPP_MIN_LOG_LEVEL: '0' });
  assert.equal(env.status, 0, env.stderr);
  assert.match(env.stderr, /oneDNN custom operations are on/);
  assert.match(env.stderr, /absl::InitializeLog/);

  const quiet = node(['src/cli/main.ts', 'doctor'], { TF_CPP_MIN_LOG_LEVEL: undefined });
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, STARTUP);
  const verbose = node(['src/cli/main.ts', 'doctor', '--verbose'], { TF_CPP_MIN_LOG_LEVEL: undefined });
  assert.equal(verbose.status, 0, verbose.stderr);
  assert.match(verbose.stderr, /oneDNN custom operations are on/);
});

test('only messages below the log level (with their continuation lines) are dropped', () => {
  const captured = [
    'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR',
    'I0000 00:00:1796365167.917984   30624 port.cc:153] oneDNN custom operations are on.',
    'I0000 00:00:1796365168.028457   30624 cpu_feature_guard.cc:227] This TensorFlow binary is optimized.',
    'To enable the following instructions: AVX2 FMA, rebuild TensorFlow.',
    'W0102 15:04:05.123456   30624 loader.cc:12] something to know',
    '  with a second line',
    'E0000 00:00:1796365168.1   30624 op.cc:7] a real error',
    '',
  ].join('\n');
  assert.equal(
    filterStartupLog(captured, 1),
    'W0102 15:04:05.123456   30624 loader.cc:12] something to know\n  with a second line\nE0000 00:00:1796365168.1   30624 op.cc:7] a real error\n',
  );
  assert.equal(filterStartupLog(captured, 3), '');
  assert.equal(filterStartupLog('plain text from elsewhere\n', 1), 'plain text from elsewhere\n');
});
