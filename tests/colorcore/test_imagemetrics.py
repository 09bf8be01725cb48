"""The per-image measures: one definition for colorcore evaluate and a study's stimuli."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import color

from colorcore import imagemetrics, metrics
from colorcore.color import rgb_to_lab

from ..conftest import TEST_PHOTOS


@pytest.fixture
def face() -> np.ndarray:
    path = sorted(TEST_PHOTOS.rglob("*.jpg"))[0]
    return np.asarray(Image.open(path).convert("RGB").resize((128, 128)))


def test_a_perfect_colorization_scores_perfectly_and_gray_does_not(face):
    perfect = imagemetrics.stimulus_metrics(face, face)
    assert perfect["auc"] == pytest.approx(1.0) and perfect["ssim"] == pytest.approx(1.0)
    assert perfect["ciede2000"] == 0.0 and perfect["psnr"] is None
    gray = (color.gray2rgb(color.rgb2gray(face)) * 255).round().astype(np.uint8)
    worse = imagemetrics.stimulus_metrics(gray, face)
    assert worse["auc"] < 0.99 and worse["ciede2000"] > 1.0 and 15 < worse["psnr"] < 60
    assert worse["colorfulness"] < 1.0 and worse["chroma"] < 1.0 < perfect["chroma"]


def test_colorcore_evaluate_and_the_study_measure_the_same_way(face):
    tensor = torch.from_numpy(face.copy()).permute(2, 0, 1).float().div(255)
    assert metrics.colorfulness(tensor) == pytest.approx(imagemetrics.colorfulness(face), rel=1e-6)
    lab = rgb_to_lab(tensor.unsqueeze(0))
    curve = metrics.accuracy_curve(torch.zeros_like(lab[:, 1:]), lab[:, 1:])
    numpy_lab = color.rgb2lab(face)
    expected = imagemetrics.accuracy_curve(np.hypot(numpy_lab[..., 1], numpy_lab[..., 2]))
    assert metrics.auc(curve) == pytest.approx(imagemetrics.auc(expected), abs=2e-3)


def test_a_truth_of_another_size_is_refused_with_both_sizes(face):
    with pytest.raises(ValueError, match=r"truth must be the image's size \(128, 128, 3\), got \(64, 64, 3\)"):
        imagemetrics.stimulus_metrics(face, face[:64, :64])
