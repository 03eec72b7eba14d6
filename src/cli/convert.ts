// `simdeblur convert IN.pth --out OUT.safetensors`: a PyTorch checkpoint's state dict, read
// without running anything in it, written as safetensors (PyTorch layout, names unchanged), the
// format every other command and `parity` read.
import { parseArgs } from 'node:util';
import { readTorchStateDict } from '../io/pth/index.ts';
import { serializeSafetensors } from '../io/safetensors.ts';
import type { RawTensor } from '../io/safetensors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { UsageError } from './exit.ts';

export const CONVERT_USAGE = 'usage: simdeblur convert IN.pth --out OUT.safetensors [--key params|params_ema|state_dict|...] [--ema]';

export async function convertCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { out: { type: 'string' }, key: { type: 'string' }, ema: { type: 'boolean', default: false } } });
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n${CONVERT_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || values.out === undefined) throw new UsageError(CONVERT_USAGE);
  if (!values.out.endsWith('.safetensors')) throw new UsageError(`--out: expected a .safetensors file, got "${values.out}"`);
  const sd = readTorchStateDict(positionals[0]!, { ...(values.key === undefined ? {} : { key: values.key }), ema: values.ema });
  // Half and bfloat16 values were read exactly into float32, which is what is written.
  const tensors: Record<string, RawTensor> = Object.create(null);
  for (const [k, t] of Object.entries(sd.tensors)) tensors[k] = t.dtype === 'F16' || t.dtype === 'BF16' ? { shape: t.shape, data: t.data, dtype: 'F32' } : t;
  await writeFileAtomic(values.out, serializeSafetensors(tensors, { source: positionals[0]!, format: sd.format, wrapper: sd.wrapper }));
  console.log(JSON.stringify({ out: values.out, tensors: Object.keys(tensors).length, format: sd.format, wrapper: sd.wrapper }));
  return 0;
}
