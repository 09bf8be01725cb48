"""Per-image quality measures of a colorization, in NumPy and scikit-image (no torch): the ones
``colorcore evaluate`` reports and the ones a study stores for each stimulus.

With the ground truth: AuC of the ab error (Zhang et al.: the share of pixels within each ab
distance from 0 to 150, its area normalised to 1), PSNR and SSIM on the colour image, and mean
CIEDE2000. Without it: colorfulness (Hasler & Suesstrunk 2003) and mean CIELAB chroma.
"""
from __future__ import annotations

import math

import numpy as np

THRESHOLDS = np.arange(0, 151)  # ab distance thresholds of the AuC


def accuracy_curve(distances: np.ndarray) -> np.ndarray:
    """Share of pixels whose ab error is within each threshold 0..150, from the per-pixel ab distances."""
    counts = np.searchsorted(np.sort(np.ravel(distances)), THRESHOLDS, side="right")
    return counts / np.size(distances)


def auc(curve: np.ndarray) -> float:
    """Area under the accuracy curve, normalised to 1 over thresholds 0..150."""
    return float(np.trapezoid(curve, THRESHOLDS) / (THRESHOLDS[-1] - THRESHOLDS[0]))


def colorfulness(rgb255: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colorfulness of (..., 3) RGB on the 0..255 scale."""
    rgb = np.asarray(rgb255, dtype=np.float64).reshape(-1, 3)
    rg, yb = rgb[:, 0] - rgb[:, 1], 0.5 * (rgb[:, 0] + rgb[:, 1]) - rgb[:, 2]
    return float(np.sqrt(rg.var() + yb.var()) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def stimulus_metrics(rgb: np.ndarray, truth: np.ndarray | None = None) -> dict[str, float | None]:
    """The measures of one 8-bit (H, W, 3) image, against ``truth`` (the same size) when given.

    >>> flat = np.full((8, 8, 3), 128, np.uint8)
    >>> sorted(stimulus_metrics(flat, flat))
    ['auc', 'chroma', 'ciede2000', 'colorfulness', 'psnr', 'ssim']
    >>> stimulus_metrics(flat, flat)["psnr"] is None  # identical images: PSNR is infinite
    True
    """
    from skimage import color
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    lab = color.rgb2lab(rgb)
    out: dict[str, float | None] = {
        "colorfulness": colorfulness(rgb), "chroma": float(np.hypot(lab[..., 1], lab[..., 2]).mean()),
    }
    if truth is None:
        return out
    if truth.shape != rgb.shape:
        raise ValueError(f"truth must be the image's size {rgb.shape}, got {truth.shape}")
    true_lab = color.rgb2lab(truth)
    same = np.array_equal(truth, rgb)  # PSNR is infinite, which JSON cannot hold: None
    psnr = math.inf if same else peak_signal_noise_ratio(truth, rgb, data_range=255)
    side = min(rgb.shape[:2])
    out.update(
        psnr=None if math.isinf(psnr) else float(psnr),
        ssim=float(structural_similarity(truth, rgb, channel_axis=2, data_range=255, win_size=min(7, side - (side + 1) % 2))),
        ciede2000=float(color.deltaE_ciede2000(true_lab, lab).mean()),
        auc=auc(accuracy_curve(np.hypot(*(lab[..., 1:] - true_lab[..., 1:]).transpose(2, 0, 1)))),
    )
    return out
