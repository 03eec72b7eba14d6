// `simdeblur doctor`: which TensorFlow runtime is active and whether it works.
import { runtimeInfo, tf, SETUP_COMMAND } from '../runtime/index.ts';
import type { Tensor4D } from '../runtime/index.ts';

export interface DoctorReport {
  readonly backend: string;
  readonly package: string;
  readonly tfVersion: string | null;
  readonly tfjsVersion: string;
  readonly devices: readonly string[];
  readonly threads: { readonly cpus: number; readonly intraOp: string; readonly interOp: string };
  readonly onednn: boolean;
  readonly node: string;
  readonly selfTest: { readonly ok: boolean; readonly ms: number; readonly error?: string };
  readonly fallbacks: readonly string[];
}

/** A small conv forward+backward, to prove the kernels (not just the library) load. */
function selfTest(): DoctorReport['selfTest'] {
  const t0 = performance.now();
  try {
    const value = tf.tidy(() => {
      const x = tf.ones([1, 8, 8, 4]) as Tensor4D;
      const g = tf.grad((w) => tf.conv2d(x, w as Tensor4D, 1, 'same').sum())(tf.ones([3, 3, 4, 2]));
      return g.sum();
    });
    const v = value.dataSync()[0];
    value.dispose();
    // With an all-ones input, a tap's gradient counts the outputs where it overlaps the image:
    // 64 for the centre, 56 for the 4 edge taps, 49 for the 4 corners; times 4 in x 2 out channels.
    const expected = (64 + 4 * 56 + 4 * 49) * 4 * 2;
    if (v !== expected) throw new Error(`conv gradient self-test gave ${v}, expected ${expected}`);
    return { ok: true, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - t0), error: err instanceof Error ? err.message : String(err) };
  }
}

export function doctorReport(): DoctorReport {
  const info = runtimeInfo();
  return {
    backend: info.backend,
    package: info.package,
    tfVersion: info.tfVersion,
    tfjsVersion: info.tfjsVersion,
    devices: info.devices,
    threads: info.threads,
    onednn: info.onednn,
    node: process.version,
    selfTest: selfTest(),
    fallbacks: info.fallbacks,
  };
}

export function formatDoctor(r: DoctorReport): string {
  const lines = [
    `backend      ${r.backend} (${r.package})`,
    `TensorFlow   ${r.tfVersion ?? 'none (pure JavaScript kernels)'}`,
    `tfjs         ${r.tfjsVersion}`,
    `devices      ${r.devices.join(', ')}`,
    `threads      ${r.threads.cpus} CPUs; intra-op ${r.threads.intraOp}, inter-op ${r.threads.interOp} (TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS)`,
    `oneDNN       ${r.onednn ? 'on' : 'off'}${r.backend === 'tensorflow' ? ' (TF_ENABLE_ONEDNN_OPTS=0 turns it off)' : ''}`,
    `node         ${r.node}`,
    `self-test    ${r.selfTest.ok ? `ok (${r.selfTest.ms} ms)` : `FAILED: ${r.selfTest.error}`}`,
  ];
  for (const f of r.fallbacks) lines.push(`fallback     ${f}`);
  if (r.backend !== 'tensorflow') lines.push('', `The native runtime is not active: run \`${SETUP_COMMAND}\` (see docs/runtime.md, "Troubleshooting").`);
  return lines.join('\n');
}
