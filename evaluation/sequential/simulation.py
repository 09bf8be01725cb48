"""Simulated studies of heterogeneous participants run through a plan: type I error, power, and the
participants used, with the site's test at every look (or another, to compare)."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..signflip import upper_tails, z_from_tail
from .looks import t_as_z
from .plans import SequentialPlan


@dataclass(frozen=True)
class Simulation:
    """What a plan does over many simulated studies (``simulate``)."""

    studies: int
    rejection_rate: float  # share of studies that found a preference (type I error under no preference)
    mean_participants: float  # completed participants used, on average
    stops: tuple[float, ...]  # share of studies stopping at each look (efficacy or futility)

    @property
    def monte_carlo_error(self) -> float:
        return math.sqrt(self.rejection_rate * (1 - self.rejection_rate) / self.studies)


def population_mean(share: float, sd_logit: float) -> float:
    """The mean logit that makes the population's average share ``share`` with participant effects of SD ``sd_logit``."""
    if share == 0.5:
        return 0.0
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    return float(optimize.brentq(lambda mu: float(np.dot(weights, 1 / (1 + np.exp(-(mu + sd_logit * nodes))))) - share,
                                 -10, 10))


LOOK_TESTS = ("sign-flip", "t")  # the site's test, and the t test it replaced (for comparison in bench/sequential.py)
CHUNK = 4096  # simulated studies convolved at once (memory: CHUNK x the sums' support)


def simulated_z(counts: np.ndarray, votes_per_participant: int, looks: list[int], test: str = "sign-flip") -> np.ndarray:
    """The look statistic of many simulated studies at once: ``counts`` (studies x participants)
    votes for ``a`` out of ``votes_per_participant`` each; returns z (studies x looks).

    ``sign-flip`` is :func:`participant_z`'s test; ``t`` is the participant-level t test of the
    shares (with the binomial floor on its standard error) that earlier versions used."""
    if test == "sign-flip":
        distance = 2 * counts - votes_per_participant  # share - 1/2 on the lattice 1 / (2 votes)
        out = np.empty((len(counts), len(looks)))
        for start in range(0, len(counts), CHUNK):
            part = distance[start:start + CHUNK]
            sums = np.stack([part[:, :n].sum(axis=1) for n in looks], axis=1)
            out[start:start + CHUNK] = z_from_tail(upper_tails(part, looks), sums)
        return out
    if test != "t":
        raise ValueError(f"test must be one of {', '.join(LOOK_TESTS)}, got {test!r}")
    shares = counts / votes_per_participant
    out = np.empty((len(counts), len(looks)))
    for j, n in enumerate(looks):
        x = shares[:, :n]
        se = np.maximum(x.std(axis=1, ddof=1) / math.sqrt(n), math.sqrt(0.25 / (votes_per_participant * n)))
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, j] = np.nan_to_num(t_as_z((x.mean(axis=1) - 0.5) / se, n - 1), nan=0.0)
    return out


def simulate(plan: SequentialPlan, share: float, studies: int = 2000, votes_per_participant: int = 50,
             sd_logit: float = 0.5, seed: int = 0, obey_futility: bool = True,
             test: str | Callable[[np.ndarray, int, list[int]], np.ndarray] = "sign-flip") -> Simulation:
    """Run ``plan`` (participant-level test) on ``studies`` simulated studies in which participants'
    log-odds of choosing ``a`` vary with SD ``sd_logit`` around a mean giving the average ``share``.

    ``test`` names one of :data:`LOOK_TESTS` (the site's first), or is a function of (counts,
    votes per participant, looks) giving z, to compare another candidate on the same studies."""
    rng = np.random.default_rng(seed)
    n = plan.participants
    mu = population_mean(share, sd_logit)
    logits = mu + sd_logit * rng.standard_normal((studies, n))
    counts = rng.binomial(votes_per_participant, 1 / (1 + np.exp(-logits)))
    looks = list(plan.looks)
    z = test(counts, votes_per_participant, looks) if callable(test) else simulated_z(counts, votes_per_participant,
                                                                                       looks, test)
    active = np.ones(studies, dtype=bool)
    rejected = np.zeros(studies, dtype=bool)
    used = np.full(studies, plan.looks[-1], dtype=float)
    stops = []
    for k, count in enumerate(plan.looks):
        efficacy = active & (np.abs(z[:, k]) >= plan.efficacy[k])
        last = k == len(plan.looks) - 1
        futile = (active & ~efficacy & (np.abs(z[:, k]) < plan.futility[k]) if plan.futility and obey_futility and not last
                  else np.zeros(studies, dtype=bool))
        stopping = efficacy | futile | (active if last else False)
        rejected |= efficacy
        used[active & stopping] = count
        stops.append(float((efficacy | futile).sum()) / studies)
        active &= ~stopping
    return Simulation(studies, float(rejected.mean()), float(used.mean()), tuple(stops))
