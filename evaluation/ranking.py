"""More than two systems: Holm's correction over pairs, and Bradley-Terry strengths.

Bradley-Terry: system ``i`` is chosen over ``j`` with probability ``1 / (1 + exp(s_j - s_i))``.
The strengths are the maximum-likelihood fit on the pooled win counts (the votes enter only
through them), with mean 0 or a reference system at 0. The maximum exists only when every system
has beaten, and been beaten by, the others through some chain of wins (the win graph is strongly
connected); when it is not, for instance when a system wins every comparison, the fit says so and
adds a symmetric Gaussian prior on the strengths, N(0, 1 / PRIOR_PRECISION), which keeps them
finite without favouring any system. Intervals come from a bootstrap over participants.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.sparse.csgraph import connected_components
from scipy.special import expit, log_expit
from statsmodels.stats.multitest import multipletests

from .matrices import ComparisonCounts

PRIOR_PRECISION = 0.1  # the prior's sd is about 3.2 in log-odds: an unbeaten system stays within reach


def holm(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values (statsmodels ``multipletests(method="holm")``)."""
    if not pvalues:
        return []
    return [float(p) for p in multipletests(pvalues, method="holm")[1]]


@dataclass(frozen=True)
class BradleyTerryResult:
    """Bradley-Terry log-strengths, mean 0 (or ``reference`` at 0), with participant-bootstrap intervals."""

    systems: tuple[str, ...]
    strengths: np.ndarray
    intervals: np.ndarray  # (S, 2)
    n_boot: int
    reference: str | None = None
    prior: bool = False  # whether the maximum did not exist and the prior was added
    notes: tuple[str, ...] = field(default_factory=tuple)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"system": self.systems, "strength": self.strengths, "ci_low": self.intervals[:, 0], "ci_high": self.intervals[:, 1]}
        ).sort_values("strength", ascending=False, ignore_index=True)


def maximum_exists(wins: np.ndarray) -> bool:
    """Whether the Bradley-Terry likelihood has a finite maximum: the win graph is strongly connected."""
    n_parts, _ = connected_components(np.asarray(wins) > 0, directed=True, connection="strong")
    return n_parts == 1


def fit_strengths(wins: np.ndarray, precision: float = 0.0, start: np.ndarray | None = None) -> np.ndarray:
    """Maximum-likelihood (or, with ``precision`` > 0, maximum a-posteriori) log-strengths, mean 0.

    ``wins[i, j]`` is the number of times ``i`` was chosen over ``j``. Newton's method with the exact
    Hessian on the concave log-likelihood (scipy's trust-region solver where it does not converge).

    Examples
    --------
    >>> s = fit_strengths(np.array([[0, 3], [1, 0]]))
    >>> round(float(s[0] - s[1]), 4) == round(float(np.log(3)), 4)
    True
    """
    w = np.asarray(wins, dtype=float)
    n = w + w.T
    size = len(w)

    def objective(s):
        diff = s[:, None] - s[None, :]
        value = -(w * log_expit(diff)).sum() + 0.5 * precision * s @ s + 0.5 * s.sum() ** 2
        grad = -(w - n * expit(diff)).sum(axis=1) + precision * s + s.sum()
        return value, grad

    def hessian(s):
        p = expit(s[:, None] - s[None, :])
        c = n * p * (1 - p)
        return np.diag(c.sum(axis=1)) - c + precision * np.eye(size) + 1.0  # + 1: the mean-0 gauge term

    s = np.zeros(size) if start is None else np.asarray(start, dtype=float).copy()
    value, grad = objective(s)
    for _ in range(100):  # Newton with step halving: the objective is convex
        if np.abs(grad).max() < 1e-9 * max(1.0, n.sum()):
            break
        step = np.linalg.solve(hessian(s), grad)
        t = 1.0
        while (trial := objective(s - t * step))[0] > value and t > 1e-10:
            t *= 0.5
        s, (value, grad) = s - t * step, trial
    else:
        res = optimize.minimize(objective, s, jac=True, hess=hessian, method="trust-exact")
        s = res.x
    return s - s.mean()


def bradley_terry(
    counts: ComparisonCounts, n_boot: int = 500, confidence_level: float = 0.95, seed: int = 0,
    reference: str | None = None,
) -> BradleyTerryResult:
    """Bradley-Terry strengths of every compared system with a participant bootstrap."""
    systems = counts.systems
    if reference is not None and reference not in systems:
        raise ValueError(f"reference {reference!r} is not a compared system; the systems are {list(systems)}")
    total = counts.total
    notes = []
    exists = maximum_exists(total)
    if not exists:
        unbeaten = [s for s, row in zip(systems, total, strict=True) if total[:, systems.index(s)].sum() == 0 and row.sum()]
        never = [s for s, row in zip(systems, total, strict=True) if row.sum() == 0]
        detail = "; ".join(
            part for part in (
                f"{', '.join(unbeaten)} won every comparison" if unbeaten else "",
                f"{', '.join(never)} lost every comparison" if never else "",
            ) if part
        ) or "the wins do not link every system to every other"
        notes.append(f"no finite maximum-likelihood fit ({detail}): a symmetric Gaussian prior with "
                     f"precision {PRIOR_PRECISION} on the log-strengths keeps them finite")
    precision = 0.0 if exists else PRIOR_PRECISION
    strengths = fit_strengths(total, precision)
    anchor = systems.index(reference) if reference is not None else None

    def anchored(s):
        return s - s[anchor] if anchor is not None else s

    n_participants = len(counts.participants)
    intervals = np.column_stack([anchored(strengths)] * 2)
    if n_boot and n_participants >= 2:
        def refit(sample):
            if ((sample + sample.T).sum(axis=1) == 0).any():
                return None  # a system missing from this resample has no strength in it
            return anchored(fit_strengths(sample, 0.0 if maximum_exists(sample) else PRIOR_PRECISION, strengths))

        boots = counts.bootstrap(refit, n_boot, seed)
        tail = (1 - confidence_level) / 2 * 100
        intervals = np.nanpercentile(boots, [tail, 100 - tail], axis=0).T
    elif n_boot:
        notes.append("one participant: no bootstrap interval")
    return BradleyTerryResult(systems, anchored(strengths), intervals, n_boot if n_participants >= 2 else 0, reference,
                              not exists, tuple(notes))
