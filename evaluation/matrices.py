"""Votes aggregated into comparison matrices, the input of every scaling model.

``D[i, j]`` is the number of times system ``i`` was chosen over system ``j`` (pwcmp's convention).
Scaling models (Bradley-Terry, Thurstone/JOD) depend on the votes only through these counts, so
they are fitted on an S x S matrix instead of one row per vote, and a participant bootstrap sums
resampled per-participant matrices instead of concatenating vote tables.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .votes import regular


@dataclass(frozen=True)
class ComparisonCounts:
    """Per-participant comparison matrices of regular votes.

    Attributes
    ----------
    systems : tuple of str
        The systems, in the order of the matrices' rows and columns.
    participants : tuple of str
        The participants, in the order of ``per_participant``.
    per_participant : ndarray, shape (P, S, S)
        ``per_participant[p, i, j]``: times participant ``p`` chose ``i`` over ``j``.
    """

    systems: tuple[str, ...]
    participants: tuple[str, ...]
    per_participant: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """The pooled matrix, shape (S, S)."""
        return self.per_participant.sum(axis=0)

    def resampled(self, weights: np.ndarray) -> np.ndarray:
        """The pooled matrix of a bootstrap sample: ``weights[p]`` copies of participant ``p``."""
        return np.tensordot(weights, self.per_participant, axes=1)

    def without(self, index: int) -> np.ndarray:
        """The pooled matrix of every participant but one."""
        return self.total - self.per_participant[index]


def comparison_counts(df: pd.DataFrame, systems: list[str] | None = None, by: str = "participant") -> ComparisonCounts:
    """Count the regular votes of ``df`` into one S x S matrix per value of column ``by``.

    ``systems`` fixes the order of rows and columns (default: sorted names of the compared systems).

    Examples
    --------
    >>> votes = pd.DataFrame({"participant": ["p1", "p1", "p2"], "left_system": ["a", "b", "a"],
    ...                       "right_system": ["b", "a", "b"], "chosen_system": ["a", "a", "b"],
    ...                       "is_catch": False})
    >>> counts = comparison_counts(votes)
    >>> counts.total.tolist()
    [[0, 2], [1, 0]]
    """
    votes = regular(df)
    if systems is None:
        systems = sorted(set(votes["left_system"]) | set(votes["right_system"]))
    index = {s: i for i, s in enumerate(systems)}
    groups, group_codes = np.unique(votes[by].astype(str).to_numpy(), return_inverse=True)
    chosen = votes["chosen_system"].to_numpy()
    left, right = votes["left_system"].to_numpy(), votes["right_system"].to_numpy()
    loser = np.where(chosen == left, right, left)
    winner_codes = pd.Series(chosen).map(index).to_numpy()
    loser_codes = pd.Series(loser).map(index).to_numpy()
    if np.isnan(winner_codes.astype(float)).any() or np.isnan(loser_codes.astype(float)).any():
        raise ValueError(f"votes name systems outside {list(systems)}")
    s = len(systems)
    flat = (group_codes * s + winner_codes.astype(np.int64)) * s + loser_codes.astype(np.int64)
    per = np.bincount(flat, minlength=len(groups) * s * s).reshape(len(groups), s, s)
    return ComparisonCounts(tuple(systems), tuple(str(g) for g in groups), per)
