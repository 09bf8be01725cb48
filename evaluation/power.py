"""Planning: how many votes and participants a study needs."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


def exact_power(n: int, effect: float, alpha: float = 0.05, alternative: str = "two-sided") -> float:
    """Power of the exact binomial test of p = 0.5 with ``n`` votes when the true share is ``effect``.

    The rejection region is built from the null distribution exactly as ``binomtest`` decides.

    Examples
    --------
    >>> round(exact_power(300, 0.58), 3)
    0.777
    """
    k = np.arange(n + 1)
    null = stats.binom.pmf(k, n, 0.5)
    if alternative == "greater":
        reject = stats.binom.sf(k - 1, n, 0.5) <= alpha
    elif alternative == "less":
        reject = stats.binom.cdf(k, n, 0.5) <= alpha
    elif alternative == "two-sided":
        # binomtest's two-sided p: the sum of all outcomes no more likely than the one observed.
        order = np.sort(null)
        cumulative = np.cumsum(order)
        pvals = cumulative[np.searchsorted(order, null * (1 + 1e-7), side="right") - 1]
        reject = pvals <= alpha
    else:
        raise ValueError(f"alternative must be one of ('two-sided', 'greater', 'less'), got {alternative!r}")
    return float(stats.binom.pmf(k[reject], n, effect).sum())


@dataclass(frozen=True)
class Plan:
    effect: float
    alpha: float
    power: float
    votes_independent: int  # votes needed if every vote were independent
    design_effect: float
    votes: int  # after the design effect
    votes_per_participant: int | None
    participants: int | None
    achieved_power: float


def plan_study(effect: float, alpha: float = 0.05, power: float = 0.8, alternative: str = "two-sided",
               votes_per_participant: int | None = None, icc: float = 0.0, max_votes: int = 1_000_000) -> Plan:
    """Votes (and participants) needed to detect a share ``effect`` against 0.5 by the exact binomial test.

    With clustering, the design effect ``1 + (m - 1) * icc`` (m votes per participant, ``icc``
    the intra-participant correlation of choices) inflates the number of votes.

    Examples
    --------
    >>> p = plan_study(0.58, votes_per_participant=50)
    >>> p.votes_independent, p.participants
    (312, 7)
    >>> plan_study(0.58, votes_per_participant=50, icc=0.05).participants
    22
    """
    if not 0 < effect < 1 or effect == 0.5:
        raise ValueError(f"effect must be a share in (0, 1) other than 0.5, got {effect}")
    if not 0 <= icc < 1:
        raise ValueError(f"icc must be in [0, 1), got {icc}")
    n = _smallest_n(effect, alpha, power, alternative, max_votes)
    m = votes_per_participant or 1
    deff = 1 + (m - 1) * icc
    votes = math.ceil(n * deff)
    participants = math.ceil(votes / votes_per_participant) if votes_per_participant else None
    return Plan(effect, alpha, power, n, deff, votes, votes_per_participant, participants, exact_power(n, effect, alpha, alternative))


def _smallest_n(effect: float, alpha: float, power: float, alternative: str, max_votes: int) -> int:
    # Exact power saw-tooths in n; take the smallest n from which a normal-approximation start
    # reaches the target, scanning upward from a bit below it.
    z = stats.norm.ppf(1 - alpha / (2 if alternative == "two-sided" else 1)) + stats.norm.ppf(power)
    guess = int((z * 0.5 / abs(effect - 0.5)) ** 2)
    for n in range(max(1, int(guess * 0.8)), max_votes):
        if exact_power(n, effect, alpha, alternative) >= power:
            return n
    raise ValueError(f"more than {max_votes} votes would be needed")
