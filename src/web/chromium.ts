// Where a Chromium to test the page with is installed. Only a system package is used (Debian's
// `chromium`, or a Chrome/Chromium the machine already has): nothing is downloaded.
import fs from 'node:fs';

/** Environment variable naming a Chromium or Chrome executable to use instead of the usual places. */
export const CHROMIUM_ENV = 'SIMDEBLUR_CHROMIUM';

/** Where distributions install Chromium or Chrome, in the order they are tried. */
export const CHROMIUM_CANDIDATES: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome-stable',
  '/usr/bin/google-chrome',
  '/snap/bin/chromium',
];

/** Command-line switches that give headless Chromium WebGL without a GPU (SwiftShader's software renderer). */
export const SOFTWARE_WEBGL_ARGS: readonly string[] = ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'];

const executable = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};

/**
 * The Chromium to use: $SIMDEBLUR_CHROMIUM when set (an error if it is not an executable file),
 * else the first of `candidates` (default {@link CHROMIUM_CANDIDATES}) present; undefined when
 * there is none.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env, candidates: readonly string[] = CHROMIUM_CANDIDATES): string | undefined {
  const named = env[CHROMIUM_ENV];
  if (named !== undefined && named !== '') {
    if (!executable(named)) throw new Error(`${CHROMIUM_ENV}=${named}: not an executable file`);
    return named;
  }
  return candidates.find(executable);
}
