"""A colorizer: a network that maps lightness to ab, and the photo-size steps around it.

``prepare`` (a photo's lightness at its own size and at the network's), ``Colorizer.predict``
(the network: lightness to ab at the network's size), ``finish`` (ab recombined with the photo's
own lightness at its own size). The network is any callable from (B, 1, S, S) lightness to
(B, 2, S, S) ab: :class:`TorchNetwork` here, colorcore's int8 module, or ONNX Runtime
(:mod:`colorcore.engines`). :func:`colorcore.factory.make_colorizer` builds them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .color import lab_to_rgb8, lightness8, rgb_to_lab
from .encoding import ColorBins
from .model import ModelConfig, decode
from .runtime import Runtime


@dataclass(frozen=True)
class TorchNetwork:
    """The network in torch with its decoding: lightness (B, 1, S, S) -> ab (B, 2, S, S)."""

    model: torch.nn.Module  # eager fp32, frozen bfloat16, or colorcore's int8 module
    config: ModelConfig
    bins: ColorBins | None
    runtime: Runtime
    temperature: float
    method: str = "annealed"
    weights_dtype: torch.dtype = torch.float32  # bfloat16 when the network was frozen for CPU inference

    def __call__(self, lightness: torch.Tensor) -> torch.Tensor:
        with self.runtime.autocast():
            out = self.model(self.runtime.format(lightness.to(self.runtime.device, self.weights_dtype)))  # (B, Q, S/4, S/4)
        ab = decode(out, self.config, self.bins.centers if self.bins else None, self.temperature, self.method)
        return F.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False)


@dataclass(frozen=True)
class Colorizer:
    network: Callable[[torch.Tensor], torch.Tensor]  # lightness (B, 1, S, S) -> ab (B, 2, S, S)
    name: str
    size: int  # the network's input size: what it was trained at
    temperature: float
    precision: str = "fp32"  # what the network runs in: fp32, bf16, fp16 or int8
    engine: str = "torch"  # or "onnxruntime"
    selection: Any = None  # how engine auto chose (colorcore.selection.Selection), when it did
    classification: bool = True  # False for the L2 network, which regresses ab: no temperature

    @torch.inference_mode()
    def ab_from_lightness(self, lightness: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) lightness in [0, 100] -> (B, 2, S, S) ab: the network and its decoding."""
        return self.network(lightness)

    def ab(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) sRGB -> (B, 2, S, S) predicted ab."""
        return self.ab_from_lightness(rgb_to_lab(rgb)[:, :1])

    def predict(self, prepared: list[Prepared]) -> torch.Tensor:
        """(B, 2, S, S) ab predicted for photos made ready by ``prepare``."""
        lightness = torch.from_numpy(np.stack([p.small for p in prepared]))[:, None]  # (B, 1, S, S)
        return self.ab_from_lightness(lightness).float().cpu()

    def colorize(self, images: list[Image.Image]) -> list[Image.Image]:
        """Colorize RGB (or gray) images of any size: the network sees ``size`` x ``size``, the output
        keeps each image's own size and its full-resolution lightness."""
        prepared = [prepare(im, self.size) for im in images]
        return [Image.fromarray(finish(p, ab)) for p, ab in zip(prepared, self.predict(prepared), strict=True)]

    def describe(self) -> str:
        """What runs, e.g. 'torch int8', and how engine auto chose it."""
        return f"{self.engine} {self.precision}" + (f" ({self.selection.describe()})" if self.selection else "")


@dataclass(frozen=True)
class Prepared:
    """A photo ready for the network: its lightness at its own size and at the network's."""

    lightness: np.ndarray  # (H, W) float32 L in [0, 100], the output's lightness
    small: np.ndarray  # (S, S) float32 L of the photo resized (bicubic) to the network's size, as in training


def prepare(image: Image.Image, size: int) -> Prepared:
    """The photo's lightness at its own size and at the network's ``size`` (computed once when equal)."""
    image = image if image.mode == "RGB" else image.convert("RGB")
    lightness = lightness8(np.asarray(image))  # (H, W, 3) uint8 -> (H, W)
    return Prepared(lightness, lightness if image.size == (size, size) else _small_lightness(image, size))


def _small_lightness(image: Image.Image, size: int) -> np.ndarray:
    image = image if image.mode == "RGB" else image.convert("RGB")
    return lightness8(np.asarray(image.resize((size, size), Image.Resampling.BICUBIC)))


def network_lightness(images: list[Image.Image], size: int) -> torch.Tensor:
    """(B, 1, size, size) the network's input for ``images``: what int8 calibrates and engine auto compares on."""
    return torch.from_numpy(np.stack([_small_lightness(im, size) for im in images]))[:, None]


def finish(prepared: Prepared, ab: torch.Tensor) -> np.ndarray:
    """(2, S, S) predicted ab -> (H, W, 3) uint8 sRGB at the photo's own size, with its own lightness."""
    h, w = prepared.lightness.shape
    if tuple(ab.shape[-2:]) != (h, w):
        ab = F.interpolate(ab[None], size=(h, w), mode="bilinear", align_corners=False)[0]
    return lab_to_rgb8(prepared.lightness, ab.numpy())
