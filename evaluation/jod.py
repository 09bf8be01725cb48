"""JOD scaling of pairwise comparisons, compatible with pwcmp (Perez-Ortiz & Mantiuk 2017).

Thurstone Case V by maximum likelihood: system ``i`` is chosen over ``j`` with probability
``Phi((q_i - q_j) / 1.4826)``, so that a difference of 1 JOD (just-objectionable difference) means
75% of choices. As in pwcmp's ``pw_scale``:

- the scores have mean 0, or a named reference system is fixed at 0;
- the optional Gaussian distance prior (pwcmp's default) adds, for every compared pair, the log of
  0.1 plus the normalised probability of its distance given all the observed pairs, which keeps
  unanimous pairs (seen with their counts shifted by one vote towards the middle) at a finite
  distance;
- disconnected parts of the comparison graph are joined by one tie between their best systems;
- confidence intervals are percentiles of a bootstrap over participants;
- observer screening is pwcmp's outlier analysis: each participant's log10-likelihood per compared
  pair under the scaling of everybody else, and its distance below the lower quartile in units of
  the inter-quartile range (values above 1.5 deserve a look).

The counts enter in logs (pwcmp multiplies probabilities, which underflows beyond about a thousand
votes per pair); everything else follows pwcmp, and the test suite checks the scores against
pwcmp itself run in Octave.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.sparse.csgraph import connected_components
from scipy.special import log_ndtr, ndtr
from scipy.stats import binom

from .matrices import ComparisonCounts, winners_and_losers

logger = logging.getLogger(__name__)

SIGMA = 1.4826  # the normal's sd for which Phi(1 / SIGMA) = 0.75: 1 JOD = 75% preference
PRIORS = ("gaussian", "none")
RESAMPLE_TOL = 1e-5  # bootstrap and leave-one-out fits: scores to 1e-5 JOD are far inside their spread
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


@dataclass(frozen=True)
class JODResult:
    """JOD scores of the systems, in the style of scipy.stats results.

    Attributes
    ----------
    statistic : ndarray
        The JOD score of each of ``systems`` (mean 0, or ``reference`` at 0).
    ci_low, ci_high : ndarray
        Percentile bootstrap interval over participants (equal to ``statistic`` without a bootstrap).
    notes : tuple of str
        What the scaling had to assume: unanimous pairs, disconnected comparison graphs.
    """

    systems: tuple[str, ...]
    statistic: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n_boot: int
    prior: str
    reference: str | None = None
    group: str = "all"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def table(self) -> pd.DataFrame:
        """One row per system, best first: ``system, jod, ci_low, ci_high``."""
        return pd.DataFrame(
            {"system": self.systems, "jod": self.statistic, "ci_low": self.ci_low, "ci_high": self.ci_high}
        ).sort_values("jod", ascending=False, ignore_index=True)


class _Problem:
    """pwcmp's objective on one comparison matrix: negative log-likelihood, prior and mean penalty.

    pwcmp sums over ordered pairs, so each compared pair enters twice, once from each side; here
    each pair is kept once (``rows < cols``) with its terms doubled, which halves the prior's
    pairs-by-pairs matrices without changing the objective.
    """

    def __init__(self, counts: np.ndarray, prior: str) -> None:
        d = np.asarray(counts, dtype=float)
        self.n_systems = len(d)
        both = d + d.T
        unanimous = (both > 0) & ((d == 0) | (d.T == 0))
        rows, cols = np.nonzero(np.triu(both > 0, 1))  # every compared pair, once
        self.rows, self.cols = rows, cols
        self.won, self.lost = d[rows, cols], d.T[rows, cols]
        self.prior = prior
        # The prior sees unanimous pairs moved one vote towards the middle (pwcmp's D_wUA).
        shifted = d.copy()
        shifted[unanimous & (d == 0)] = 1
        shifted[unanimous & (d != 0)] -= 1
        self.k, self.n = shifted[rows, cols], both[rows, cols]
        size = self.n_systems
        # Flat positions of (row, col), (col, row), (row, row), (col, col) in the Hessian, for bincount.
        self._hess_index = np.concatenate([rows * size + cols, cols * size + rows, rows * size + rows, cols * size + cols])
        self._pinned = np.full((size, size), 1.0 / size) + 1e-9 * np.eye(size)
        self._last = None

    def __call__(self, q: np.ndarray) -> tuple[float, np.ndarray]:
        z = (q[self.rows] - q[self.cols]) / SIGMA
        log_p, log_q = log_ndtr(z), log_ndtr(-z)
        log_pdf = -0.5 * z * z - _LOG_SQRT_2PI
        lam_p, lam_q = np.exp(log_pdf - log_p), np.exp(log_pdf - log_q)  # phi / Phi and phi / (1 - Phi)
        self._last = (q, z, lam_p, lam_q)
        dp = lam_p / SIGMA  # d log P / d distance
        dq = lam_q / SIGMA  # -d log (1 - P) / d distance
        value = -2 * (self.won @ log_p + self.lost @ log_q)
        grad_d = -2 * (self.won * dp - self.lost * dq)
        if self.prior == "gaussian":
            # pwcmp's aux over ordered pairs: the probability of pair j's counts at pair m's distance,
            # normalised over m. Pair m seen from its other side has the distance -d: rows b.
            k, rest = self.k, self.n - self.k
            a = np.outer(log_p, k) + np.outer(log_q, rest)
            b = np.outer(log_q, k) + np.outer(log_p, rest)
            top = np.maximum(a.max(axis=0), b.max(axis=0))
            wa, wb = np.exp(a - top), np.exp(b - top)
            total = wa.sum(axis=0) + wb.sum(axis=0)
            wa /= total
            wb /= total
            prior = wa.sum(axis=1) + wb.sum(axis=1)  # the same for both sides of a pair
            value -= 2 * np.log(prior + 0.1).sum()
            r = 1.0 / (prior + 0.1)
            spread = r[:, None] - (r @ wa + r @ wb)[None, :]
            # d a[m, j] / d distance m = dp[m] k[j] - dq[m] rest[j], and for b with k and rest swapped
            ua, ub = wa * spread, wb * spread
            grad_d -= 2 * (dp * (ua @ k + ub @ rest) - dq * (ua @ rest + ub @ k))
        grad = np.bincount(self.rows, grad_d, self.n_systems) - np.bincount(self.cols, grad_d, self.n_systems)
        mean = q.sum() / self.n_systems  # pwcmp's 'mean0' term: fixes the free shift of the scale
        return value + 0.01 * mean**2, grad + 0.02 * mean / self.n_systems

    def curvature(self, q: np.ndarray) -> np.ndarray:
        """The likelihood's exact Hessian (positive semi-definite), with the mean pinned: Newton's metric."""
        if self._last is None or self._last[0] is not q:
            self(q)
        _, z, lam_p, lam_q = self._last
        h = 2 * (self.won * lam_p * (z + lam_p) + self.lost * lam_q * (lam_q - z)) / SIGMA**2
        n = self.n_systems
        # A pair's distance moves both of its systems: -h off the diagonal, +h on it.
        hess = np.bincount(self._hess_index, np.concatenate([-h, -h, h, h]), n * n).reshape(n, n)
        return hess + self._pinned

    def newton(self, q: np.ndarray, tol: float = 1e-6, step_tol: float = 1e-7, max_iter: int = 50) -> tuple[np.ndarray, bool]:
        """Newton steps in the likelihood's metric with a backtracking line search on the whole objective."""
        value, grad = self(q)
        for _ in range(max_iter):
            if np.abs(grad).max() < tol:
                return q, True
            step = -np.linalg.solve(self.curvature(q), grad)
            if np.abs(step).max() < step_tol:  # the scores move less than this: converged
                return q, True
            slope = grad @ step
            t = 1.0
            while True:
                trial = q + t * step
                new_value, new_grad = self(trial)
                if new_value <= value + 1e-4 * t * slope or t < 1e-8:
                    break
                t *= 0.5
            if t < 1e-8:  # no more progress in float64: converged if the gradient is small
                return q, np.abs(grad).max() < 100 * tol
            q, value, grad = trial, new_value, new_grad
        return q, np.abs(grad).max() < tol


@lru_cache(maxsize=256)
def _components(pattern: bytes, size: int) -> tuple[int, np.ndarray]:
    # Bootstrap resamples mostly share one pattern of compared pairs: label its parts once.
    graph = np.unpackbits(np.frombuffer(pattern, dtype=np.uint8), count=size * size).reshape(size, size)
    return connected_components(graph, directed=False)


def _join_components(counts: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """pwcmp's patch for a disconnected comparison graph: tie the best system of each part to the others'."""
    d = np.asarray(counts, dtype=float).copy()
    n_parts, labels = _components(np.packbits((d + d.T) > 0).tobytes(), len(d))
    if n_parts == 1:
        return d, []
    both = d + d.T
    share = np.divide(d, both, out=np.full_like(d, 0.5), where=both > 0)
    initial = (-(12 / np.pi * np.arcsin(np.sqrt(share)) - 3) / 2).sum(axis=0)  # ISO 20462, as pwcmp
    # pwcmp numbers the parts in order of their first system.
    order = list(dict.fromkeys(labels))
    best = [int(np.flatnonzero(labels == part)[np.argmax(initial[labels == part])]) for part in order]
    for i, a in enumerate(best):
        for b in best[i + 1:]:
            d[a, b] = d[b, a] = 1
    return d, [f"the comparison graph has {n_parts} disconnected parts: their scores are tied at their best systems"]


def scale_matrix(
    counts: np.ndarray, prior: str = "gaussian", start: np.ndarray | None = None, step_tol: float = 1e-7,
) -> tuple[np.ndarray, list[str]]:
    """JOD scores (mean 0) of one comparison matrix ``counts[i, j]`` = times i chosen over j.

    Returns the scores and the notes on what was assumed. ``start`` warm-starts the optimizer, which
    stops when a Newton step moves no score by more than ``step_tol``.

    Examples
    --------
    pwcmp's own example: 75 of 100 choices each way along a chain of three conditions.

    >>> q, notes = scale_matrix(np.array([[0, 25, 0], [75, 0, 25], [0, 75, 0]]))
    >>> (np.round(q, 3) + 0.0).tolist()
    [-1.0, 0.0, 1.0]
    """
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
    d = np.asarray(counts, dtype=float)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or (d < 0).any() or not np.isfinite(d).all():
        raise ValueError("a comparison matrix must be square, finite and non-negative")
    d, notes = _join_components(d)
    both = d + d.T
    unanimous = int(np.triu((both > 0) & ((d == 0) | (d.T == 0)), 1).sum())
    if unanimous:
        notes.append(
            f"{unanimous} compared pair(s) unanimous: "
            + ("the Gaussian prior keeps their distance finite" if prior == "gaussian"
               else "without a prior their distance is where the optimizer stopped")
        )
    problem = _Problem(d, prior)
    x0 = np.zeros(len(d)) if start is None else np.asarray(start, dtype=float)
    q, converged = problem.newton(x0, step_tol=step_tol)
    if not converged:  # where the prior's curvature dominates (unanimous pairs), quasi-Newton finishes
        res = optimize.minimize(problem, q, jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 2000})
        q = res.x
        if not res.success and np.abs(res.jac).max() > 1e-4 and not (unanimous and prior == "none"):
            logger.warning("JOD scaling: the optimizer stopped early (%s)", res.message)
    return q - q.mean(), notes


def jod_scale(
    counts: ComparisonCounts,
    prior: str = "gaussian",
    reference: str | None = None,
    n_boot: int = 500,
    confidence_level: float = 0.95,
    seed: int = 0,
    group: str = "all",
) -> JODResult:
    """JOD scores with a participant bootstrap, as pwcmp's ``pw_scale_bootstrp``.

    ``reference`` names a system whose score is fixed at 0 (pwcmp's 'fix0' with that system
    first); the others are then read as distances from it, and their intervals too.
    """
    systems = counts.systems
    if reference is not None and reference not in systems:
        raise ValueError(f"reference {reference!r} is not a compared system; the systems are {list(systems)}")
    if n_boot < 0:
        raise ValueError(f"bootstrap resamples must be 0 or more, got {n_boot}")
    q, notes = scale_matrix(counts.total, prior)
    shift = systems.index(reference) if reference is not None else None

    def anchored(x: np.ndarray) -> np.ndarray:
        return x - x[shift] if shift is not None else x

    low = high = anchored(q)
    n_participants = len(counts.participants)
    if n_boot and n_participants >= 2:
        boots = counts.bootstrap(
            lambda sample: anchored(scale_matrix(sample, prior, start=q, step_tol=RESAMPLE_TOL)[0]), n_boot, seed)
        tail = (1 - confidence_level) / 2 * 100
        low, high = np.percentile(boots, [tail, 100 - tail], axis=0, method="hazen")
    elif n_boot:
        notes.append("one participant: no bootstrap interval")
    return JODResult(systems, anchored(q), low, high, n_boot if n_participants >= 2 else 0, prior, reference, group,
                     tuple(notes))


@dataclass(frozen=True)
class ObserverScreening:
    """pwcmp's outlier analysis: ``loglik`` (log10 per compared pair) and ``distance`` per participant.

    ``leave_one_out`` is False when the study was too large to refit the scale without each
    participant in each group, and everybody was measured against the scale of all participants.
    """

    participants: tuple[str, ...]
    loglik: np.ndarray
    distance: np.ndarray
    threshold: float = 1.5
    leave_one_out: bool = True

    def table(self) -> pd.DataFrame:
        """One row per participant, least typical first, with ``flagged`` above the threshold."""
        return pd.DataFrame(
            {"participant": self.participants, "loglik": self.loglik, "distance": self.distance,
             "flagged": self.distance > self.threshold}
        ).sort_values(["distance", "participant"], ascending=[False, True], ignore_index=True)

    @property
    def flagged(self) -> list[str]:
        return [p for p, d in zip(self.participants, self.distance, strict=True) if d > self.threshold]


MAX_REFITS = 2000  # leave-one-out scalings (participants x groups) beyond which the full scale is used
MIN_SCREENED = 4  # quartiles of fewer participants say nothing: below this no screening is made


def observer_screening(
    votes: pd.DataFrame, systems: list[str] | tuple[str, ...], by: str = "image", prior: str = "gaussian",
    threshold: float = 1.5, max_refits: int = MAX_REFITS,
) -> ObserverScreening:
    """Each participant's fit to the others' scaling, summed over the groups of column ``by`` (images).

    As pwcmp's ``pw_outlier_analysis``: in each group, the JOD scale of everybody else; the log10
    binomial probability of the participant's counts on each pair they compared under that scale
    (at least -200); the sum over groups divided by the number of such pairs. A participant far
    below the lower quartile, in units of the inter-quartile range, answers unlike the others. With
    more than ``max_refits`` participant-group cells one participant barely moves a scale, and the
    scale of all participants stands in for the leave-one-out one.
    """
    reg = votes[~votes["is_catch"]] if "is_catch" in votes else votes
    size = len(systems)
    part, names = pd.factorize(reg["participant"], sort=True)
    group, groups = pd.factorize(reg[by], sort=True)
    winner, loser = winners_and_losers(reg, systems)
    first, second = np.minimum(winner, loser), np.maximum(winner, loser)
    n_groups = len(groups)
    totals = np.bincount((group * size + winner) * size + loser, minlength=n_groups * size * size).reshape(
        n_groups, size, size)
    # One row per participant, group and pair: k wins of the pair's first system in n trials.
    key = ((part.astype(np.int64) * n_groups + group) * size + first) * size + second
    cells, inverse = np.unique(key, return_inverse=True)
    n = np.bincount(inverse)
    k = np.bincount(inverse, winner == first)
    who, rest = np.divmod(cells, n_groups * size * size)
    where, rest = np.divmod(rest, size * size)
    i, j = np.divmod(rest, size)
    full = np.array([scale_matrix(totals[g], prior)[0] for g in range(n_groups)])  # (groups, systems)
    distance_of = full[where, i] - full[where, j]
    # The cells are sorted by participant, then group: each run of one (participant, group) is a refit.
    cell_group = who * n_groups + where
    starts = np.flatnonzero(np.diff(cell_group, prepend=-1))
    leave_one_out = len(starts) <= max_refits
    if leave_one_out:
        for lo, hi in zip(starts, list(starts[1:]) + [len(cells)], strict=True):
            g = int(where[lo])
            own = np.zeros((size, size))
            own[i[lo:hi], j[lo:hi]] = k[lo:hi]
            own[j[lo:hi], i[lo:hi]] = n[lo:hi] - k[lo:hi]
            q, _ = scale_matrix(totals[g] - own, prior, start=full[g], step_tol=RESAMPLE_TOL)
            distance_of[lo:hi] = q[i[lo:hi]] - q[j[lo:hi]]
    log10 = np.maximum(binom.logpmf(k, n, ndtr(distance_of / SIGMA)) / np.log(10), -200)
    loglik = np.bincount(who, log10, len(names)) / np.maximum(np.bincount(who, minlength=len(names)), 1)
    q1, q3 = np.percentile(loglik, [25, 75], method="hazen")
    iqr = q3 - q1
    distance = np.where(loglik < q1, (q1 - loglik) / iqr if iqr > 0 else np.inf, 0.0)
    return ObserverScreening(tuple(str(x) for x in names), loglik, distance, threshold, leave_one_out)
