"""Synthetic studies with a known truth, for the tests and benchmarks: vote tables of many systems,
and system folders made from the shipped photos."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageEnhance
from scipy.special import ndtr

TEST_PHOTOS = Path(__file__).resolve().parent.parent / "fixtures" / "lfw-test-sample"

SIGMA = 1.4826  # 1 JOD = 75% preference


def multi_method_votes(
    n_systems: int = 37, n_pairs: int = 108, n_participants: int = 29, n_images: int = 14, n_votes: int = 26_580,
    participant_sd: float = 0.3, image_sd: float = 0.3, seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """A study shaped like the field's large ones: Thurstone observers with their own and each image's deviations.

    The compared pairs are a chain through all systems (so the design is connected) plus random
    others; systems are named so that alphabetical order says nothing of their quality. Returns the
    votes and each system's true JOD score.
    """
    rng = np.random.default_rng(seed)
    names = [f"m{k:02d}" for k in rng.permutation(n_systems)]
    truth = rng.normal(0, 1.2, n_systems)
    chain = list(zip(range(n_systems - 1), range(1, n_systems), strict=True))
    others = [(i, j) for i in range(n_systems) for j in range(i + 2, n_systems)]
    picks = rng.choice(len(others), n_pairs - len(chain), replace=False)
    pairs = np.array(chain + [others[k] for k in picks])
    pair = rng.integers(0, len(pairs), n_votes)
    participant = rng.integers(0, n_participants, n_votes)
    image = rng.integers(0, n_images, n_votes)
    own = rng.normal(0, participant_sd, (n_participants, n_systems))
    scene = rng.normal(0, image_sd, (n_images, n_systems))
    first, second = pairs[pair, 0], pairs[pair, 1]
    distance = (truth[first] - truth[second] + own[participant, first] - own[participant, second]
                + scene[image, first] - scene[image, second])
    first_chosen = rng.random(n_votes) < ndtr(distance / SIGMA)
    swap = rng.random(n_votes) < 0.5  # which of the two is shown on the left
    a, b = np.array(names)[first], np.array(names)[second]
    left, right = np.where(swap, b, a), np.where(swap, a, b)
    votes = pd.DataFrame({
        "participant": [f"P{p:02d}" for p in participant],
        "image": [f"img{i:02d}" for i in image],
        "left_system": left, "right_system": right,
        "chosen_system": np.where(first_chosen, a, b),
        "is_catch": False,
    })
    return votes, dict(zip(names, truth - truth.mean(), strict=True))


def make_system_folders(root: Path, n_images: int | None = None, source: Path = TEST_PHOTOS) -> dict[str, Path]:
    """Two real 'systems' from real photos: one muted, one oversaturated, same relative names."""
    photos = sorted(source.rglob("*.jpg"))[:n_images]
    folders = {"muted": root / "muted", "vivid": root / "vivid", "truth": root / "truth"}
    for photo in photos:
        rel = photo.relative_to(source).with_suffix(".png")
        im = Image.open(photo).convert("RGB")
        for name, factor in (("muted", 0.4), ("vivid", 1.8)):
            out = folders[name] / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            ImageEnhance.Color(im).enhance(factor).save(out)
        out = folders["truth"] / rel.with_suffix(".jpg")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, out)
    return folders
