// Random (not ImageNet) VGG19 feature weights of torchvision's shapes, for perceptual-loss tests.
import type { RawTensor } from '../../src/io/safetensors.ts';
import { VGG19_CONVS } from '../../src/losses/index.ts';
import { Rng } from '../../src/util/rng.ts';

/** A torchvision-shaped vgg19 state dict (PyTorch layout) with He-scaled random weights, plus extra keys. */
export function randomVggStateDict(seed: number): Record<string, RawTensor> {
  const rng = Rng.seeded(seed);
  const sd: Record<string, RawTensor> = {};
  for (const { index, cin, cout } of VGG19_CONVS) {
    sd[`features.${index}.weight`] = { shape: [cout, cin, 3, 3], data: rng.normalArray(cout * cin * 9, 0, Math.sqrt(2 / (9 * cin))) };
    sd[`features.${index}.bias`] = { shape: [cout], data: rng.uniformArray(cout, -0.1, 0.1) };
  }
  // Later layers and the classifier are ignored.
  sd['features.16.bias'] = { shape: [256], data: new Float32Array(256) };
  sd['classifier.0.bias'] = { shape: [4], data: new Float32Array(4) };
  return sd;
}
