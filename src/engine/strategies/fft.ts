// A differentiable 2-D real FFT (one-sided along the width, like torch.fft.rfft2), computed
// as two matrix products with cached DFT matrices, so its gradient needs no FFT kernel.
import { tf } from '../../runtime/index.ts';
import type { Tensor2D, Tensor3D, Tensor4D } from '../../runtime/index.ts';

interface Dft {
  readonly cos: Tensor2D;
  readonly sin: Tensor2D;
}

const cache = new Map<string, Dft>();

/** [n, m] matrices of cos/sin(2π·j·k / n) for j < n, k < m. */
function dft(n: number, m: number): Dft {
  const key = `${n}x${m}`;
  let d = cache.get(key);
  if (!d) {
    const c = new Float32Array(n * m);
    const s = new Float32Array(n * m);
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < m; k++) {
        const a = (2 * Math.PI * ((j * k) % n)) / n;
        c[j * m + k] = Math.cos(a);
        s[j * m + k] = Math.sin(a);
      }
    }
    d = { cos: tf.keep(tf.tensor2d(c, [n, m])), sin: tf.keep(tf.tensor2d(s, [n, m])) };
    cache.set(key, d);
  }
  return d;
}

/**
 * rfft2 of each channel of `x` `[N, H, W, C]`: real and imaginary parts, laid out as
 * `[N, C·H, W/2+1, 2]` so the first axis is still the batch.
 */
export function rfft2(x: Tensor4D): Tensor4D {
  const [n, h, w, c] = x.shape;
  const wf = Math.floor(w / 2) + 1;
  const gw = dft(w, wf);
  const fh = dft(h, h);
  return tf.tidy(() => {
    const planes = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c * h, w]) as Tensor2D;
    // Along the width: A = x·e^{-iωw} = Ar + i·Ai.
    const ar = tf.reshape(tf.matMul(planes, gw.cos), [n * c, h, wf]) as Tensor3D;
    const ai = tf.neg(tf.reshape(tf.matMul(planes, gw.sin), [n * c, h, wf])) as Tensor3D;
    // Along the height: X = (cos − i·sin)·A.
    const cosH = tf.broadcastTo(fh.cos, [n * c, h, h]) as Tensor3D;
    const sinH = tf.broadcastTo(fh.sin, [n * c, h, h]) as Tensor3D;
    const re = tf.add(tf.matMul(cosH, ar), tf.matMul(sinH, ai));
    const im = tf.sub(tf.matMul(cosH, ai), tf.matMul(sinH, ar));
    return tf.reshape(tf.stack([re, im], -1), [n, c * h, wf, 2]) as Tensor4D;
  });
}
