"""sRGB <-> CIELAB (D65, 2 degree observer) on batches, and the quantized ab grid.

The conversions are written with torch operations so that they run batched, on the GPU and
inside the training step; the tests check them against scikit-image.

Colorizing needs only two of their parts at each image's full size: the lightness of 8-bit
photos, and 8-bit sRGB from that lightness and the predicted ab. ``lightness8`` and
``lab_to_rgb8`` compute exactly those with lookup tables (the sRGB transfer curve at 256 input
and 65,536 output levels), in a fifth of the time of the general conversions, which at 512 x 512
cost as much as a fifth of the int8 network (bench/README.md).
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


@functools.lru_cache(maxsize=1)
def _luminance_tables() -> np.ndarray:
    """(3, 256) float32: each 8-bit sRGB level's share of the relative luminance Y, per channel."""
    v = np.arange(256) / 255
    linear = np.where(v > 0.04045, ((v + 0.055) / 1.055) ** 2.4, v / 12.92)
    return (_RGB_TO_XYZ.numpy()[1][:, None] * linear[None]).astype(np.float32)  # the white's Y is 1


@functools.lru_cache(maxsize=1)
def _encoding_table() -> np.ndarray:
    """(65536,) uint8: linear light in steps of 1/65535 -> the rounded 8-bit sRGB level. The steps are
    fine enough that a level differs from exact rounding only at a boundary (0.2% of pixels, by 1)."""
    v = np.arange(65536) / 65535
    srgb = np.where(v > 0.0031308, 1.055 * v ** (1 / 2.4) - 0.055, 12.92 * v)
    return np.clip(srgb * 255 + 0.5, 0, 255).astype(np.uint8)


def lightness8(rgb: np.ndarray) -> np.ndarray:
    """(..., H, W, 3) uint8 sRGB -> (..., H, W) float32 L in [0, 100]: rgb_to_lab's L (to 1e-4)."""
    if rgb.dtype != np.uint8 or rgb.shape[-1] != 3:
        raise ValueError(f"lightness8 takes (..., H, W, 3) uint8 sRGB, got {rgb.dtype} {rgb.shape}")
    tables = _luminance_tables()
    y = tables[0][rgb[..., 0]]
    y += tables[1][rgb[..., 1]]
    y += tables[2][rgb[..., 2]]
    f = np.cbrt(y)
    dark = y <= _EPS  # the linear segment near black: few pixels, so fixed up in place
    if dark.any():
        f[dark] = y[dark] * np.float32(841 / 108) + np.float32(4 / 29)
    f *= np.float32(116)
    f -= np.float32(16)
    return f


def lab_to_rgb8(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """(H, W) L and (2, H, W) ab, float32 -> (H, W, 3) uint8 sRGB: lab_to_rgb rounded to 8 bits (to 1 level)."""
    fy = (lightness + np.float32(16)) * np.float32(1 / 116)

    def f_inverse(f: np.ndarray) -> np.ndarray:
        return np.where(f > np.float32(6 / 29), f * f * f, (f - np.float32(4 / 29)) * np.float32(108 / 841))

    # XYZ over the white, then linear sRGB: one 3 x 3 matrix with the white folded in.
    x, y, z = f_inverse(fy + ab[0] * np.float32(1 / 500)), f_inverse(fy), f_inverse(fy - ab[1] * np.float32(1 / 200))
    matrix = (_XYZ_TO_RGB * _WHITE[None, :]).numpy().astype(np.float32)
    table, out = _encoding_table(), np.empty((*lightness.shape, 3), np.uint8)
    for c in range(3):
        linear = matrix[c, 0] * x + matrix[c, 1] * y + matrix[c, 2] * z
        np.clip(linear, 0, 1, out=linear)
        linear *= 65535
        linear += 0.5
        out[..., c] = table[linear.astype(np.uint16)]
    return out
