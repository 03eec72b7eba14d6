// Any frame size for models that need H and W to be multiples of some n (stride-2 levels whose
// skips must line up, a hidden state of H/4 × W/4): the input is mirrored at the bottom and right
// up to the next multiple and every output is cropped back. Mirroring (rather than zeros) keeps
// image statistics at the new border, so the rows and columns next to it restore like the rest.
//
// The first tensor of the input sets the size. Every other image or clip in a list (a pyramid
// level, PVDNet's previous output) is padded to the padded size at its own scale, and every
// output at its scale is cropped to ceil(size / scale) (×4 outputs to 4 × size).
import { tf } from '../runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';
import type { Model, ModelInput, ModelOutput } from './model.ts';

type Mode = 'reflect' | 'symmetric';

/** Original and padded size of the input's first tensor, and how to mirror. */
interface Plan {
  readonly h: number;
  readonly w: number;
  readonly hp: number;
  readonly wp: number;
  readonly mode: Mode;
}

// The model each wrapper was made from.
const unwrapped = new WeakMap<Model, Model>();

/** [H, W] of an image [B, H, W, C] or a clip [B, T, H, W, C]; undefined for other ranks. */
function spatial(x: Tensor): [number, number] | undefined {
  return x.rank === 4 || x.rank === 5 ? [x.shape[x.rank - 3]!, x.shape[x.rank - 2]!] : undefined;
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/**
 * The padded size of a tensor of size `own` whose first tensor has size `size` padded to `padded`.
 * Lists hold pyramids: the scale between the two is the nearest power of two (11 and 3 are 4x apart).
 */
function target(size: number, padded: number, own: number): number {
  const scale = (a: number, b: number) => 2 ** Math.round(Math.log2(a / b));
  return own <= size ? Math.ceil(padded / scale(size, own)) : padded * scale(own, size);
}

function plan(name: string, input: ModelInput, multiple: number): Plan | undefined {
  const tensors = Array.isArray(input) ? input : [input];
  const first = tensors[0] === undefined ? undefined : spatial(tensors[0]);
  // Anything else is left to the model's own input checks.
  if (first === undefined) return undefined;
  const [h, w] = first;
  if (h % multiple === 0 && w % multiple === 0) return undefined;
  const hp = roundUp(h, multiple);
  const wp = roundUp(w, multiple);
  let mode: Mode = 'reflect';
  for (const x of tensors) {
    const s = spatial(x);
    if (s === undefined) continue;
    const [ph, pw] = [target(h, hp, s[0]) - s[0], target(w, wp, s[1]) - s[1]];
    if (ph < 0 || pw < 0) throw new Error(`${name}: a ${s[0]}x${s[1]} input in a list led by a ${h}x${w} one is at no integer scale of it`);
    // 'reflect' skips the edge row, so it can add at most size − 1 rows; 'symmetric' at most size.
    if (ph >= s[0] || pw >= s[1]) mode = 'symmetric';
    if (ph > s[0] || pw > s[1]) {
      const min = Math.ceil(multiple / 2);
      throw new Error(
        `${name}: cannot mirror a ${s[0]}x${s[1]} input up to ${s[0] + ph}x${s[1] + pw} (H and W are padded to multiples of ${multiple}; frames smaller than ${min}x${min} are too small)`,
      );
    }
  }
  return { h, w, hp, wp, mode };
}

function pad(x: Tensor, p: Plan): Tensor {
  const s = spatial(x);
  if (s === undefined) return x;
  const [h, w] = s;
  const ph = target(p.h, p.hp, h) - h;
  const pw = target(p.w, p.wp, w) - w;
  if (ph === 0 && pw === 0) return x;
  // mirrorPad is applied to images; a clip's frames are a batch of them.
  const [c] = x.shape.slice(-1) as [number];
  const images = x.rank === 4 ? x : x.reshape([-1, h, w, c]);
  const padded = tf.mirrorPad(images as Tensor, [[0, 0], [0, ph], [0, pw], [0, 0]], p.mode);
  return x.rank === 4 ? padded : padded.reshape([...x.shape.slice(0, -3), h + ph, w + pw, c]);
}

function crop(y: Tensor, p: Plan): Tensor {
  const s = spatial(y);
  if (s === undefined) return y;
  const [oh, ow] = s;
  // The output's scale relative to the padded input, applied to the original size.
  const h = Math.min(oh, Math.ceil((p.h * oh) / p.hp));
  const w = Math.min(ow, Math.ceil((p.w * ow) / p.wp));
  if (h === oh && w === ow) return y;
  const size = y.shape.map((d, i) => (i === y.rank - 3 ? h : i === y.rank - 2 ? w : d));
  return tf.slice(y, new Array<number>(y.rank).fill(0), size);
}

/**
 * `model` taking inputs of any H and W: inputs whose first tensor is not a multiple of `multiple`
 * in H or W are mirror-padded at the bottom and right ('reflect', or 'symmetric' when the pad
 * exceeds what reflect can add; a list's tensors each at their own scale) and the outputs cropped
 * back to the input's size at their scale. Inputs that are multiples run unchanged. Every other
 * member of `model` (a recurrent `cell`, say) is kept as it is, unpadded. `multiple` 1 returns
 * `model` itself.
 */
export function padToMultiple<M extends Model>(model: M, multiple: number): M {
  if (!Number.isInteger(multiple) || multiple < 1) throw new Error(`padToMultiple(${model.name}): the multiple must be a positive integer, got ${multiple}`);
  if (multiple === 1) return model;
  const apply: Model['apply'] = (params, input, opts) => {
    const p = plan(model.name, input, multiple);
    if (p === undefined) return model.apply(params, input, opts);
    return tf.tidy((): ModelOutput => {
      const padded = Array.isArray(input) ? input.map((x) => pad(x, p)) : pad(input, p);
      const out = model.apply(params, padded, opts);
      return Array.isArray(out) ? out.map((y) => crop(y, p)) : crop(out, p);
    });
  };
  const wrapped: M = { ...model, apply };
  unwrapped.set(wrapped, model);
  return wrapped;
}

/**
 * `fn` run on `input` ([B, H, W, C] or [B, T, H, W, C]) mirror-padded as `padToMultiple` pads it,
 * its output cropped back the same way: for callers that pad before something other than a
 * model's `apply` (a strategy building a pyramid first, say).
 */
export function mirrorPadded(name: string, input: Tensor, multiple: number, fn: (padded: Tensor) => Tensor): Tensor {
  const p = multiple > 1 ? plan(name, input, multiple) : undefined;
  if (p === undefined) return fn(input);
  return tf.tidy(() => crop(fn(pad(input, p)), p));
}

/**
 * The model `padToMultiple` wrapped (its `apply` takes only sizes that are multiples); `model`
 * itself when it is no such wrapper.
 */
export function unpadded<M extends Model>(model: M): M {
  return (unwrapped.get(model) as M | undefined) ?? model;
}
