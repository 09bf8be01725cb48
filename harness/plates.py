"""How a colour-vision plate looks to people, measured on the PNG a participant is served: the
contrast of its figure for normal vision and under simulated dichromats, and what lightness alone
tells. Shared by the plates' tests and bench/plates.py (colour-science and DaltonLens, the latter a
development dependency)."""
from __future__ import annotations

import io

import colour
import numpy as np
from daltonlens import simulate
from PIL import Image
from scipy.stats import mannwhitneyu

from colorstudy import plates

_DALTONLENS = {"protan": simulate.Deficiency.PROTAN, "deutan": simulate.Deficiency.DEUTAN,
               "tritan": simulate.Deficiency.TRITAN}


def dot_colours(plate: plates.Plate) -> np.ndarray:
    """The served PNG's 8-bit sRGB at each dot's centre, (N, 3) in [0, 1]."""
    image = np.asarray(Image.open(io.BytesIO(plate.png())).convert("RGB"))
    xs, ys = np.clip(np.round(plate.centres).astype(int), 0, plate.size - 1).T
    return image[ys, xs] / 255.0


def lab(srgb: np.ndarray) -> np.ndarray:
    return colour.XYZ_to_Lab(colour.sRGB_to_XYZ(srgb))


def contrast(srgb: np.ndarray, in_figure: np.ndarray) -> float:
    return float(colour.delta_E(lab(srgb[in_figure]).mean(0), lab(srgb[~in_figure]).mean(0), method="CIE 2000"))


def as_dichromat(srgb: np.ndarray, deficiency: str, model: str) -> np.ndarray:
    if model == "machado":
        linear = colour.models.eotf_sRGB(srgb) @ plates.simulation(deficiency).T
        return colour.models.eotf_inverse_sRGB(np.clip(linear, 0, 1))
    simulator = simulate.Simulator_Brettel1997() if model == "brettel" else simulate.Simulator_Vienot1999()
    pixels = np.round(srgb * 255).astype(np.uint8)[:, None, :]
    return simulator.simulate_cvd(pixels, _DALTONLENS[deficiency], severity=1.0)[:, 0, :] / 255.0


def equal_lightness(srgb: np.ndarray) -> np.ndarray:
    """Each dot's chromaticity at one lightness, for normal vision's contrast of colour alone."""
    linear = colour.models.eotf_sRGB(srgb)
    return colour.models.eotf_inverse_sRGB(0.25 * linear / (linear @ plates.LUMINANCE)[:, None])


def lightness_auc(plate: plates.Plate) -> float:
    """How well L* alone sorts figure dots from background dots (0.5: not at all)."""
    lightness = lab(dot_colours(plate))[:, 0]
    f = plate.in_figure
    return mannwhitneyu(lightness[f], lightness[~f]).statistic / (f.sum() * (~f).sum())
