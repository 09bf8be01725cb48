"""sRGB <-> CIELAB (D65, 2 degree observer) on batches, and the quantized ab grid.

The conversions are written with torch operations so that they run batched, on the GPU and
inside the training step; the tests check them against scikit-image.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

# sRGB (linear) -> XYZ, D65; the inverse is computed once.
_RGB_TO_XYZ = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=torch.float64,
)
_XYZ_TO_RGB = torch.linalg.inv(_RGB_TO_XYZ)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)  # D65 reference white
_EPS = (6 / 29) ** 3
AB_EXTENT = 110.0  # |a|, |b| of sRGB colors stay within about this


def _mix(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Apply a 3x3 matrix over the channel axis of (B, 3, H, W)."""
    return torch.einsum("ij,bjhw->bihw", matrix.to(x), x)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) sRGB in [0, 1] -> (B, 3, H, W) Lab with L in [0, 100]."""
    rgb = rgb.float().clamp(0, 1)
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = _mix(_RGB_TO_XYZ, linear) / _WHITE.to(rgb).view(1, 3, 1, 1)
    f = torch.where(xyz > _EPS, xyz.clamp_min(_EPS) ** (1 / 3), xyz * (841 / 108) + 4 / 29)
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) Lab -> (B, 3, H, W) sRGB clipped to [0, 1]."""
    lab = lab.float()
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], dim=1)
    xyz = torch.where(f > 6 / 29, f**3, (f - 4 / 29) * (108 / 841)) * _WHITE.to(lab).view(1, 3, 1, 1)
    linear = _mix(_XYZ_TO_RGB, xyz).clamp(0, 1)
    rgb = torch.where(linear > 0.0031308, 1.055 * linear.clamp_min(1e-12) ** (1 / 2.4) - 0.055, 12.92 * linear)
    return rgb.clamp(0, 1)


def quantize_ab(ab: np.ndarray, grid: int = 10) -> np.ndarray:
    """Centers of the grid cells (size ``grid``) that ab values (..., 2) fall into."""
    return np.round(np.asarray(ab, dtype=np.float64) / grid) * grid


@functools.lru_cache(maxsize=4)
def gamut_bins(grid: int = 10, levels: int = 256) -> np.ndarray:
    """(Q, 2) centers of the ab cells that some sRGB color reaches, at any lightness.

    Every ``levels``^3 sRGB color is converted to Lab and its ab quantized; the occupied cells
    are the in-gamut bins. Zhang et al. report Q = 313 for grid 10; this derivation gives 261
    (their exact criterion is not published; their 313 centers ship inside their weights and
    are what ``zhang2016`` uses).
    """
    v = torch.linspace(0, 1, levels, dtype=torch.float32)
    cells = set()
    for r in v:  # one red level at a time keeps memory small
        g, b = torch.meshgrid(v, v, indexing="ij")
        rgb = torch.stack([torch.full_like(g, float(r)), g, b]).unsqueeze(0)
        ab = rgb_to_lab(rgb)[0, 1:].reshape(2, -1).T.numpy()
        cells.update(map(tuple, np.unique(quantize_ab(ab, grid), axis=0)))
    return np.array(sorted(cells), dtype=np.float32)
