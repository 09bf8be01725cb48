"""Each participant's data quality: what a researcher checks before approving a panel submission."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .jod import MIN_SCREENED, observer_screening
from .preference import catch_table, one_sided_participants
from .votes import load_votes, system_pairs

COLUMNS = [
    "participant", "external_id", "votes", "finished", "catch_correct", "catch_trials", "fails_catch",
    "left_share", "one_sided", "outlier_distance", "outlier", "median_ms", "under_300ms",
]


def participant_review(votes: pd.DataFrame | str | Path, max_fail_rate: float = 0.5, alpha: float = 0.05) -> pd.DataFrame:
    """One row per participant who voted, with the checks that may justify a rejection.

    ``fails_catch``: more than ``max_fail_rate`` of the catch trials failed (the report's exclusion
    rule). ``one_sided``: one side chosen beyond chance
    (:func:`~evaluation.preference.one_sided_participants`, Holm-adjusted at ``alpha``).
    ``outlier_distance``: pwcmp's observer screening (:func:`~evaluation.jod.observer_screening`,
    per image; NaN below 4 participants); ``outlier`` above 1.5, an answer pattern unlike the
    others'. ``under_300ms``: regular votes faster than a look at two images allows. Sorted with
    the participants who fail a check first.

    Examples
    --------
    >>> votes = pd.DataFrame({"participant": ["p1"] * 12 + ["p2"] * 12, "left_system": "a",
    ...                       "right_system": "b", "chosen_system": ["a"] * 12 + ["a", "b"] * 6,
    ...                       "response_ms": [150] * 12 + [2000] * 12})
    >>> participant_review(votes)[["participant", "votes", "left_share", "one_sided", "under_300ms"]]
      participant  votes  left_share  one_sided  under_300ms
    0          p1     12         1.0       True           12
    1          p2     12         0.5      False            0
    """
    if not 0 <= max_fail_rate <= 1:
        raise ValueError(f"max_fail_rate must be in [0, 1], got {max_fail_rate}")
    df = load_votes(votes)
    df["participant"] = df["participant"].astype(str)
    reg = df[~df["is_catch"]]
    by = reg.groupby("participant")
    table = pd.DataFrame({"participant": sorted(df["participant"].unique())}).set_index("participant")
    table["external_id"] = df.groupby("participant")["external_id"].first() if "external_id" in df else ""
    table["external_id"] = table["external_id"].fillna("").astype(str)
    table["votes"] = by.size().reindex(table.index, fill_value=0).astype(int)
    table["finished"] = df.groupby("participant")["finished"].first().astype(bool) if "finished" in df else None
    catch = catch_table(df, max_fail_rate).set_index("participant")
    table["catch_correct"] = catch["catch_correct"].reindex(table.index, fill_value=0).astype(int)
    table["catch_trials"] = catch["catch_trials"].reindex(table.index, fill_value=0).astype(int)
    table["fails_catch"] = catch["excluded"].reindex(table.index, fill_value=False).astype(bool)
    sided = one_sided_participants(df, alpha).set_index("participant")
    table["left_share"] = (sided["left"] / sided["n"]).reindex(table.index).astype(float)
    table["one_sided"] = sided["flagged"].reindex(table.index, fill_value=False).astype(bool)
    table["outlier_distance"], table["outlier"] = np.nan, False
    if reg["participant"].nunique() >= MIN_SCREENED:
        screening = observer_screening(reg, sorted({x for pair in system_pairs(reg) for x in pair}))
        scores = pd.Series(screening.distance, index=list(screening.participants))
        table["outlier_distance"] = scores.reindex(table.index).astype(float)
        table["outlier"] = (scores > screening.threshold).reindex(table.index, fill_value=False).astype(bool)
    table["median_ms"] = by["response_ms"].median().reindex(table.index).astype(float)
    table["under_300ms"] = (reg["response_ms"] < 300).groupby(reg["participant"]).sum().reindex(
        table.index, fill_value=0).astype(int)
    table = table.reset_index()
    flagged = table["fails_catch"] | table["one_sided"] | table["outlier"]
    return table.assign(_order=~flagged).sort_values(["_order", "participant"]).drop(columns="_order")[COLUMNS].reset_index(drop=True)
