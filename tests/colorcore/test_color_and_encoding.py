from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from skimage import color

from colorcore.color import gamut_bins, lab_to_rgb, lab_to_rgb8, lightness8, quantize_ab, rgb_to_lab
from colorcore.data import load_rgb, to_tensor
from colorcore.encoding import ab_histogram, learn_bins, rebalancing_weights
from colorcore.images import write_png

from ..conftest import TRAIN_PHOTOS


def real_batch(n: int = 4, size: int = 64) -> torch.Tensor:
    files = sorted(TRAIN_PHOTOS.rglob("*.jpg"))[:n]
    return torch.stack([to_tensor(load_rgb(f), size) for f in files])


def test_lab_matches_scikit_image_on_real_photos_and_random_colors():
    for rgb in (real_batch(), torch.rand(2, 3, 8, 8)):
        ours = rgb_to_lab(rgb).permute(0, 2, 3, 1).numpy()
        ref = color.rgb2lab(rgb.permute(0, 2, 3, 1).numpy().astype(np.float64))
        assert np.abs(ours - ref).max() < 1e-3
        assert ours[..., 0].min() >= 0 and ours[..., 0].max() <= 100


def test_lab_round_trip_returns_the_same_rgb():
    rgb = real_batch()
    assert (lab_to_rgb(rgb_to_lab(rgb)) - rgb).abs().max() < 1e-4


def test_the_lightness_of_8_bit_photos_is_the_general_conversions_and_scikit_images():
    photos = [np.asarray(load_rgb(f)) for f in sorted(TRAIN_PHOTOS.rglob("*.jpg"))[:3]]
    every_level = np.stack(np.meshgrid(*[np.arange(0, 256, 5, dtype=np.uint8)] * 3, indexing="ij"), -1).reshape(-1, 1, 3)
    for rgb in (*photos, every_level):
        ours = lightness8(rgb)
        general = rgb_to_lab(torch.tensor(rgb).permute(2, 0, 1)[None].float() / 255)[0, 0].numpy()
        assert ours.dtype == np.float32 and ours.shape == rgb.shape[:2]
        assert np.abs(ours - general).max() < 1e-4
        assert np.abs(ours - color.rgb2lab(rgb)[..., 0]).max() < 1e-3


def test_8_bit_recombination_is_the_general_conversion_rounded_within_one_level():
    rng = np.random.default_rng(0)
    photo = np.asarray(load_rgb(sorted(TRAIN_PHOTOS.rglob("*.jpg"))[0]))
    lab = rgb_to_lab(torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255)[0].numpy()
    random_lab = np.stack([rng.uniform(0, 100, (64, 64)), *rng.uniform(-110, 110, (2, 64, 64))]).astype(np.float32)
    for case in (lab, random_lab):  # a photo (which must come back as itself) and colors far outside sRGB
        ours = lab_to_rgb8(case[0], case[1:])
        exact = lab_to_rgb(torch.tensor(case)[None])[0].permute(1, 2, 0).numpy() * 255
        assert ours.dtype == np.uint8 and ours.shape == (*case.shape[1:], 3)
        assert np.abs(ours.astype(float) - exact).max() <= 1.0
    assert np.abs(lab_to_rgb8(lab[0], lab[1:]).astype(int) - photo).max() <= 1


def test_png_outputs_are_lossless_and_readable_by_pillow(tmp_path):
    from PIL import Image

    photo = np.asarray(load_rgb(sorted(TRAIN_PHOTOS.rglob("*.jpg"))[0]))
    path = write_png(tmp_path / "out.png", photo)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        assert np.array_equal(np.asarray(im), photo)


def test_gamut_bins_are_grid_centers_inside_the_ab_range():
    bins = gamut_bins(10, levels=64)
    assert bins.shape[1] == 2
    assert np.all(bins % 10 == 0)
    assert 250 <= len(bins) <= 313
    # every bin is reached by some sRGB color: its center is close to an in-gamut ab
    assert np.abs(bins).max() <= 120


@pytest.fixture(scope="module")
def bins():
    rgb = real_batch(16)
    return learn_bins(ab_histogram(rgb_to_lab(rgb)[:, 1:]))


def test_learned_bins_are_the_occupied_grid_cells(bins):
    ab = rgb_to_lab(real_batch(16))[:, 1:].permute(0, 2, 3, 1).reshape(-1, 2).numpy()
    cells = np.unique(quantize_ab(np.round(ab)), axis=0)
    assert {tuple(c) for c in bins.centers.numpy()} == {tuple(c) for c in cells}
    assert bins.prior.sum().item() == pytest.approx(1.0, abs=1e-5)


def test_the_expected_weight_under_the_prior_is_one(bins):
    assert float((bins.prior * bins.weights).sum()) == pytest.approx(1.0, abs=1e-5)
    # rarer colors weigh more
    assert bins.weights[bins.prior.argmin()] > bins.weights[bins.prior.argmax()]


def test_rebalancing_weights_follow_equation_2():
    prior = np.array([0.7, 0.2, 0.1])
    w = rebalancing_weights(prior, prior, lam=0.5)
    expected = 1 / (0.5 * prior + 0.5 / 3)
    np.testing.assert_allclose(w / w[0], expected / expected[0])


def test_soft_encoding_matches_a_brute_force_nearest_neighbour_search(bins):
    ab = rgb_to_lab(real_batch(2, 32))[:, 1:]
    ab = ab.round()  # the table is exact on the integer lattice
    dense = bins.dense(ab).permute(0, 2, 3, 1).reshape(-1, bins.q).numpy()
    points = ab.permute(0, 2, 3, 1).reshape(-1, 2).numpy()
    d = cdist(points, bins.centers.numpy())
    order = np.argsort(d, axis=1)
    nearest = order[:, :5]
    # On the grid, the 5th and 6th nearest centers are often equally far: either is right.
    sorted_d = np.take_along_axis(d, order, 1)
    unique = ~np.isclose(sorted_d[:, 4], sorted_d[:, 5])
    assert unique.mean() > 0.3
    expected = np.zeros_like(dense)
    for i, idx in enumerate(nearest):
        w = np.exp(-d[i, idx] ** 2 / (2 * 5.0**2))
        expected[i, idx] = w / w.sum()
    np.testing.assert_allclose(dense[unique], expected[unique], atol=1e-5)
    np.testing.assert_allclose(dense.sum(1), 1.0, atol=1e-5)
