// `simdeblur setup [--gpu] [--from-wheel] [--wheel FILE] [--force] [--no-collective]`: the native TensorFlow runtime
// for the @tensorflow/tfjs-node that this simdeblur resolves (docs/runtime.md).
import { parseArgs } from 'node:util';
import { provisionNativeRuntime, SetupError, TROUBLESHOOTING } from './native.ts';

export async function setupCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      gpu: { type: 'boolean', default: false },
      'from-wheel': { type: 'boolean', default: false },
      wheel: { type: 'string' },
      force: { type: 'boolean', default: false },
      'no-collective': { type: 'boolean', default: false },
    },
  });
  try {
    provisionNativeRuntime({ gpu: values.gpu, fromWheel: values['from-wheel'], wheel: values.wheel, force: values.force, noCollective: values['no-collective'] });
  } catch (err) {
    if (!(err instanceof SetupError)) throw err;
    process.stderr.write(`\n[setup] FAILED: ${err.message}\n[setup] See ${TROUBLESHOOTING} (in the simdeblur package).\n`);
    return 1;
  }
  return 0;
}
