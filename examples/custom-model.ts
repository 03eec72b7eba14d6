// Adding a model in one file: its options codec, defaults and builder, registered with
// `defineModel`, then used in an experiment like any built-in model.
//
//   npx tsx examples/custom-model.ts [--set model.features=32] [--work-dir D] [--quiet]
//
// `tinyResNet` restores the centre frame of a clip: a few 3x3 conv + ReLU layers over the
// channel-stacked frames, added to the blurry centre frame.
import type * as t from 'io-ts';
import { tf, makeModel, defineModel, strict, PositiveInt, experiment, losses, optim, datasets, runIfMain, type Model, type Tensor, type Tensor4D } from 'simdeblur';
import { conv2dLayer, type ParamStore } from 'simdeblur/nn';

const options = strict({ frames: PositiveInt, features: PositiveInt, layers: PositiveInt });
type TinyResNetOptions = t.TypeOf<typeof options>;

function buildTinyResNet(o: TinyResNetOptions, store: ParamStore): Model {
  const root = store.root();
  // Parameter names follow an equivalent PyTorch nn.Sequential: body.0.weight, body.2.weight, ...
  const convs = Array.from({ length: o.layers }, (_, i) =>
    conv2dLayer(root.child('body').child(2 * i), {
      inChannels: i === 0 ? 3 * o.frames : o.features,
      outChannels: i === o.layers - 1 ? 3 : o.features,
      kernelSize: 3,
      padding: 1,
    }),
  );
  return makeModel('TinyResNet', store, (p, input) => {
    const clip = input as Tensor;
    if (clip.rank !== 5 || clip.shape[1] !== o.frames) throw new Error(`TinyResNet: expected [B, ${o.frames}, H, W, 3], got [${clip.shape.join(',')}]`);
    const [b, t, h, w, c] = clip.shape as [number, number, number, number, number];
    // Frames side by side in the channels, frame-major: [B, H, W, T*C].
    let x: Tensor4D = tf.reshape(tf.transpose(clip, [0, 2, 3, 1, 4]), [b, h, w, t * c]);
    convs.forEach((conv, i) => {
      x = conv(p, x);
      if (i < convs.length - 1) x = tf.relu(x);
    });
    const centre = tf.reshape(tf.slice(clip, [0, Math.floor(t / 2), 0, 0, 0], [b, 1, h, w, c]), [b, h, w, c]);
    return tf.add(x, centre);
  });
}

export const tinyResNet = defineModel({
  type: 'tinyResNet',
  codec: options,
  defaults: { frames: 5, features: 16, layers: 4 },
  check: (p) => (p.layers >= 2 ? [] : [{ path: 'layers', message: `expected at least 2, got ${p.layers}` }]),
  build: buildTinyResNet,
  describe: 'a small residual CNN over stacked frames (example of a user-defined model)',
});

const exp = experiment({
  name: 'custom-model',
  data: {
    train: datasets.synthetic({ videos: 4, samplesPerVideo: 4, height: 32, width: 32, seed: 1 }),
    val: datasets.synthetic({ videos: 2, samplesPerVideo: 2, height: 32, width: 32, seed: 2 }),
    batchSize: 4,
  },
  model: tinyResNet({ features: 16 }),
  loss: losses.l1(),
  optimizer: optim.adam({ lr: 1e-3 }),
  run: { iterations: 40 },
  validation: { every: 20 },
  checkpoint: { every: 40 },
});
export default exp;
await runIfMain(import.meta.url, exp);
