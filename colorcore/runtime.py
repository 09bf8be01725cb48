"""Device, precision and memory layout: one decision, used by training and inference alike."""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch

logger = logging.getLogger(__name__)
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with native bfloat16 matrix units (AMX) or AVX-512 BF16 instructions."""
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    dtype: torch.dtype | None  # autocast dtype; None for plain fp32
    channels_last: bool

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def format(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def format_model(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    @property
    def precision(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]


def pick_runtime(device: str = "auto", precision: str = "auto", local_rank: int = 0) -> Runtime:
    """auto: CUDA when present (bf16 or fp16 autocast), else CPU (bf16 autocast and channels-last
    where the CPU has bfloat16 units, plain fp32 otherwise)."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for, but no CUDA device is available")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    dev = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
        torch.backends.cudnn.benchmark = True
        auto = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        auto = torch.bfloat16 if cpu_has_fast_bf16() else None
    dtype = {"auto": auto, "fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    # channels-last pays off with bfloat16 oneDNN kernels on CPU and with tensor cores on CUDA.
    channels_last = dtype is not None
    return Runtime(dev, dtype, channels_last)
