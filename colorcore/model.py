"""The colorization network of Zhang, Isola & Efros (ECCV 2016), as in the seed's Figure 3.

Read top to bottom: the config, the blocks, the network, the decoders. Layer names follow the
authors' eccv16 release (``model1`` .. ``model8``) so that their weights load key for key.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

HEADS = ("classification", "regression")


@dataclass(frozen=True)
class ModelConfig:
    q: int = 313  # number of ab bins, the classification head's outputs (seed: 247 on LFW)
    head: str = "classification"  # or "regression": ab directly, for the L2 loss (seed section 5.1)
    width: float = 1.0  # channel multiplier; 1.0 is the paper's network, 0.25 a small CPU variant
    l_center: float = 50.0  # the input L is fed as (L - l_center) / l_scale
    l_scale: float = 100.0
    ab_scale: float = 110.0  # the regression head predicts ab / ab_scale

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {self.head!r}")
        if not 0 < self.width <= 4:
            raise ValueError(f"width must be in (0, 4], got {self.width}")


def _conv_block(c_in: int, c_out: int, n: int, stride_last: int = 1, dilation: int = 1) -> nn.Sequential:
    """n 3x3 convolutions with ReLU, the last one strided, then BatchNorm (seed Figure 3)."""
    layers: list[nn.Module] = []
    for i in range(n):
        stride = stride_last if i == n - 1 else 1
        layers += [
            nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, stride=stride, padding=dilation, dilation=dilation),
            nn.ReLU(inplace=True),
        ]
    layers.append(nn.BatchNorm2d(c_out))
    return nn.Sequential(*layers)


class ColorizationNet(nn.Module):
    """L (B, 1, H, W) in [0, 100] -> logits (B, Q, H/4, W/4), or ab / ab_scale (B, 2, H/4, W/4)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

        def c(channels: int) -> int:
            return max(8, int(round(channels * config.width)))

        self.model1 = _conv_block(1, c(64), 2, stride_last=2)  # (B, 64, H/2, W/2)
        self.model2 = _conv_block(c(64), c(128), 2, stride_last=2)  # (B, 128, H/4, W/4)
        self.model3 = _conv_block(c(128), c(256), 3, stride_last=2)  # (B, 256, H/8, W/8)
        self.model4 = _conv_block(c(256), c(512), 3)  # (B, 512, H/8, W/8)
        self.model5 = _conv_block(c(512), c(512), 3, dilation=2)  # dilated, same size
        self.model6 = _conv_block(c(512), c(512), 3, dilation=2)
        self.model7 = _conv_block(c(512), c(512), 3)
        out = config.q if config.head == "classification" else 2
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(c(512), c(256), 4, stride=2, padding=1),  # (B, 256, H/4, W/4)
            nn.ReLU(inplace=True),
            nn.Conv2d(c(256), c(256), 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c(256), c(256), 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c(256), out, 1),  # (B, Q, H/4, W/4) logits, or (B, 2, H/4, W/4)
        )

    def forward_features(self, lightness: torch.Tensor) -> torch.Tensor:
        x = (lightness - self.config.l_center) / self.config.l_scale
        for block in (self.model1, self.model2, self.model3, self.model4, self.model5, self.model6, self.model7):
            x = block(x)
        return x  # (B, 512, H/8, W/8)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.model8(features)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(lightness))


DECODERS = ("annealed", "mean", "mode")


def decode(output: torch.Tensor, config: ModelConfig, centers: torch.Tensor | None, temperature: float = 0.38,
           method: str = "annealed") -> torch.Tensor:
    """Network output -> ab (B, 2, h, w).

    Classification: the annealed mean of seed eq. (3), ``softmax(logits / T)`` averaged over the
    bin centers (T = 1 is the plain mean), or the mode. Regression: the output times ab_scale.
    """
    if config.head == "regression":
        return output.float() * config.ab_scale
    if method not in DECODERS:
        raise ValueError(f"method must be one of {DECODERS}, got {method!r}")
    # Work with the bins last (B, h, w, Q): contiguous for channels-last outputs, and the
    # softmax and the projection onto the centers then run over the innermost axis.
    logits = output.permute(0, 2, 3, 1).float()
    centers = centers.to(logits.device, torch.float32)  # (Q, 2)
    if method == "mode":
        return centers[logits.argmax(-1)].permute(0, 3, 1, 2)
    t = 1.0 if method == "mean" else temperature
    if t <= 0:
        raise ValueError(f"temperature must be positive, got {t}")
    probs = torch.softmax(logits / t, dim=-1)  # exp(log z / T), renormalized
    return (probs @ centers).permute(0, 3, 1, 2)  # (B, 2, h, w)


def upsample_ab(ab: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """ab at a quarter resolution -> (B, 2, H, W) at the image's full size, bilinear."""
    return F.interpolate(ab, size=size, mode="bilinear", align_corners=False)
