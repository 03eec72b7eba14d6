// The VGG19 perceptual loss of the original (`PerceptualLossVGG19`): squared differences of
// VGG19 feature maps of ground truth and prediction at three depths, weighted and summed.
//
// The original collects torchvision's `features` outputs at indices 2, 7 and 14, but its ReLUs
// are in-place, so the first two are overwritten by the following ReLU: the features really
// compared are relu1_2, relu2_2 and conv3_3 before its ReLU. We compute exactly those.
//
// The VGG weights are constants: plain tensors, never variables, so no optimiser sees them and
// gradients reach the prediction only. They come from a safetensors file holding torchvision's
// `vgg19` state dict in PyTorch layout (scripts/convert-vgg19.py writes one).
import path from 'node:path';
import type { Scalar, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../runtime/index.ts';
import { fromPytorchLayout, readSafetensors, tensorTable, type RawTensor } from '../io/safetensors.ts';
import { conv2d } from '../nn/conv.ts';
import { relu } from '../nn/activations.ts';
import { maxPool2d } from '../nn/pool.ts';
import { assertSameShape, type Loss } from './types.ts';

/** The convolutions of torchvision's `vgg19.features` up to conv3_3: index, in and out channels. */
export const VGG19_CONVS = [
  { index: 0, cin: 3, cout: 64 }, // conv1_1
  { index: 2, cin: 64, cout: 64 }, // conv1_2
  { index: 5, cin: 64, cout: 128 }, // conv2_1
  { index: 7, cin: 128, cout: 128 }, // conv2_2
  { index: 10, cin: 128, cout: 256 }, // conv3_1
  { index: 12, cin: 256, cout: 256 }, // conv3_2
  { index: 14, cin: 256, cout: 256 }, // conv3_3
] as const;

/** The state-dict keys the loss needs (`features.N.weight`, `features.N.bias`). */
export const VGG19_KEYS: readonly string[] = VGG19_CONVS.flatMap((c) => [`features.${c.index}.weight`, `features.${c.index}.bias`]);

/**
 * VGG19 feature weights keyed by state-dict name: conv weights HWIO `[3, 3, in, out]`, biases
 * `[out]`. Holds exactly the keys of `VGG19_KEYS`.
 */
export type Vgg19Features = Readonly<Record<string, Tensor>>;

/** ImageNet statistics torchvision's VGG was trained with (RGB). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
/** ImageNet per-channel standard deviations torchvision's VGG was trained with (RGB). */
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

const WHAT = 'perceptualVgg19';
const HINT = 'write one with scripts/convert-vgg19.py';

function listKeys(keys: readonly string[]): string {
  if (keys.length === 0) return 'it holds no tensors';
  const shown = keys.slice(0, 8).join(', ');
  return `it holds ${keys.length} tensor${keys.length === 1 ? '' : 's'}: ${shown}${keys.length > 8 ? ', ...' : ''}`;
}

/**
 * Checks a torchvision `vgg19` state dict (PyTorch layout, OIHW convs) and turns the keys of
 * `VGG19_KEYS` into tensors in our layout. Other keys (later layers, `classifier.*`) are
 * ignored. `source` names the dict in errors (a file path). The caller owns the tensors; they
 * are `tf.keep`-ed, so building this inside a `tf.tidy` does not dispose them.
 */
export function vgg19Features(sd: Readonly<Record<string, RawTensor>>, source = '<state dict>'): Vgg19Features {
  const keys = Object.keys(sd);
  const missing = VGG19_KEYS.filter((k) => !Object.prototype.hasOwnProperty.call(sd, k));
  if (missing.length > 0) {
    throw new Error(
      `${WHAT}: ${source} has no tensor '${missing[0]}'${missing.length > 1 ? ` (and ${missing.length - 1} more VGG19 keys are missing)` : ''}; ` +
        `expected torchvision vgg19 keys features.{0,2,5,7,10,12,14}.{weight,bias}, ${listKeys(keys)} (${HINT})`,
    );
  }
  // Validate everything before creating any tensor, so an error leaks nothing.
  const raws: Array<[string, RawTensor]> = [];
  for (const c of VGG19_CONVS) {
    for (const [suffix, expected, kind] of [
      ['weight', [c.cout, c.cin, 3, 3], 'conv'],
      ['bias', [c.cout], 'plain'],
    ] as const) {
      const key = `features.${c.index}.${suffix}`;
      const raw = sd[key]!;
      if (raw.shape.length !== expected.length || raw.shape.some((d, i) => d !== expected[i])) {
        const layout = suffix === 'weight' ? ' (PyTorch layout [out, in, kh, kw])' : '';
        throw new Error(`${WHAT}: ${source}: '${key}' has shape [${raw.shape.join(', ')}] but VGG19 needs [${expected.join(', ')}]${layout}`);
      }
      if (!(raw.data instanceof Float32Array)) {
        throw new Error(`${WHAT}: ${source}: '${key}' must hold floating-point values, got ${raw.dtype ?? 'integers'}`);
      }
      raws.push([key, kind === 'conv' ? fromPytorchLayout(key, raw, 'conv') : raw]);
    }
  }
  const out = tensorTable<Tensor>();
  for (const [key, raw] of raws) out[key] = tf.keep(tf.tensor(raw.data, [...raw.shape], 'float32'));
  return out;
}

/** Reads a safetensors file with torchvision's `vgg19` state dict (see `vgg19Features`). */
export function loadVgg19Features(file: string): Vgg19Features {
  let sd: Record<string, RawTensor>;
  try {
    sd = readSafetensors(file).tensors;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`${WHAT}: cannot load VGG19 weights from ${file}: ${msg} (${HINT})`);
  }
  return vgg19Features(sd, file);
}

/** `(x − mean) / std` per RGB channel with the ImageNet statistics, on `[..., 3]`. */
export function imagenetNormalize(x: Tensor): Tensor {
  return tf.tidy(() => tf.div(tf.sub(x, tf.tensor1d([...IMAGENET_MEAN])), tf.tensor1d([...IMAGENET_STD])));
}

function layer(w: Vgg19Features, x: Tensor4D, index: number): Tensor4D {
  return conv2d(x, w[`features.${index}.weight`]!, w[`features.${index}.bias`]!, { padding: 1 });
}

/**
 * The three feature maps the original compares, for NHWC `x` `[B, H, W, 3]` fed as given:
 * relu1_2 `[B, H, W, 64]`, relu2_2 `[B, H/2, W/2, 128]` and conv3_3 before its ReLU
 * `[B, H/4, W/4, 256]` (sizes floored, as torchvision's 2x2 max pools).
 */
export function vgg19FeatureMaps(w: Vgg19Features, x: Tensor4D): [Tensor4D, Tensor4D, Tensor4D] {
  return tf.tidy(() => {
    const r = (t: Tensor4D): Tensor4D => relu(t) as Tensor4D;
    const f1 = r(layer(w, r(layer(w, x, 0)), 2));
    const p1 = maxPool2d(f1, 2);
    const f2 = r(layer(w, r(layer(w, p1, 5)), 7));
    const p2 = maxPool2d(f2, 2);
    const f3 = layer(w, r(layer(w, r(layer(w, p2, 10)), 12)), 14);
    return [f1, f2, f3];
  });
}

/** Options of the VGG19 perceptual loss. */
export interface PerceptualOptions {
  /** Weights of the relu1_2, relu2_2 and conv3_3 terms. Default `[1, 0.2, 0.04]`, as the original. */
  readonly layerWeights?: readonly number[];
  /** How each term's squared differences are reduced: `'mean'` (default) or `'sum'` over elements. */
  readonly reduction?: 'mean' | 'sum';
  /**
   * Normalise inputs with the ImageNet mean and std before VGG, as the network was trained.
   * Default `false`: the original feeds [0, 1] RGB as given.
   */
  readonly normalize?: boolean;
}

interface Resolved {
  readonly layerWeights: readonly [number, number, number];
  readonly reduction: 'mean' | 'sum';
  readonly normalize: boolean;
}

function resolve(o: PerceptualOptions): Resolved {
  const lw = o.layerWeights ?? [1, 0.2, 0.04];
  const reduction = o.reduction ?? 'mean';
  if (lw.length !== 3 || !lw.every((v) => Number.isFinite(v) && v >= 0)) {
    throw new Error(`${WHAT}: layerWeights must be 3 finite non-negative numbers, got ${JSON.stringify(lw)}`);
  }
  if (reduction !== 'mean' && reduction !== 'sum') throw new Error(`${WHAT}: reduction must be 'mean' or 'sum', got ${String(reduction)}`);
  return { layerWeights: [lw[0]!, lw[1]!, lw[2]!], reduction, normalize: o.normalize ?? false };
}

/** NHWC images `[B, H, W, 3]` or clips `[B, T, H, W, 3]`, as a batch of images. */
function asImages(x: Tensor): Tensor4D {
  const s = x.shape;
  const [h, w, c] = s.slice(-3) as [number, number, number];
  if ((x.rank !== 4 && x.rank !== 5) || c !== 3) {
    throw new Error(`${WHAT}: expected RGB images [B,H,W,3] or clips [B,T,H,W,3], got shape [${s.join(',')}]`);
  }
  if (h < 4 || w < 4) throw new Error(`${WHAT}: images must be at least 4x4 (two 2x2 poolings), got ${h}x${w}`);
  return x.rank === 4 ? (x as Tensor4D) : tf.reshape(x, [-1, h, w, c]);
}

/**
 * The perceptual loss with borrowed VGG weights (the caller keeps and disposes them):
 * Σ_i w_i · reduce((φ_i(gt) − φ_i(pred))²). Gradients flow to both inputs, never to `features`.
 */
export function perceptualLoss(features: Vgg19Features, options: PerceptualOptions = {}): Loss {
  const o = resolve(options);
  return (gt: Tensor, pred: Tensor): Scalar => {
    assertSameShape(WHAT, gt, pred);
    return tf.tidy(() => {
      // One VGG pass over ground truth and prediction together.
      let x: Tensor4D = tf.concat([asImages(gt), asImages(pred)], 0);
      if (o.normalize) x = imagenetNormalize(x) as Tensor4D;
      const n = x.shape[0] / 2;
      const terms = vgg19FeatureMaps(features, x).map((f, i) => {
        const [a, b] = tf.split(f, [n, n], 0) as [Tensor4D, Tensor4D];
        const sq = tf.squaredDifference(a, b);
        return tf.mul(o.reduction === 'mean' ? tf.mean(sq) : tf.sum(sq), o.layerWeights[i]!);
      });
      return tf.addN(terms) as Scalar;
    });
  };
}

/** Options of `perceptualVgg19`: the perceptual loss options plus the weights file. */
export interface PerceptualVgg19Options extends PerceptualOptions {
  /** Safetensors file with torchvision's `vgg19` state dict (`features.N.*`, PyTorch layout). */
  readonly weights: string;
}

/** A loss that owns tensors: `dispose()` frees them (the loss cannot be used afterwards). */
export type DisposableLoss = Loss & {
  /** Frees the tensors the loss owns; the loss cannot be used afterwards. */
  dispose(): void;
};

/** The original's `PerceptualLossVGG19`, reading its VGG weights from `options.weights` once. */
export function perceptualVgg19(options: PerceptualVgg19Options): DisposableLoss {
  resolve(options); // option errors before the file is read
  const features = loadVgg19Features(options.weights);
  const loss = perceptualLoss(features, options);
  let disposed = false;
  const fn = (gt: Tensor, pred: Tensor): Scalar => {
    if (disposed) throw new Error(`${WHAT}: the loss was disposed`);
    return loss(gt, pred);
  };
  return Object.assign(fn, {
    dispose: (): void => {
      if (!disposed) tf.dispose(Object.values(features));
      disposed = true;
    },
  });
}

// The experiment component's weights: an experiment builds its losses once, and the weights of
// a file are read on first use and shared by every experiment of the process (a test suite,
// a sweep) for its lifetime, so several builds hold one copy. A file rewritten meanwhile is not
// read again.
const shared = new Map<string, Vgg19Features>();

/** `loadVgg19Features(file)`, read once per process; never disposed. */
export function sharedVgg19Features(file: string): Vgg19Features {
  const key = path.resolve(file);
  let features = shared.get(key);
  if (features === undefined) {
    features = loadVgg19Features(file);
    shared.set(key, features);
  }
  return features;
}
