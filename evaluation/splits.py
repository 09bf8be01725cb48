"""The main result split by how the images were seen: device class and the display's colour gamut.

A look at whether the preference holds on every kind of screen, not a test: the intervals are
exact (Clopper-Pearson) over votes, and a participant's votes are alike, so they are narrower
than a participant-clustered interval would be.
"""
from __future__ import annotations

import pandas as pd
from scipy.stats import binomtest

from .votes import votes_by_pair

SPLITS = {"device_class": "Device", "color_gamut": "Colour gamut"}
UNKNOWN = "not reported"


def preference_by(df: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame | None:
    """For each pair of systems and each group of :data:`SPLITS` present in the votes: participants,
    votes, the share for the pair's first system and its exact 95% interval. None without those columns.

    Examples
    --------
    >>> votes = pd.DataFrame({"participant": ["p1"] * 4 + ["p2"] * 4, "left_system": "a", "right_system": "b",
    ...                       "chosen_system": ["a", "a", "a", "b", "a", "b", "b", "b"], "is_catch": False,
    ...                       "device_class": ["desktop"] * 4 + ["phone"] * 4})
    >>> preference_by(votes, [("a", "b")])[["group", "votes", "share"]]
         group  votes  share
    0  desktop      4   0.75
    1    phone      4   0.25
    """
    columns = [c for c in SPLITS if c in df]
    if not columns:
        return None
    by_pair = votes_by_pair(df)
    rows = []
    for a, b in pairs:
        pair = by_pair.get((min(a, b), max(a, b)))
        if pair is None:
            continue
        for column in columns:
            groups = pair[column].astype("string").fillna("").replace("", UNKNOWN)
            for group, sub in pair.groupby(groups, sort=True):
                k, n = int((sub["chosen_system"] == a).sum()), len(sub)
                ci = binomtest(k, n).proportion_ci(method="exact")
                rows.append({"split": SPLITS[column], "group": group, "system_a": a, "system_b": b,
                             "participants": int(sub["participant"].nunique()), "votes": n, "share": k / n,
                             "ci_low": ci.low, "ci_high": ci.high})
    return pd.DataFrame(rows) if rows else None
