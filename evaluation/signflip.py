"""The exact sign-flip (randomization) test of participants' shares against one half.

Under no preference each participant's share of votes for ``a`` is as likely to lie above one
half as the same distance below it, whatever that participant's taste, noise or number of votes.
So, given the distances, every pattern of signs is equally likely, and the sum of the signed
distances has a known distribution: the test is exact at any number of participants, with no
assumption of normality. The participant-level t test is not: with few participants whose shares
are bounded and skewed its tails are heavier than Student's t says, and a group-sequential plan
looks at it exactly when the fewest participants are in (``bench/README.md``, sequential plans).

The distribution is computed exactly by convolution on the lattice the shares lie on (a share
``k / n`` is a whole multiple of ``1 / lcm(2 n)``). Where that lattice is too fine for the budget
(participants with many different numbers of votes), the distances are first rounded to a finer
lattice than any display shows; the test is then the exact test of the rounded statistic.

Examples
--------
>>> r = sign_flip_test([27, 23, 29, 31, 33, 31], [23, 27, 21, 19, 17, 19])  # the seed's six
>>> round(r.statistic, 2), round(r.pvalue, 4)
(0.58, 0.0938)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce

import numpy as np
from scipy import stats

ALTERNATIVES = ("two-sided", "greater", "less")
# How fine a lattice one study's convolution may use: the half-width of the distribution's support in
# lattice steps, and participants x support (about 10 ms of work). A finer lattice is rounded to this
# one, which still resolves a share to better than a thousandth for a hundred participants.
LATTICE_BUDGET = 50_000
WORK_BUDGET = 5_000_000


@dataclass(frozen=True)
class SignFlipResult:
    """The sign-flip test of one pair's participants.

    Attributes
    ----------
    statistic : float
        Mean over participants of their share of votes for ``a``.
    pvalue : float
        Exact p-value for ``alternative``.
    z : float
        The standard normal quantile with the same two-sided tail: ``sign * Phi^-1(1 - p/2)``,
        never pointing against the observed side (0 when the shares balance). Group-sequential
        bounds, which are bounds on a z statistic, apply to it.
    n_participants : int
    exact_lattice : bool
        False when the distances were rounded to fit the budget (see the module's text).
    """

    statistic: float
    pvalue: float
    z: float
    n_participants: int
    exact_lattice: bool = True


def _lattice(votes_a: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, bool]:
    """Integer distances ``m`` with ``m / scale = share - 1/2`` (scale common to all), and whether exact."""
    two_n = (2 * n).astype(np.int64)
    scale = reduce(math.lcm, (int(v) for v in np.unique(two_n)), 1)
    distance = votes_a / n - 0.5
    total = float(np.abs(distance).sum()) * scale  # the support's half-width on the exact lattice
    if total <= LATTICE_BUDGET and len(n) * total <= WORK_BUDGET:
        m = (2 * votes_a - n).astype(np.int64) * (scale // two_n)
        g = reduce(math.gcd, (int(v) for v in np.unique(np.abs(m))), 0) or 1
        return m // g, True
    spread = float(np.abs(distance).sum())
    resolution = min(LATTICE_BUDGET, WORK_BUDGET / len(n)) / max(spread, 1e-12)
    return np.rint(distance * resolution).astype(np.int64), False


def upper_tails(m: np.ndarray, looks: list[int] | None = None, offset: int = 0) -> np.ndarray:
    """Exact ``P(T* >= |T_k| + offset)`` for each row of integer distances ``m`` (studies x
    participants), where ``T_k`` sums the first ``looks[k]`` distances and ``T*`` is that sum
    under random signs.

    Every study's sums are convolved participant by participant, so a whole sequential study
    (its looks) costs one pass. Returns an array of studies x looks.

    >>> upper_tails(np.array([[3, 1, 2]]), [2, 3]).round(3).tolist()  # 4 of (+-3 +-1); 6 of (+-3 +-1 +-2)
    [[0.25, 0.125]]
    """
    m = np.atleast_2d(np.asarray(m, dtype=np.int64))
    studies, participants = m.shape
    looks = list(looks) if looks is not None else [participants]
    if any(not 1 <= k <= participants for k in looks) or looks != sorted(looks):
        raise ValueError(f"looks must be increasing counts from 1 to {participants} participants, got {looks}")
    size = np.abs(m)
    reach = np.cumsum(size, axis=1).max(axis=0)  # the largest |sum| any study can reach after i participants
    width = int(reach[-1])
    dist = np.zeros((studies, 2 * width + 1))  # index j holds P(T* = j - width)
    dist[:, width] = 1.0
    out = np.empty((studies, len(looks)))
    rows = np.arange(studies)[:, None]
    step = 0
    for i in range(participants):
        a = size[:, i : i + 1]
        shift = int(a.max())
        if shift and studies == 1:  # one study: two shifted slices
            moved = np.zeros_like(dist)
            moved[:, shift:] += dist[:, :-shift]
            moved[:, :-shift] += dist[:, shift:]
            dist = 0.5 * moved
        elif shift:  # each study its own shift
            lo, hi = width - int(reach[i]), width + int(reach[i]) + 1  # where a sum can be after participant i
            cols = np.arange(lo, hi)[None, :] + shift
            padded = np.pad(dist, ((0, 0), (shift, shift)))
            dist[:, lo:hi] = 0.5 * (padded[rows, cols - a] + padded[rows, cols + a])
        while step < len(looks) and looks[step] == i + 1:
            at = width + np.abs(m[:, : i + 1].sum(axis=1)) + offset
            tail = np.cumsum(dist[:, ::-1], axis=1)[:, ::-1]  # tail[:, j] = P(T* >= j - width)
            out[:, step] = np.where(at < dist.shape[1], tail[np.arange(studies), np.minimum(at, dist.shape[1] - 1)], 0.0)
            step += 1
    return np.minimum(out, 1.0)


def z_from_tail(upper: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """``sign * Phi^-1(1 - upper)``, never pointing against the observed side: the z a bound is
    compared with. ``|z| >= c`` exactly when the exact two-sided p-value is at most ``2 (1 - Phi(c))``."""
    return np.sign(sign) * np.maximum(0.0, stats.norm.isf(np.clip(upper, 1e-300, 1.0)))


def sign_flip_test(votes_a, votes_b, alternative: str = "two-sided") -> SignFlipResult:
    """Exact sign-flip test of the participants' shares ``votes_a / (votes_a + votes_b)`` against 1/2.

    Participants without votes are left out; with none, the p-value is 1 and z is 0.

    >>> r = sign_flip_test([4] * 8, [0] * 8)  # eight unanimous participants
    >>> r.pvalue == 2 / 2**8, round(r.z, 3)
    (True, 2.66)
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}, got {alternative!r}")
    votes_a, votes_b = np.asarray(votes_a, dtype=np.int64), np.asarray(votes_b, dtype=np.int64)
    n = votes_a + votes_b
    keep = n > 0
    votes_a, n = votes_a[keep], n[keep]
    if not len(n):
        return SignFlipResult(float("nan"), 1.0, 0.0, 0)
    m, exact = _lattice(votes_a, n)
    total = int(m.sum())
    upper = float(upper_tails(m)[0, 0])  # P(T* >= |T|)
    if alternative == "two-sided":
        pvalue = min(1.0, 2 * upper)
    elif total == 0:
        pvalue = float(upper_tails(m)[0, 0])  # P(T* >= 0), the same on either side
    elif (total > 0) == (alternative == "greater"):
        pvalue = upper
    else:  # against the observed side: P(T* <= |T|) = 1 - P(T* > |T|), by symmetry
        pvalue = 1.0 - float(upper_tails(m, offset=1)[0, 0])
    z = float(z_from_tail(np.array(upper), np.array(total))) if total else 0.0
    return SignFlipResult(float(np.mean(votes_a / n)), float(pvalue), z, int(len(n)), exact)
