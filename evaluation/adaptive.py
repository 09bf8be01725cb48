"""Adaptive pair scheduling between participants, after ASAP (Mikhailiuk, Wilmot, Perez-Ortiz, Yue
& Mantiuk, ICPR 2020): each newcomer's comparisons are the ones expected to teach the most about
the systems' scores, given every vote so far.

The scores live on pwcmp's JOD scale (Thurstone Case V, ``sigma = 1.4826``: 1 JOD is 75%
preference). Their posterior is the Laplace approximation of the probit likelihood of the votes
with a weak Gaussian prior on each score.

What a comparison of ``i`` and ``j`` is worth comes in two measures:
- ASAP's expected information gain (the mutual information between its outcome and the scores);
- the expected reduction of the scores' total posterior variance, the default, which measured
  better for the accuracy of the scores.

Both are large for close pairs whose order is uncertain, and small for pairs that are obvious or
already well measured. Batches follow ASAP's batch mode: the maximum spanning tree of the pairs'
worth, so that every batch compares every system with the others. Each pair taken is then
counted as answered in the covariance, by its expected Fisher information. The next tree goes
elsewhere, and a list of many trials holds several trees.

Examples
--------
>>> wins = np.zeros((4, 4)); wins[0, 1] = wins[1, 0] = 10; wins[2, 3] = 30  # 0 ~ 1, 2 >> 3
>>> gains = information_gains(posterior(wins))
>>> bool(gains[0, 1] < gains[0, 2])  # a pair already compared often teaches less than a new one
True
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats
from scipy.sparse.csgraph import minimum_spanning_tree

from .jod import SIGMA

PRIOR_SD = 2.0  # JOD: a weak prior on each score (pwcmp's scales of real studies span a few JOD)
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


@dataclass(frozen=True)
class Posterior:
    """Gaussian approximation of the scores (JOD) given the votes so far."""

    mean: np.ndarray  # (S,)
    cov: np.ndarray  # (S, S)


def posterior(wins: np.ndarray, prior_sd: float = PRIOR_SD, iterations: int = 50) -> Posterior:
    """Laplace approximation of Thurstone Case V on ``wins[i, j]`` (times ``i`` was chosen over ``j``),
    by Newton's method."""
    wins = np.asarray(wins, dtype=float)
    s = wins.shape[0]
    mean = np.zeros(s)
    for _ in range(iterations):
        d = (mean[:, None] - mean[None, :]) / SIGMA
        # d/d(mean) of sum w_ij log Phi(d_ij): the inverse Mills ratio, stable in both tails.
        ratio = np.exp(stats.norm.logpdf(d) - stats.norm.logcdf(d))
        g_pair = wins * ratio / SIGMA  # (S, S)
        grad = g_pair.sum(1) - g_pair.sum(0) - mean / prior_sd**2
        h_pair = wins * ratio * (d + ratio) / SIGMA**2  # minus the second derivative, per ordered pair
        h = h_pair + h_pair.T
        hessian = np.diag(h.sum(1)) - h + np.eye(s) / prior_sd**2  # the precision
        step = np.linalg.solve(hessian, grad)
        mean = mean + step
        if np.max(np.abs(step)) < 1e-9:
            break
    d = (mean[:, None] - mean[None, :]) / SIGMA
    ratio = np.exp(stats.norm.logpdf(d) - stats.norm.logcdf(d))
    h_pair = wins * ratio * (d + ratio) / SIGMA**2
    h = h_pair + h_pair.T
    precision = np.diag(h.sum(1)) - h + np.eye(s) / prior_sd**2
    return Posterior(mean, np.linalg.inv(precision))


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -(p * np.log(p) + (1 - p) * np.log1p(-p))


def information_gains(post: Posterior, cov: np.ndarray | None = None) -> np.ndarray:
    """(S, S) expected information (nats) of one more comparison of each pair: the entropy of its
    outcome minus the expected entropy given the scores (Gauss-Hermite over the score difference)."""
    cov = post.cov if cov is None else cov
    var = np.diag(cov)
    m = post.mean[:, None] - post.mean[None, :]
    v = np.maximum(var[:, None] + var[None, :] - 2 * cov, 1e-12)
    marginal = _entropy(stats.norm.cdf(m / np.sqrt(SIGMA**2 + v)))
    d = m[..., None] + np.sqrt(v)[..., None] * _NODES  # (S, S, nodes)
    conditional = (_entropy(stats.norm.cdf(d / SIGMA)) * _WEIGHTS).sum(-1)
    gains = np.maximum(marginal - conditional, 0.0)
    np.fill_diagonal(gains, 0.0)
    return gains


def _fisher(post: Posterior) -> np.ndarray:
    """(S, S) expected Fisher information of one comparison of each pair, at the current means."""
    z = (post.mean[:, None] - post.mean[None, :]) / SIGMA
    p = stats.norm.cdf(z)
    return stats.norm.pdf(z) ** 2 / np.maximum(p * (1 - p), 1e-12) / SIGMA**2


def variance_reductions(post: Posterior, cov: np.ndarray | None = None) -> np.ndarray:
    """(S, S) expected reduction of the scores' total posterior variance (the trace of the
    covariance) by one more comparison of each pair: ``w |C e|^2 / (1 + w e'Ce)`` with
    ``e = e_i - e_j`` and ``w`` the comparison's Fisher information (A-optimal design)."""
    cov = post.cov if cov is None else cov
    w = _fisher(post)
    var = np.diag(cov)
    v = var[:, None] + var[None, :] - 2 * cov
    squares = (cov**2).sum(0)
    norm2 = squares[:, None] + squares[None, :] - 2 * (cov.T @ cov)
    gains = np.maximum(w * norm2 / (1 + w * v), 0.0)
    np.fill_diagonal(gains, 0.0)
    return gains


CRITERIA = {"variance": variance_reductions, "information": information_gains}
DEFAULT_CRITERION = "variance"
CRITERION_WORDS = {"variance": "the expected reduction of the scores' posterior variance",
                   "information": "ASAP's expected information gain"}


def _answered(cov: np.ndarray, mean: np.ndarray, i: int, j: int) -> np.ndarray:
    """The covariance once a comparison of ``i`` and ``j`` is answered, counted by its expected Fisher
    information at the current means (the mean itself is unknown until the vote comes)."""
    z = (mean[i] - mean[j]) / SIGMA
    p = stats.norm.cdf(z)
    weight = float(stats.norm.pdf(z) ** 2 / max(p * (1 - p), 1e-12) / SIGMA**2)
    e = np.zeros(len(mean))
    e[i], e[j] = 1.0, -1.0
    ce = cov @ e
    return cov - np.outer(ce, ce) * weight / (1 + weight * e @ ce)


def schedule(wins: np.ndarray, n_trials: int, prior_sd: float = PRIOR_SD,
             criterion: str = DEFAULT_CRITERION) -> list[tuple[int, int]]:
    """``n_trials`` pairs (i < j) for the next participant, from the votes so far, in batch mode:
    maximum spanning trees of the pairs' worth, each pair counted as answered once taken.
    Deterministic: the same votes give the same pairs.

    ``criterion``: what a pair is worth. ``"variance"`` (the default) is the expected reduction of
    the scores' posterior variance. ``"information"`` is ASAP's expected information gain. For
    the accuracy of the scores the first measured better (bench/adaptive.py): with 20 systems it
    reached the balanced design's final RMSE with 0.67 of its votes, against 0.82.

    >>> pairs = schedule(np.zeros((5, 5)), 8)
    >>> len(pairs), len({s for p in pairs[:4] for s in p})  # the first tree touches all 5 systems
    (8, 5)
    """
    wins = np.asarray(wins, dtype=float)
    s = wins.shape[0]
    if s < 3:
        raise ValueError(f"an adaptive design needs three or more systems, got {s}")
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    worth = CRITERIA[criterion]
    post = posterior(wins, prior_sd)
    cov = post.cov.copy()
    pairs: list[tuple[int, int]] = []
    while len(pairs) < n_trials:
        gains = worth(post, cov)
        upper = np.triu(gains, 1)
        # A maximum spanning tree is the minimum one of (top - gain); ties break by index, so the
        # tree is a function of the votes alone.
        top = upper.max() + 1.0
        weights = np.where(np.triu(np.ones((s, s), dtype=bool), 1), top - upper, 0.0)
        tree = minimum_spanning_tree(sparse.csr_matrix(weights)).tocoo()
        edges = sorted(((int(min(a, b)), int(max(a, b))) for a, b in zip(tree.row, tree.col, strict=True)),
                       key=lambda e: (-gains[e], e))
        for i, j in edges:
            pairs.append((i, j))
            cov = _answered(cov, post.mean, i, j)
            if len(pairs) == n_trials:
                break
    return pairs


def optimal_allocation(true_scores: np.ndarray, iterations: int = 2000) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The A-optimal design for known scores: the shares of comparisons among all pairs that make
    the scores' total large-sample variance smallest.

    Multiplicative algorithm (Silvey, Titterington & Torsney, 1978): each pair's share grows with
    the variance it would remove, ``w_ij e' M^-2 e``, until every pair in use removes the same.

    Returns the pairs (i < j) and their shares (summing to 1).
    """
    pairs, incidence, fisher = _every_pair(true_scores)
    return pairs, _optimal_shares(incidence, fisher, iterations)


def _optimal_shares(incidence: np.ndarray, fisher: np.ndarray, iterations: int) -> np.ndarray:
    shares = np.full(len(fisher), 1.0 / len(fisher))
    for _ in range(iterations):
        inverse = np.linalg.inv(_information(incidence, fisher * shares))
        removed = fisher * np.einsum("ki,ij,kj->k", incidence, inverse @ inverse, incidence)
        shares = shares * removed / (shares @ removed)
    return shares


def _every_pair(true_scores: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
    """Every pair (i < j), the (P, S) incidence matrix (e_i - e_j per pair) and each pair's Fisher
    information (P,) at the given scores."""
    q = np.asarray(true_scores, dtype=float)
    s = len(q)
    pairs = [(i, j) for i in range(s) for j in range(i + 1, s)]
    incidence = np.zeros((len(pairs), s))
    rows = np.arange(len(pairs))
    first, second = np.array(pairs).T
    incidence[rows, first], incidence[rows, second] = 1.0, -1.0
    return pairs, incidence, _fisher(Posterior(q, np.zeros((s, s))))[first, second]


def _information(incidence: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The Fisher information of the scores (a weighted graph Laplacian), made invertible by
    adding ``1 1' / S``: the scores' mean is not identified, and this adds exactly 1 to the trace
    of the inverse."""
    s = incidence.shape[1]
    return (incidence.T * weights) @ incidence + np.full((s, s), 1.0 / s)


def _total_variance(incidence: np.ndarray, fisher: np.ndarray, shares: np.ndarray) -> float:
    """The scores' total large-sample variance (the trace of the inverse information), per vote."""
    return float(np.trace(np.linalg.inv(_information(incidence, fisher * shares)))) - 1.0


def balanced_efficiency(true_scores: np.ndarray) -> float:
    """The share of a balanced design's votes that the A-optimal design needs for the same total
    variance of the scores, in the large-sample limit: what knowing the scores in advance could save
    over the balanced design once votes are many. 1 means balanced is already optimal (equal scores).

    With fewer votes a balanced design also loses accuracy on near-unanimous pairs of far-apart
    systems, whose scores the prior then holds back; an adaptive design avoids those pairs and can
    measure beyond this limit when the scores spread widely (bench/README.md, "Adaptive design").

    >>> round(balanced_efficiency(np.zeros(5)), 3)
    1.0
    >>> bool(balanced_efficiency(np.arange(6) * 3.0) < 0.5)  # a line of systems 3 JOD apart
    True
    """
    pairs, incidence, fisher = _every_pair(true_scores)
    optimal = _optimal_shares(incidence, fisher, 2000)
    return _total_variance(incidence, fisher, optimal) / _total_variance(incidence, fisher, np.full(len(pairs), 1.0 / len(pairs)))


def scores(wins: np.ndarray, prior_sd: float = PRIOR_SD) -> np.ndarray:
    """The posterior mean scores (JOD), centred on their mean."""
    mean = posterior(wins, prior_sd).mean
    return mean - mean.mean()


def rmse(estimate: np.ndarray, truth: np.ndarray) -> float:
    """Root mean square error of centred scores."""
    return float(math.sqrt(np.mean(((estimate - estimate.mean()) - (truth - truth.mean())) ** 2)))
