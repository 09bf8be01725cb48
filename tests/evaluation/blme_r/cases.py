"""The pairs on which the mixed model is checked against blme: simulated pairs where people agree and
each image is seen once or twice (where maximum likelihood runs off), a seed-like pair, and a pair of
the real tone-mapping study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.votes import load_votes, pair_votes

from .. import pwcmp_octave
from ..pwcmp_octave.cases import TMO

assert pwcmp_octave  # the package of the tone-mapping study's path


def simulated(seed: int, participants: int, votes_each: int, images: int, logit: float, taste_sd: float,
              image_sd: float) -> pd.DataFrame:
    """One pair's votes (pair_votes' columns): each participant sees distinct images, sides at random."""
    rng = np.random.default_rng(seed)
    taste, effect = rng.normal(0, taste_sd, participants), rng.normal(0, image_sd, images)
    rows = []
    for p in range(participants):
        for i in rng.choice(images, votes_each, replace=False):
            a_left = rng.random() < 0.5
            chose_a = rng.random() < 1 / (1 + np.exp(-(logit + taste[p] + effect[i])))
            left, right = ("a", "b") if a_left else ("b", "a")
            rows.append((f"p{p}", f"img{i}", left, right, "a" if chose_a else "b"))
    votes = pd.DataFrame(rows, columns=["participant", "image", "left_system", "right_system", "chosen_system"])
    return pair_votes(load_votes(votes), "a", "b")


def pairs() -> dict[str, pd.DataFrame]:
    """Name -> one pair's votes (columns participant, image, chose_a, a_left)."""
    tmo = pair_votes(load_votes(TMO), "hateren06", "irawan05")
    return {
        # 14 participants x 3 votes on 32 images, about 83% for a: maximum likelihood runs to a bound
        "lopsided-1": simulated(1, 14, 3, 32, 2.0, 1.0, 1.5),
        "lopsided-2": simulated(2, 14, 3, 32, 2.0, 1.0, 1.5),
        # 93% for a, 13 of 14 participants: the intercept's likelihood is flat without a prior
        "quasi-separated": simulated(6, 14, 3, 32, 2.0, 1.0, 1.5),
        "seed-like": simulated(7, 6, 50, 50, 0.3, 0.5, 0.5),
        "tone-mapping hateren06 vs irawan05": tmo,
    }
