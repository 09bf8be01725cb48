"""INT8 inference on CPU: post-training static quantization of the network.

On x86 CPUs with VNNI (or AMX) int8 instructions the quantized convolutions run about twice as
fast as bfloat16 ones where the CPU has no AMX (bench/inference.py). Activations are calibrated
on real photos, so a colorizer is quantized for the kind of images it is given. The final 1x1
convolution that gives the bin logits stays in float, because the annealed mean sharpens the
logits (T = 0.38 multiplies every rounding error by 2.6) before it averages the bin centers, and
so does the transposed convolution (see ``KEEP_FLOAT``).

This uses PyTorch's FX graph-mode quantization (``torch.ao.quantization``), the x86 backend.
"""
from __future__ import annotations

import logging
import warnings

import torch
from torch import nn

from .errors import ColorcoreError

logger = logging.getLogger(__name__)
# The logits layer, and the transposed convolution: quantized, it alone put the logits off by
# 60% of their size on a trained model (every other block: under 1%), so both stay in float.
KEEP_FLOAT = ("model8.0", "model8.6")


def quantize_int8(model: nn.Module, calibration: torch.Tensor, keep_float: tuple[str, ...] = KEEP_FLOAT,
                  batch_size: int = 8) -> nn.Module:
    """An int8 copy of ``model`` (fp32, eval mode) calibrated on ``calibration``.

    Parameters
    ----------
    model : nn.Module
        The float network, in eval mode, on the CPU.
    calibration : torch.Tensor
        (N, 1, S, S) lightness in [0, 100] of photos like those to be colorized; 16 are plenty.
    keep_float : tuple of str
        Names of submodules left in float.

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
        prepared = prepare_fx(model.eval(), mapping, (calibration[:1],))
        with torch.inference_mode():
            for start in range(0, len(calibration), batch_size):
                prepared(calibration[start : start + batch_size])
        quantized = convert_fx(prepared)
        with torch.no_grad():
            frozen = torch.jit.freeze(torch.jit.trace(quantized, calibration[:2], check_trace=False))
    logger.info("network quantized to int8 (calibrated on %d images, %s kept in float)", len(calibration), keep_float)
    return frozen
