#!/usr/bin/env python3
"""Writes the ImageNet VGG19 convolutions that the perceptualVgg19 loss needs to safetensors.

The loss uses torchvision's vgg19 `features` up to conv3_3 (indices 0, 2, 5, 7, 10, 12, 14);
their weights and biases are saved under their state-dict names (`features.N.weight`,
`features.N.bias`) in PyTorch layout, as float32.

Usage (needs torch, torchvision and safetensors: pip install torch torchvision safetensors):
    python scripts/convert-vgg19.py [OUT]                 # downloads torchvision's ImageNet weights
    python scripts/convert-vgg19.py OUT --from vgg19.pth  # converts a saved vgg19 state dict
OUT defaults to vgg19-features.safetensors.
"""
import argparse
import sys

import torch
from safetensors.torch import save_file

CONV_INDICES = (0, 2, 5, 7, 10, 12, 14)
KEYS = [f"features.{i}.{part}" for i in CONV_INDICES for part in ("weight", "bias")]


def imagenet_state_dict():
    import torchvision.models as models

    # The same ImageNet weights as the original's `vgg19(pretrained=True)`.
    if hasattr(models, "VGG19_Weights"):
        return models.vgg19(weights=models.VGG19_Weights.IMAGENET1K_V1).state_dict()
    return models.vgg19(pretrained=True).state_dict()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="vgg19-features.safetensors")
    parser.add_argument("--from", dest="source", help="a torchvision vgg19 state dict saved with torch.save")
    args = parser.parse_args()

    if args.source:
        sd = torch.load(args.source, map_location="cpu", weights_only=True)
    else:
        sd = imagenet_state_dict()
    missing = [k for k in KEYS if k not in sd]
    if missing:
        sys.exit(f"missing keys {missing}; the file has {len(sd)} keys, e.g. {list(sd)[:5]}")
    tensors = {k: sd[k].detach().to(torch.float32).contiguous() for k in KEYS}
    save_file(tensors, args.out, metadata={"content": "torchvision vgg19 features.0-14 (ImageNet)"})
    print(f"wrote {len(tensors)} tensors to {args.out}")


if __name__ == "__main__":
    main()
