"""Votes aggregated into comparison matrices, the input of every scaling model.

``D[i, j]`` is the number of times system ``i`` was chosen over system ``j`` (pwcmp's convention).
Scaling models (Bradley-Terry, Thurstone/JOD) depend on the votes only through these counts, so
they are fitted on an S x S matrix instead of one row per vote, and a participant bootstrap sums
resampled per-participant matrices instead of concatenating vote tables.
"""
from __future__ import annotations

from collections.abc import Callable
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

    def bootstrap(self, fit: Callable[[np.ndarray], np.ndarray | None], n_boot: int, seed: int = 0) -> np.ndarray:
        """``fit`` of ``n_boot`` resamples of whole participants, shape (n_boot, S); NaN where ``fit`` gives None.

        Each resample draws as many participants as there are, with replacement, and pools their
        matrices: clustering within participants widens the spread, as it should.
        """
        if n_boot < 0:
            raise ValueError(f"bootstrap resamples must be 0 or more, got {n_boot}")
        rng = np.random.default_rng(seed)
        n = len(self.participants)
        draws = np.full((n_boot, len(self.systems)), np.nan)
        for b in range(n_boot):
            result = fit(self.resampled(np.bincount(rng.integers(0, n, n), minlength=n)))
            if result is not None:
                draws[b] = result
        return draws


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
    group_codes, groups = pd.factorize(votes[by], sort=True)
    winner_codes, loser_codes = winners_and_losers(votes, systems)
    s = len(systems)
    flat = (group_codes.astype(np.int64) * s + winner_codes) * s + loser_codes
    per = np.bincount(flat, minlength=len(groups) * s * s).reshape(len(groups), s, s)
    return ComparisonCounts(tuple(systems), tuple(str(g) for g in groups), per)


def winners_and_losers(votes: pd.DataFrame, systems: list[str] | tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each vote's chosen and rejected system as indices into ``systems``."""
    chosen, left, right = (_codes(votes[c], systems) for c in ("chosen_system", "left_system", "right_system"))
    loser = np.where(chosen == left, right, left)
    if (chosen < 0).any() or (loser < 0).any():
        raise ValueError(f"votes name systems outside {list(systems)}")
    return chosen, loser


def _codes(column: pd.Series, systems) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):  # as load_votes gives them: recode, no strings
        return column.cat.set_categories(list(systems)).cat.codes.to_numpy().astype(np.int64)
    return pd.Categorical(column.to_numpy(), categories=list(systems)).codes.astype(np.int64)
