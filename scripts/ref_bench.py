#!/usr/bin/env python3
"""Times one original SimDeblur model (PyTorch, CPU) the way `simdeblur bench --only models`
times our port, for scripts/side-by-side.mjs.

    /usr/bin/python3 scripts/ref_bench.py MODEL [RUNS]     (RUNS defaults to 3)
    /usr/bin/python3 scripts/ref_bench.py --list

MODEL is a case name of `modelBenchCases` (src/bench/models.ts), built with the same
configuration and fed random inputs of the same shapes (NCHW here, NHWC there) and value range.
Protocol, as ours: B=1; forward in eval mode under no_grad; forward+backward in train mode with
a Charbonnier loss, sqrt(d^2 + 1e-6) summed over every element of every output, against fixed
random targets shaped as the outputs; one warm-up, then RUNS timed runs, median; 2 intra-op
threads, 1 inter-op thread. The last stdout line is JSON:
{"model", "forwardS", "forwardBackwardS", "peakRssMb", "outputs", "standIns"}; build chatter
of the original goes to stderr.

The original is imported through refimport.py of ../../shared/reference (relative to this
script); SIMDEBLUR_REF, when set, names the checkout to import (default: its original/).

Some cases time against CPU stand-ins written here in PyTorch for what the original can only
run on CUDA (or lacks), each put in place by replacing a module or module attribute before
the model is built:
- edvr: modulated deformable convolution (the compiled DCN extension) -> torchvision's
  deform_conv2d (Debian's python3-torchvision).
- stfan-cell, stfan-20: the filter-adaptive convolution (kernelconv2d_cuda) -> unfold-based.
- cdvd-tsp: PWC-Net's cupy correlation -> a shifted-product cost volume (81 displacements).
- pvdnet-large: LiteFlowNet's cupy correlation -> the same cost volume (49 displacements,
  strided), and its `.cuda()` / torch.cuda tensor types -> the CPU ones.
- restormer: einops (not installed) -> a small rearrange of reshape/permute/reshape, as
  einops itself does.
Weights are random: cdvd-tsp does not download its PWC-Net weights, and pvdnet-large's BIMNet
is initialised rather than loaded from a checkpoint, then frozen as the original freezes it.
mscnn cannot be timed: its model (projects/mscnn) is not part of the original checkout.
"""
import contextlib
import importlib
import json
import os
import resource
import statistics
import sys
import time
import types

import torch
import torch.nn.functional as F

# Before any parallel work: PyTorch fixes its pools on first use.
torch.set_num_threads(2)
torch.set_num_interop_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.normpath(os.path.join(HERE, '..', '..', 'shared', 'reference'))
BACKBONE = 'simdeblur.model.backbone'
EPS = 1e-6


def load(modname):
    """Imports one module of the original (refimport skips its CUDA-only package __init__s)."""
    os.environ.setdefault('SIMDEBLUR_REF', os.path.join(REFERENCE, 'original'))
    if REFERENCE not in sys.path:
        sys.path.insert(0, REFERENCE)
    return importlib.import_module('refimport').load(modname)


# ---- CPU stand-ins -------------------------------------------------------------------------

def fake_module(name, **attrs):
    """Registers a module under `name` so that importing it yields `attrs` instead."""
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def cost_volume(first, second, max_disp, stride=1):
    """Correlation of `first` with `second` shifted by (dy, dx) * stride for dy, dx in
    [-max_disp, max_disp] (channel (dy + max_disp) * (2 max_disp + 1) + dx + max_disp), averaged
    over channels, zero outside, at every stride-th pixel of `first` - what the cupy kernels of
    PWC-Net (max_disp 4) and LiteFlowNet (max_disp 3, stride 1 or 2) compute."""
    h, w = first.shape[2:]
    pad = max_disp * stride
    f = first[:, :, ::stride, ::stride]
    s = F.pad(second, [pad, pad, pad, pad])
    span = range(-max_disp, max_disp + 1)
    return torch.stack([
        (f * s[:, :, pad + dy * stride:pad + dy * stride + h:stride, pad + dx * stride:pad + dx * stride + w:stride]).mean(1)
        for dy in span for dx in span
    ], 1)


def modulated_deform_conv(x, offset, mask, weight, bias, stride, padding, dilation, groups, deformable_groups):
    """The DCNv2 call of EDVR's DCNv2Pack, on torchvision (same offset/mask layout; groups and
    deformable groups follow from the shapes)."""
    from torchvision.ops import deform_conv2d
    assert weight.shape[1] * groups == x.shape[1] and offset.shape[1] == 2 * deformable_groups * weight.shape[2] * weight.shape[3]
    return deform_conv2d(x, offset, weight, bias, stride=stride, padding=padding, dilation=dilation, mask=mask)


class FilterAdaptiveConv:
    """STFAN's KernelConv2DFunction: every pixel of every channel filtered by its own k x k
    kernel; `inp` is already padded by k // 2, `kernel` is (B, C k k, H, W)."""

    @staticmethod
    def apply(inp, kernel, k):
        b, c, h, w = kernel.shape[0], inp.shape[1], kernel.shape[2], kernel.shape[3]
        patches = F.unfold(inp, k).view(b, c, k * k, h, w)
        return (patches * kernel.view(b, c, k * k, h, w)).sum(2)


def rearrange(x, pattern, **sizes):
    """einops.rearrange for patterns of named axes and (grouped axes), as einops runs it:
    reshape to the elementary axes, permute, reshape to the result."""
    def groups(side):
        out, i, toks = [], 0, side.replace('(', ' ( ').replace(')', ' ) ').split()
        while i < len(toks):
            if toks[i] == '(':
                j = toks.index(')', i)
                out.append(toks[i + 1:j])
                i = j + 1
            else:
                out.append([toks[i]])
                i += 1
        return out
    left, right = (groups(s) for s in pattern.split('->'))
    size = dict(sizes)
    for group, n in zip(left, x.shape):
        known = 1
        for a in group:
            known *= size.get(a, 1)
        for a in group:
            size.setdefault(a, n // known)
    elementary = [a for g in left for a in g]
    order = [elementary.index(a) for g in right for a in g]
    final = []
    for g in right:
        n = 1
        for a in g:
            n *= size[a]
        final.append(n)
    return x.reshape([size[a] for a in elementary]).permute(order).reshape(final)


def device_aliases():
    """The original's `.cuda()` calls and torch.cuda tensor types, as CPU no-ops."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.cuda.FloatTensor = torch.FloatTensor
    torch.cuda.IntTensor = torch.IntTensor


# ---- Cases ---------------------------------------------------------------------------------

class Case:
    """An original model to time: its inputs (NCHW) and how one benchmark step drives it."""

    def __init__(self, name, build, inputs, run=None, value_range=(0.0, 1.0), stand_ins=(), unavailable=None):
        self.name, self.build, self.inputs = name, build, inputs
        self.run = run or (lambda m, xs: m(xs[0]))
        self.range, self.stand_ins, self.unavailable = value_range, list(stand_ins), unavailable


def backbone(path, cls, *args, **kwargs):
    """A builder of class `cls` of backbone module `path`, called with the arguments."""
    return lambda: getattr(load(f'{BACKBONE}.{path}'), cls)(*args, **kwargs)


def build_edvr():
    fake_module(f'{BACKBONE}.edvr.dcn.deform_conv_ext')  # the compiled extension, never called
    load(f'{BACKBONE}.edvr.edvr_util').modulated_deform_conv = modulated_deform_conv
    return load(f'{BACKBONE}.edvr.edvr').EDVR(
        num_in_ch=3, num_out_ch=3, num_feat=64, num_frame=5, deformable_groups=8, num_extract_block=5,
        num_reconstruct_block=10, center_frame_idx=2, hr_in=True, with_predeblur=True, with_tsa=True)


def stfan_module():
    fake_module('kernelconv2d_cuda')  # imported at the top of KernelConv2D.py, never called
    load(f'{BACKBONE}.stfan.FAC.kernelconv2d.KernelConv2D').KernelConv2DFunction = FilterAdaptiveConv
    return load(f'{BACKBONE}.stfan.stfan')


def build_cdvd_tsp():
    # correlation.py asks CUDA for a stream on import, so the whole module is replaced.
    fake_module(f'{BACKBONE}.cdvd_tsp.correlation',
                FunctionCorrelation=lambda tensorFirst, tensorSecond: cost_volume(tensorFirst, tensorSecond, 4))
    return load(f'{BACKBONE}.cdvd_tsp.cdvd_tsp').CDVD_TSP(
        in_channels=3, n_sequence=5, out_channels=3, n_resblock=3, n_feat=32,
        load_flow_net=False, load_recons_net=False, is_mask_filter=True)


def build_pvdnet():
    fake_module(f'{BACKBONE}.pvdnet.archs.torch_correlation',
                FunctionCorrelation=lambda tensorFirst, tensorSecond, intStride: cost_volume(tensorFirst, tensorSecond, 3, intStride))
    device_aliases()
    model = load(f'{BACKBONE}.pvdnet.pvdnet').PVDNet(PV_ksize=5, fix_BIMNet=False, large_model=True)
    for p in model.BIMNet.parameters():  # what fix_BIMNet does after loading its checkpoint
        p.requires_grad_(False)
    return model


def build_restormer():
    fake_module('einops', rearrange=rearrange)
    return load(f'{BACKBONE}.restormer.Restormer').Restormer()


PYRAMID = [[1, 3, 128, 128], [1, 3, 64, 64], [1, 3, 32, 32]]
CASES = {c.name: c for c in [
    Case('dbn', backbone('dbn.dbn', 'DBN', 5, 3, 64), [[1, 5, 3, 128, 128]]),
    Case('nafnet-w64', backbone('nafnet.nafnet', 'NAFNet', img_channel=3, width=64, middle_blk_num=1,
                                enc_blk_nums=[1, 1, 1, 28], dec_blk_nums=[1, 1, 1, 1]), [[1, 3, 128, 128]]),
    Case('dblrnet', backbone('dblrnet.dblrnet', 'DBLRNet', 5, 3, 64), [[1, 5, 3, 128, 128]]),
    Case('strcnn', backbone('strcnn.strcnn', 'STRCNN', 5, 3, 32, 4, 4, is_dtb=True), [[1, 12, 3, 128, 128]]),
    Case('ifirnn', backbone('ifirnn.ifirnn', 'IFIRNN', 3, 16, dual_cell=True, intra_iters=3), [[1, 12, 3, 128, 128]]),
    Case('estrnn', backbone('estrnn.estrnn', 'ESTRNN', n_features=16, n_blocks=15, future_frames=2, past_frames=2,
                            activation='gelu'), [[1, 8, 3, 128, 128]]),
    # The original builds the ConvLSTM whatever with_lstm says; ours runs with it too.
    Case('srn', backbone('srn.srn', 'SRN', in_channels=6, inner_channels=32, num_levels=3, with_lstm=True), PYRAMID,
         run=lambda m, xs: m(list(xs))),
    Case('mscnn', None, PYRAMID, unavailable='its original (MSResNet of projects/mscnn) is not in the reference checkout'),
    Case('mimounet', backbone('mimounet.MIMOUNet', 'MIMOUNet', num_res=8), [[1, 3, 128, 128]]),
    Case('restormer', build_restormer, [[1, 3, 128, 128]], stand_ins=['einops.rearrange']),
    Case('edvr', build_edvr, [[1, 5, 3, 128, 128]], stand_ins=['modulated deformable conv (torchvision)']),
    Case('cdvd-tsp', build_cdvd_tsp, [[1, 5, 3, 128, 128]], stand_ins=['PWC-Net correlation']),
    # One recurrent step: current and previous blurry frames, previous output, previous fused
    # features; the loss sees the restored frame only.
    Case('stfan-cell', lambda: stfan_module().STFANCell(), [[1, 3, 128, 128]] * 3 + [[1, 256, 32, 32]],
         run=lambda m, xs: m(*xs)[0], stand_ins=['filter-adaptive conv']),
    # The whole clip, backpropagated through every step.
    Case('stfan-20', lambda: stfan_module().STFAN(), [[1, 20, 3, 128, 128]], stand_ins=['filter-adaptive conv']),
    # One step: [previous, current, next] blurry frames and the previous output, in [-1, 1].
    Case('pvdnet-large', build_pvdnet, [[1, 3, 3, 128, 128], [1, 3, 128, 128]], run=lambda m, xs: m(*xs),
         value_range=(-1.0, 1.0), stand_ins=['LiteFlowNet correlation', 'CUDA device moves']),
]}


# ---- Timing --------------------------------------------------------------------------------

def as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def uniform(shape, lo, hi, gen):
    return torch.rand(shape, generator=gen) * (hi - lo) + lo


def median_seconds(step, runs):
    """One warm-up call, then the median of `runs` timed calls."""
    step()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(case, runs):
    torch.manual_seed(0)
    with contextlib.redirect_stdout(sys.stderr):  # the original prints while building
        model = case.build()
    gen = torch.Generator().manual_seed(3)
    lo, hi = case.range
    inputs = [uniform(s, lo, hi, gen) for s in case.inputs]
    model.eval()
    with torch.no_grad():
        targets = [uniform(o.shape, lo, hi, gen) for o in as_list(case.run(model, inputs))]

    def forward():
        model.eval()
        with torch.no_grad():
            as_list(case.run(model, inputs))

    def forward_backward():
        model.train()
        model.zero_grad(set_to_none=True)  # fresh gradients each run, as ours computes them
        outs = as_list(case.run(model, inputs))
        loss = sum(torch.sqrt((o - t) ** 2 + EPS).sum() for o, t in zip(outs, targets))
        loss.backward()

    fwd = median_seconds(forward, runs)
    fb = median_seconds(forward_backward, runs)
    return {
        'model': case.name,
        'forwardS': round(fwd, 4),
        'forwardBackwardS': round(fb, 4),
        'peakRssMb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),  # KiB on Linux
        'outputs': [list(t.shape) for t in targets],
        'standIns': case.stand_ins,
    }


def main(argv):
    if argv[:1] == ['--list']:
        for c in CASES.values():
            if c.unavailable:
                print(f'{c.name}  (not available: {c.unavailable})')
            else:
                print(c.name + (f"  (stand-ins: {', '.join(c.stand_ins)})" if c.stand_ins else ''))
        return 0
    if not 1 <= len(argv) <= 2 or argv[0] not in CASES:
        sys.stderr.write(f"usage: ref_bench.py MODEL [RUNS] | --list  (MODEL: {' '.join(CASES)})\n")
        return 2
    runs_arg = argv[1] if len(argv) == 2 else '3'
    runs = int(runs_arg) if runs_arg.isdigit() else 0
    if runs < 1:
        sys.stderr.write(f'ref_bench: RUNS: expected a positive integer, got {argv[1]}\n')
        return 2
    case = CASES[argv[0]]
    if case.unavailable:
        sys.stderr.write(f'ref_bench: {case.name}: cannot be timed: {case.unavailable}\n')
        return 1
    sys.stderr.write(f'ref_bench: {case.name}, {runs} run(s) after a warm-up\n')
    print(json.dumps(bench(case, runs)), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
