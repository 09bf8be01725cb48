"""A look at the data: the participants' statistic, the plan's decision, stage-wise inference, and the
replay of every look a plan has taken on a study's votes."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from ..signflip import sign_flip_test
from .bounds import upper_ordering
from .plans import PRIMARY, SequentialPlan


@dataclass(frozen=True)
class LookResult:
    """The plan's verdict at one look.

    Attributes
    ----------
    decision : str
        ``"efficacy"`` (a bound crossed: stop, a preference), ``"futility"`` (may stop: no
        preference likely), ``"continue"``, or ``"no preference"`` (the last look, no bound crossed).
    pvalue : float
        Two-sided p-value in the stage-wise ordering (accounts for the looks); at an interim look
        that continues, the p-value the data would have if the study ended there.
    estimate : float
        Median-unbiased share of votes for ``a`` (stage-wise ordering).
    """

    look: int  # 1-based
    participants: int
    z: float
    share: float  # the naive mean share of the completed participants
    decision: str
    pvalue: float
    estimate: float
    low: float
    high: float
    naive_pvalue: float
    level: float

    @property
    def stopped(self) -> bool:
        return self.decision in ("efficacy", "futility", "no preference")

    def confidence_interval(self) -> tuple[float, float]:
        return self.low, self.high


def analyse_look(plan: SequentialPlan, look: int, z: float, share: float, std_error: float,
                 inference: bool = True) -> LookResult:
    """The decision at ``look`` (1-based) for the statistic ``z`` = (share - 0.5) / std_error of the
    completed participants, with stage-wise p-value, estimate and confidence interval (left NaN
    with ``inference=False``: the decision alone is cheap).

    >>> from evaluation.sequential import efficacy_bounds
    >>> plan = SequentialPlan(40, (20, 40), tuple(efficacy_bounds([0.5, 1.0])))
    >>> r = analyse_look(plan, 1, 3.2, 0.6, 0.6 / 3.2 - 0.5 / 3.2)
    >>> r.decision, round(r.pvalue, 4), r.low < r.estimate < 0.6 < r.high
    ('efficacy', 0.0014, True)
    """
    if not 1 <= look <= len(plan.looks):
        raise ValueError(f"look must be between 1 and {len(plan.looks)}, got {look}")
    k, fractions, efficacy = look - 1, plan.fractions, list(plan.efficacy)
    last = look == len(plan.looks)
    if abs(z) >= efficacy[k]:
        decision = "efficacy"
    elif plan.futility and not last and abs(z) < plan.futility[k]:
        decision = "futility"
    else:
        decision = "no preference" if last else "continue"
    naive = float(2 * stats.norm.sf(abs(z)))
    if not inference:
        nan = float("nan")
        return LookResult(look, plan.looks[k], float(z), float(share), decision, nan, nan, nan, nan, naive, 1 - plan.alpha)
    sign = 1.0 if z >= 0 else -1.0
    # Mirror a downward result: the bounds are symmetric, so the ordering is the same.
    p_up = upper_ordering(fractions, efficacy, k, abs(z), 0.0)
    pvalue = min(1.0, 2 * min(p_up, 1 - p_up))

    def drift_at(q: float) -> float:
        return optimize.brentq(lambda d: upper_ordering(fractions, efficacy, k, abs(z), d) - q, -30, 30, xtol=1e-8)

    a = plan.alpha
    # Share per unit of z at this look: (share - 0.5) / z, the standard error for a z test and what an
    # exact test's p-value turned into z implies, so that the estimate at a first look is the share.
    per_z = abs(share - 0.5) / abs(z) if z != 0 and share != 0.5 else std_error
    scale = math.sqrt(fractions[k]) * per_z  # share per unit of drift
    to_share = [min(1.0, max(0.0, 0.5 + sign * drift_at(q) * scale)) for q in (0.5, a / 2, 1 - a / 2)]
    low, high = sorted(to_share[1:])
    return LookResult(look, plan.looks[k], float(z), float(share), decision, float(pvalue), float(to_share[0]),
                      float(low), float(high), naive, 1 - a)


def participant_z(votes_a: np.ndarray, votes_b: np.ndarray) -> tuple[float, float, float]:
    """(z, mean share, share per unit of z) of the exact sign-flip test of the participants'
    shares against 0.5 (:mod:`evaluation.signflip`): the p-value turned into the z with the
    same tail, so that the normal bounds apply. Exact at any number of participants, where the
    t test on the shares is not (heavier tails than Student's t with few participants).

    >>> z, share, per_z = participant_z(np.array([0, 0, 0]), np.array([8, 8, 8]))  # unanimous for b
    >>> round(z, 2), share  # three participants: P = 1/8 on that side, however unanimous
    (-1.15, 0.0)
    """
    result = sign_flip_test(votes_a, votes_b)
    if result.n_participants == 0:
        return float("nan"), float("nan"), float("nan")
    n = (np.asarray(votes_a) + np.asarray(votes_b))
    floor = math.sqrt(float(np.sum(0.25 / n[n > 0]))) / result.n_participants  # binomial noise under no preference
    per_z = abs(result.statistic - 0.5) / abs(result.z) if result.z else floor
    return result.z, result.statistic, per_z


def t_as_z(t, df):
    """The z with the same tail probability as Student's ``t`` with ``df`` degrees of freedom
    (on the side ``t`` lies), so that normal bounds apply to a t statistic."""
    return np.where(t > 0, stats.norm.isf(stats.t.sf(t, df)), -stats.norm.isf(stats.t.cdf(t, df)))


def look_statistic(pair, primary: str = "participant") -> tuple[float, float, float]:
    """(z, share of votes for ``a``, share per unit of z) of one pair's votes (``evaluation.votes.pair_votes``):
    the participants' sign-flip test (as z), or the mixed model's Wald t turned into z, with the share
    by the delta method."""
    if primary == "mixed":
        from ..clustered import mixed_model

        fit = mixed_model(pair)
        if fit is None:
            return float("nan"), float(pair["chose_a"].mean()) if len(pair) else float("nan"), float("nan")
        p = fit.proportion
        return float(t_as_z(fit.estimate / fit.std_error, fit.df)), p, fit.std_error * p * (1 - p)
    if primary != "participant":
        raise ValueError(f"primary must be one of {', '.join(PRIMARY)}, got {primary!r}")
    counts = pair.groupby("participant", observed=True)["chose_a"].agg(["sum", "count"])
    votes_a = counts["sum"].to_numpy(dtype=float)
    return participant_z(votes_a, counts["count"].to_numpy(dtype=float) - votes_a)


def completed_order(df) -> list[str]:
    """Participants who finished, in the order they finished (by their last vote's time when the
    table has one, else by their first row): the first n of them are look n's data."""
    finished = df[df["finished"].astype(str).str.lower().isin({"true", "1", "yes"})] if "finished" in df else df
    if "time" in finished:
        last = finished.groupby("participant", observed=True)["time"].max().sort_values(kind="stable")
        return [str(p) for p in last.index]
    return [str(p) for p in dict.fromkeys(finished["participant"].astype(str))]


def replay(plan: SequentialPlan, pair, order: list[str]) -> list[LookResult]:
    """Every look the plan has taken on these votes: ``order`` lists the participants as they
    finished; the replay stops at the first look that stops the study."""
    results, statistics = [], []
    participants = pair["participant"].astype(str)
    for k, count in enumerate(plan.looks):
        if len(order) < count:
            break
        z, share, se = look_statistic(pair[participants.isin(set(order[:count]))], plan.primary)
        if not np.isfinite(z):
            continue  # no variance yet (every participant alike): this look cannot decide
        results.append(analyse_look(plan, k + 1, z, share, se, inference=False))
        statistics.append((k + 1, z, share, se))
        if results[-1].stopped:
            break
    if results:  # the stage-wise inference (root-findings) is only needed at the deciding look
        results[-1] = analyse_look(plan, *statistics[-1])
    return results
