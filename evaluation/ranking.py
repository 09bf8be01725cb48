"""More than two systems: every pair with Holm's correction, and Bradley-Terry strengths."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

from .votes import regular


def holm(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values (statsmodels ``multipletests(method="holm")``)."""
    if not pvalues:
        return []
    return [float(p) for p in multipletests(pvalues, method="holm")[1]]


@dataclass(frozen=True)
class BradleyTerryResult:
    """Bradley-Terry log-strengths, the first system (alphabetical) fixed at 0.

    ``intervals`` are percentile intervals from a bootstrap that resamples participants (whole
    vote lists), not single votes, so that clustering within participants widens them.
    """

    systems: tuple[str, ...]
    strengths: np.ndarray
    intervals: np.ndarray  # (S, 2)
    n_boot: int

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"system": self.systems, "strength": self.strengths, "ci_low": self.intervals[:, 0], "ci_high": self.intervals[:, 1]}
        ).sort_values("strength", ascending=False, ignore_index=True)


def _fit_strengths(votes: pd.DataFrame, systems: list[str]) -> np.ndarray:
    """Maximum-likelihood log-strengths by logistic regression on system indicator differences."""
    index = {s: i for i, s in enumerate(systems)}
    left = votes["left_system"].map(index).to_numpy()
    right = votes["right_system"].map(index).to_numpy()
    x = np.zeros((len(votes), len(systems)))
    x[np.arange(len(votes)), left] += 1.0
    x[np.arange(len(votes)), right] -= 1.0
    y = (votes["chosen_system"] == votes["left_system"]).to_numpy(dtype=float)
    # The first system is the reference; a tiny ridge keeps a system that always wins finite.
    fit = sm.GLM(y, x[:, 1:], family=sm.families.Binomial()).fit_regularized(alpha=1e-4, L1_wt=0.0)
    return np.concatenate([[0.0], np.asarray(fit.params)])


def bradley_terry(df: pd.DataFrame, n_boot: int = 200, confidence_level: float = 0.95, seed: int = 0) -> BradleyTerryResult:
    """Bradley-Terry strengths of every compared system with a participant bootstrap."""
    votes = regular(df)
    systems = sorted(set(votes["left_system"]) | set(votes["right_system"]))
    strengths = _fit_strengths(votes, systems)
    rng = np.random.default_rng(seed)
    groups = [g for _, g in votes.groupby("participant")]
    boots = np.empty((n_boot, len(systems)))
    for i in range(n_boot):
        picks = rng.integers(0, len(groups), len(groups))
        sample = pd.concat([groups[j] for j in picks], ignore_index=True)
        present = set(sample["left_system"]) | set(sample["right_system"])
        boots[i] = _fit_strengths(sample, systems) if present == set(systems) else np.nan
    tail = (1 - confidence_level) / 2 * 100
    intervals = np.nanpercentile(boots, [tail, 100 - tail], axis=0).T
    return BradleyTerryResult(tuple(systems), strengths, intervals, n_boot)
