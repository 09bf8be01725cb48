"""INT8 inference on CPU: post-training static quantization of the network.

On x86 CPUs with VNNI (or AMX) int8 instructions the quantized convolutions run about twice as
fast as bfloat16 ones where the CPU has no AMX (bench/inference.py). Activations are calibrated
on real photos, so a colorizer is quantized for the kind of images it is given. The final 1x1
convolution that gives the bin logits stays in float, because the annealed mean sharpens the
logits (T = 0.38 multiplies every rounding error by 2.6) before it averages the bin centers. The
transposed convolution is rewritten as the equivalent sub-pixel convolution first (see
``subpixel_conv``), and the channels between layers are rescaled so that each activation
tensor fits one int8 scale (see ``equalize_channels``).

This uses PyTorch's FX graph-mode quantization (``torch.ao.quantization``), the x86 backend.
Measure before trusting it (bench/inference.py --checkpoint): with the equalization, the colors of
the small and the full-size trained networks stay within 2 ab units of fp32 (99.9th percentile);
without it the full-size network was 29 ab units off after 400 training steps. ``auto`` never
picks int8, because its accuracy depends on the calibration photos.
"""
from __future__ import annotations

import copy
import itertools
import logging
import warnings

import torch
from torch import nn

from .errors import ColorcoreError

logger = logging.getLogger(__name__)
# The logits layer stays in float. (The transposed convolution, quantized as such, alone put the
# logits far off on a trained model, where every other block stayed close; as a sub-pixel
# convolution, see ``subpixel_conv``, it quantizes as well as the others: bench/README.md.)
KEEP_FLOAT = ("model8.6",)


def subpixel_conv(t: nn.ConvTranspose2d) -> nn.Sequential:
    """The same map as a ConvTranspose2d(k=4, stride=2, padding=1): a 3x3 convolution giving the
    four output phases as channels, then PixelShuffle(2).

    Output pixel (2i + a, 2j + b) takes input rows i + d through kernel row ``TAPS[a][d]`` (and the
    same for columns), so each phase is a 2x2 subset of the 4x4 kernel placed in a 3x3 window.
    """
    if t.kernel_size != (4, 4) or t.stride != (2, 2) or t.padding != (1, 1) or t.groups != 1 or t.dilation != (1, 1):
        raise ValueError(f"only ConvTranspose2d(kernel 4, stride 2, padding 1) is supported, got {t}")
    w = t.weight.detach()  # (C_in, C_out, 4, 4)
    c_in, c_out = w.shape[:2]
    k = torch.zeros(c_out, 2, 2, c_in, 3, 3, dtype=w.dtype)  # (C_out, phase row, phase col, C_in, 3, 3)
    taps = {0: {-1: 3, 0: 1}, 1: {0: 2, 1: 0}}  # output phase -> {input offset: kernel index}
    for a, rows in taps.items():
        for b, cols in taps.items():
            for d, m in rows.items():
                for e, n in cols.items():
                    k[:, a, b, :, d + 1, e + 1] = w[:, :, m, n].T
    conv = nn.Conv2d(c_in, 4 * c_out, 3, padding=1, bias=t.bias is not None)
    with torch.no_grad():
        conv.weight.copy_(k.reshape(4 * c_out, c_in, 3, 3))  # PixelShuffle reads channel o * 4 + a * 2 + b
        if t.bias is not None:
            conv.bias.copy_(t.bias.detach().repeat_interleave(4))
    return nn.Sequential(conv, nn.PixelShuffle(2))


def as_subpixel(model: nn.Module) -> nn.Module:
    """Replace, in place, every transposed convolution of ``model`` by its sub-pixel equivalent."""
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.ConvTranspose2d):
                setattr(parent, name, subpixel_conv(child))
    return model


_SCALABLE = (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d)


@torch.no_grad()
def equalize_channels(model: nn.Module, calibration: torch.Tensor) -> nn.Module:
    """Rescale channels between consecutive layers so that one int8 scale per tensor fits them all.

    An activation tensor gets a single int8 scale, set by its widest channel; channels that stay
    small then keep only a few of the 256 levels (in the trained full-size network a few channels
    were 83 times wider than the median). For each producer (convolution or BatchNorm) and the
    next layer, output channel c of the producer is divided by s_c and the next layer's input
    channel c multiplied by s_c, with s_c the channel's range on the calibration photos over the
    mean range: every channel then spans the same range. ReLU commutes with positive scales and
    zero padding stays zero, so the float network computes the same function (cross-layer
    equalization, Nagel et al., ICCV 2019, with the ranges taken from data; the weights take
    the spread, and they have one int8 scale per output channel).

    Works in place on a network whose layers run in the order ``modules()`` lists them, as
    ColorizationNet's do; returns it.
    """
    layers = [m for m in model.modules() if isinstance(m, _SCALABLE)]
    ranges: dict[nn.Module, torch.Tensor] = {}

    def record(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        ranges[module] = inputs[0].abs().amax((0, 2, 3))  # (C,) over the batch and the image

    hooks = [m.register_forward_pre_hook(record) for m in layers]
    try:
        model(calibration)
    finally:
        for hook in hooks:
            hook.remove()
    for producer, consumer in itertools.pairwise(layers):
        a = ranges[consumer]
        s = a / a[a > 0].mean()
        s = torch.where(s > 0, s, torch.ones_like(s))  # dead channels stay as they are
        _scale_outputs(producer, 1 / s)
        _scale_inputs(consumer, s)
    return model


def _scale_outputs(layer: nn.Module, f: torch.Tensor) -> None:
    """Multiply output channel c of a convolution or BatchNorm by f_c."""
    if isinstance(layer, nn.ConvTranspose2d):
        layer.weight.mul_(f[None, :, None, None])  # (C_in, C_out, k, k)
    elif isinstance(layer, nn.Conv2d):
        layer.weight.mul_(f[:, None, None, None])  # (C_out, C_in, k, k)
    else:
        layer.weight.mul_(f)
    layer.bias.mul_(f)


def _scale_inputs(layer: nn.Module, s: torch.Tensor) -> None:
    """Make ``layer`` give the same output for an input whose channel c was divided by s_c."""
    if isinstance(layer, nn.BatchNorm2d):  # gamma (x - mu) / sigma + beta, with x and mu divided by s
        layer.running_mean.div_(s)
        layer.weight.mul_(s)
    elif isinstance(layer, nn.ConvTranspose2d):
        layer.weight.mul_(s[:, None, None, None])
    else:
        layer.weight.mul_(s[None, :, None, None])


def quantize_int8(model: nn.Module, calibration: torch.Tensor, keep_float: tuple[str, ...] = KEEP_FLOAT,
                  batch_size: int = 8, equalize: bool = True) -> nn.Module:
    """An int8 copy of ``model`` (fp32, eval mode) calibrated on ``calibration``.

    Parameters
    ----------
    model : nn.Module
        The float network, in eval mode, on the CPU.
    calibration : torch.Tensor
        (N, 1, S, S) lightness in [0, 100] of photos like those to be colorized; 16 are plenty.
    keep_float : tuple of str
        Names of submodules left in float.
    equalize : bool
        Rescale channels first (``equalize_channels``); off only to measure what it brings.

    Returns
    -------
    nn.Module
        A traced and frozen module with the same inputs and outputs as ``model``.
    """
    if calibration.ndim != 4 or calibration.shape[1] != 1 or len(calibration) == 0:
        raise ColorcoreError(f"int8 calibration needs (N, 1, S, S) lightness, got shape {tuple(calibration.shape)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FX quantization announces its move to torchao
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

        if "x86" not in torch.backends.quantized.supported_engines:
            raise ColorcoreError("int8 needs PyTorch's x86 quantized engine, which this build lacks; use bf16 or fp32")
        torch.backends.quantized.engine = "x86"
        mapping = get_default_qconfig_mapping("x86")
        for name in keep_float:
            mapping = mapping.set_module_name(name, None)
        model = copy.deepcopy(model).eval()
        if equalize:
            equalize_channels(model, calibration[: batch_size * 2])
        as_subpixel(model)
        prepared = prepare_fx(model, mapping, (calibration[:1],))
        with torch.inference_mode():
            for start in range(0, len(calibration), batch_size):
                prepared(calibration[start : start + batch_size])
        quantized = convert_fx(prepared)
        with torch.no_grad():
            frozen = torch.jit.freeze(torch.jit.trace(quantized, calibration[:2], check_trace=False))
    logger.info("network quantized to int8 (calibrated on %d images, %s kept in float)", len(calibration), keep_float)
    return frozen
