"""Group-sequential designs: stop a study early when the answer is in, with valid error rates.

A plan fixes, before the first vote, the maximum number of participants, the looks (after how
many completed participants the data are analysed), and how the type I error is spent over the
looks: Lan & DeMets' (1983) spending functions, O'Brien-Fleming-like (the default), Pocock-like,
or the power family ``alpha * t**rho``. The boundaries follow from the exact joint distribution of
the z statistics at the looks (Brownian motion in the information fraction ``t``), computed by
recursive numerical integration (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000,
chapter 19) on a fine grid.

Convention: the test is two-sided with symmetric bounds, and the spending function is applied
to each side with ``alpha / 2``, as ldbounds' ``ldBounds(..., alpha=0.05, sides=2)`` and
gsDesign do. So the O'Brien-Fleming-like function is ``2 - 2 * Phi(z(1 - alpha/4) / sqrt(t))``
per side. (The other convention spends ``2 - 2 * Phi(z(1 - alpha/2) / sqrt(t))`` in total.)

Futility bounds are optional and non-binding. The efficacy bounds ignore them, so the type I error
stays at most ``alpha`` whether or not a study stops for futility. They come from beta spending
with the same family under the planned effect, and the last one equals the last efficacy bound.

After a stop, the p-value, the median-unbiased estimate and the confidence interval use the
stage-wise ordering (Armitage 1957; Fairbanks & Madsen 1982; Tsiatis, Rosner & Mehta 1984). A
stop at an earlier look is more extreme than any later one, so inference accounts for the
stopping.

Examples
--------
>>> b = efficacy_bounds([0.2, 0.4, 0.6, 0.8, 1.0])
>>> [round(z, 3) for z in b]
[4.877, 3.357, 2.68, 2.29, 2.031]
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

from .signflip import sign_flip_test, upper_tails, z_from_tail

SPENDING = ("obf", "pocock", "power")
GRID = 801  # points per continuation interval (odd, for Simpson's rule)
MAX_Z = 8.0  # a bound is never above this (ldbounds' truncation): looks that spend nothing


def spent(t: float | np.ndarray, alpha: float, spending: str = "obf", rho: float = 1.0) -> np.ndarray:
    """Cumulative error ``alpha`` spent by information fraction ``t`` (one side, or one tail).

    ``obf``: ``2 - 2 Phi(z(1 - alpha/2) / sqrt(t))``; ``pocock``: ``alpha log(1 + (e - 1) t)``;
    ``power``: ``alpha t**rho``.

    >>> round(float(spent(1.0, 0.025)), 9), round(float(spent(0.5, 0.025)), 6)
    (0.025, 0.001525)
    """
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    if spending == "obf":
        with np.errstate(divide="ignore"):
            return np.where(t > 0, 2 - 2 * stats.norm.cdf(stats.norm.ppf(1 - alpha / 2) / np.sqrt(t)), 0.0)
    if spending == "pocock":
        return alpha * np.log1p((math.e - 1) * t)
    if spending == "power":
        if rho <= 0:
            raise ValueError(f"the power family's exponent rho must be positive, got {rho}")
        return alpha * t**rho
    raise ValueError(f"spending must be one of {', '.join(SPENDING)}, got {spending!r}")


def _simpson(a: float, b: float, n: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(a, b, n)
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4, 2
    return x, w * (b - a) / (3 * (n - 1))


@dataclass
class _Walk:
    """The sub-density of Z at the current look on the paths that have not stopped yet."""

    t: float
    x: np.ndarray = field(default_factory=lambda: np.zeros(0))  # grid of the continuation region
    w: np.ndarray = field(default_factory=lambda: np.zeros(0))  # quadrature weights
    f: np.ndarray = field(default_factory=lambda: np.zeros(0))  # density at x

    def tail(self, t_next: float, z: float, drift: float, upper: bool) -> float:
        """P(not stopped before, Z(t_next) >= z) (or <= z) for the drift ``drift``."""
        if self.t == 0:  # the first look: Z ~ N(drift sqrt(t), 1)
            m = drift * math.sqrt(t_next)
            return float(stats.norm.sf(z - m) if upper else stats.norm.cdf(z - m))
        if self.x.size == 0:  # every path has stopped
            return 0.0
        dt = t_next - self.t
        arg = (z * math.sqrt(t_next) - self.x * math.sqrt(self.t) - drift * dt) / math.sqrt(dt)
        p = stats.norm.sf(arg) if upper else stats.norm.cdf(arg)
        return float(np.sum(self.w * self.f * p))

    def advance(self, t_next: float, intervals: list[tuple[float, float]], drift: float) -> _Walk:
        """The density at the next look, restricted to ``intervals`` (where the study goes on)."""
        grids = [_simpson(a, b) for a, b in intervals if b > a]
        x = np.concatenate([g[0] for g in grids]) if grids else np.zeros(0)
        w = np.concatenate([g[1] for g in grids]) if grids else np.zeros(0)
        if self.t == 0:
            f = stats.norm.pdf(x - drift * math.sqrt(t_next))
        elif self.x.size == 0:
            f = np.zeros_like(x)
        else:
            dt = t_next - self.t
            arg = (x[:, None] * math.sqrt(t_next) - self.x[None, :] * math.sqrt(self.t) - drift * dt) / math.sqrt(dt)
            f = (stats.norm.pdf(arg) * math.sqrt(t_next / dt)) @ (self.w * self.f)
        return _Walk(t_next, x, w, f)


def _solve(f, target: float, low: float, high: float) -> float:
    """The x in [low, high] where the monotone ``f(x)`` equals ``target``."""
    return float(optimize.brentq(lambda x: f(x) - target, low, high, xtol=1e-10))


def _check_looks(looks) -> np.ndarray:
    t = np.asarray(looks, dtype=float)
    if t.ndim != 1 or t.size == 0 or np.any(np.diff(t) <= 0) or t[0] <= 0 or abs(t[-1] - 1) > 1e-9:
        raise ValueError(f"looks must be increasing information fractions in (0, 1] ending at 1, got {list(looks)}")
    return t


def efficacy_bounds(looks, alpha: float = 0.05, spending: str = "obf", rho: float = 1.0) -> list[float]:
    """Two-sided symmetric efficacy bounds: stop at look k when |Z_k| >= bound k.

    ``alpha`` is the total two-sided error, ``alpha / 2`` spent on each side.
    """
    t = _check_looks(looks)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    per_side = np.diff(spent(t, alpha / 2, spending, rho), prepend=0.0)
    walk, bounds = _Walk(0.0), []
    for tk, increment in zip(t, per_side, strict=True):
        if increment <= 1e-15 or walk.tail(tk, MAX_Z, 0.0, True) >= increment:
            c = MAX_Z
        else:
            c = _solve(lambda z, tk=tk, walk=walk: walk.tail(tk, z, 0.0, True), increment, 0.0, MAX_Z)
        bounds.append(float(c))
        walk = walk.advance(tk, [(-c, c)], 0.0)
    return bounds


@dataclass(frozen=True)
class Crossing:
    """Where the paths go at each look, for a given drift: efficacy (either side), futility, or on."""

    efficacy: tuple[float, ...]
    futility: tuple[float, ...]

    @property
    def power(self) -> float:
        return sum(self.efficacy)

    def stopping(self) -> np.ndarray:
        return np.array(self.efficacy) + np.array(self.futility)


def crossing(looks, efficacy: list[float], futility: list[float] | None, drift: float) -> Crossing:
    """Probabilities of stopping at each look for efficacy and for futility (|Z| < futility bound),
    when E[Z_k] = drift * sqrt(t_k)."""
    t = _check_looks(looks)
    futility = futility or [0.0] * len(t)
    walk, eff, fut = _Walk(0.0), [], []
    for tk, c, b in zip(t, efficacy, futility, strict=True):
        up, down = walk.tail(tk, c, drift, True), walk.tail(tk, -c, drift, False)
        inner = walk.tail(tk, -b, drift, True) - walk.tail(tk, b, drift, True) if b > 0 else 0.0
        eff.append(up + down)
        fut.append(max(inner, 0.0))
        walk = walk.advance(tk, [(-c, -b), (b, c)] if b > 0 else [(-c, c)], drift)
    return Crossing(tuple(eff), tuple(fut))


def futility_bounds(looks, efficacy: list[float], drift: float, beta: float, spending: str = "obf",
                    rho: float = 1.0) -> list[float]:
    """Non-binding futility bounds by beta spending under ``drift``: stop at look k when |Z_k| < bound k.
    The last one is the last efficacy bound (the final look decides either way)."""
    t = _check_looks(looks)
    increments = np.diff(spent(t, beta, spending, rho), prepend=0.0)
    walk, bounds = _Walk(0.0), []
    for k, (tk, c, inc) in enumerate(zip(t, efficacy, increments, strict=True)):
        if k == len(t) - 1:
            b = c
        else:
            def mass(b, walk=walk, tk=tk):  # P(|Z_k| < b and not stopped before)
                return walk.tail(tk, -b, drift, True) - walk.tail(tk, b, drift, True)
            b = 0.0 if inc <= 1e-15 else (c if mass(c) <= inc else _solve(mass, inc, 0.0, c))
        bounds.append(float(b))
        walk = walk.advance(tk, [(-c, -b), (b, c)] if b > 0 else [(-c, c)], drift)
    return bounds


def drift_for_power(looks, efficacy: list[float], power: float, beta_spending: str | None = None,
                    rho: float = 1.0) -> tuple[float, list[float] | None]:
    """The drift (E[Z] at t = 1) that gives ``power``; with ``beta_spending``, the futility bounds
    that go with it (their last bound meets the efficacy bound)."""
    beta = 1 - power

    def gap(drift: float) -> float:
        fut = futility_bounds(looks, efficacy, drift, beta, beta_spending, rho) if beta_spending else None
        return crossing(looks, efficacy, fut, drift).power - power

    drift = optimize.brentq(gap, 0.0, 15.0, xtol=1e-8)
    fut = futility_bounds(looks, efficacy, drift, beta, beta_spending, rho) if beta_spending else None
    return float(drift), fut


PRIMARY = ("participant", "mixed")  # the analysis at each look
ANALYSES = {"participant": "the exact sign-flip test of the participants' shares", "mixed": "the mixed model"}


@dataclass(frozen=True)
class SequentialPlan:
    """A group-sequential plan, fixed before the first vote (stored with the study as ``to_dict``).

    Attributes
    ----------
    participants : int
        The maximum number of completed participants.
    looks : tuple of int
        Completed participants at each look; the last is ``participants``.
    efficacy : tuple of float
        |z| at or above which the study stops at each look.
    futility : tuple of float or None
        |z| below which it may stop for futility (non-binding), or None.
    """

    participants: int
    looks: tuple[int, ...]
    efficacy: tuple[float, ...]
    futility: tuple[float, ...] | None = None
    alpha: float = 0.05
    spending: str = "obf"
    rho: float = 1.0
    primary: str = "participant"
    effect: float | None = None  # the share the plan is powered for
    power: float | None = None
    fixed_participants: int | None = None  # what a fixed design with the same power needs
    expected_null: float | None = None  # expected completed participants under no preference
    expected_effect: float | None = None  # ... and under the planned effect
    unit: str = "participants"  # what the looks count: completed participants, or votes (no clustering given)

    @property
    def fractions(self) -> tuple[float, ...]:
        return tuple(n / self.participants for n in self.looks)

    def to_dict(self) -> dict:
        """The plan as JSON-ready data; ``boundaries`` are the efficacy bounds (for scripts)."""
        data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}
        return {**data, "fractions": list(self.fractions), "convention": "two-sided, alpha/2 spent per side"}

    @classmethod
    def from_dict(cls, data: dict) -> SequentialPlan:
        """The plan ``to_dict`` wrote (a study's stored plan, or ``plan --format json``'s output)."""
        names = set(cls.__dataclass_fields__)
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
        if "efficacy" not in values and "boundaries" in data:
            values["efficacy"] = tuple(data["boundaries"])
        missing = {"participants", "looks", "efficacy"} - set(values)
        if missing:
            raise ValueError(f"a sequential plan needs {', '.join(sorted(missing))}")
        return cls(**values)

    def describe(self) -> str:
        kind = {"obf": "O'Brien-Fleming-like", "pocock": "Pocock-like", "power": f"power family (rho {self.rho:g})"}
        unit = self.unit
        lines = [f"sequential plan: up to {self.participants} {unit}, looks after {', '.join(map(str, self.looks))} "
                 f"{'completed' if unit == 'participants' else 'votes'}; {kind[self.spending]} spending of alpha {self.alpha:g} (two-sided, alpha/2 per side); "
                 f"primary analysis: {ANALYSES[self.primary]}"]
        for k, n in enumerate(self.looks):
            fut = f", futility |z| < {self.futility[k]:.3f}" if self.futility and k < len(self.looks) - 1 else ""
            out_of_reach = ""
            if unit == "participants" and self.primary == "participant" and n < 60 and \
                    2.0 ** (1 - n) > 2 * stats.norm.sf(self.efficacy[k]):
                out_of_reach = f" (cannot stop: even {n} unanimous participants give p = 2/2^{n} = {2.0 ** (1 - n):.2g})"
            lines.append(f"  look {k + 1} at {n} {unit}: stop if |z| >= {self.efficacy[k]:.3f}{fut}{out_of_reach}")
        if self.fixed_participants:
            lines.append(f"  a fixed design with the same power needs {self.fixed_participants} {unit}; expected with "
                         f"this plan: {self.expected_null:.1f} under no preference, {self.expected_effect:.1f} at the "
                         f"planned {self.effect:.0%}")
        return "\n".join(lines)


def _participants_fixed(effect: float, alpha: float, power: float, votes_per_participant: int, icc: float) -> float:
    """Participants a fixed design needs (normal approximation on the participant shares)."""
    sd = math.sqrt(effect * (1 - effect) / votes_per_participant * (1 + (votes_per_participant - 1) * icc))
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return (z * sd / abs(effect - 0.5)) ** 2


def design(effect: float, looks: int = 5, alpha: float = 0.05, power: float = 0.8, spending: str = "obf",
           rho: float = 1.0, votes_per_participant: int | None = 50, icc: float = 0.0, futility: bool = False,
           primary: str = "participant") -> SequentialPlan:
    """A sequential plan for detecting a share ``effect`` with ``looks`` equally spaced looks.

    The maximum number of participants is the fixed design's times the inflation that the looks
    cost; the looks fall on whole participants and the bounds follow their actual fractions. The
    expected numbers come from the same recursion. Without ``votes_per_participant`` the unit is
    the vote (independent votes, as ``plan_study`` counts them).

    Examples
    --------
    >>> p = design(0.58, looks=5, spending="pocock", power=0.9, icc=0.05)
    >>> p.fixed_participants, p.participants, p.looks
    (28, 33, (7, 14, 20, 27, 33))
    >>> round(p.expected_effect / p.fixed_participants, 2)
    0.67
    """
    if not 0 < effect < 1 or effect == 0.5:
        raise ValueError(f"effect must be a share in (0, 1) other than 0.5, got {effect}")
    if looks < 1:
        raise ValueError(f"looks must be at least 1, got {looks}")
    if primary not in PRIMARY:
        raise ValueError(f"primary must be one of {', '.join(PRIMARY)}, got {primary!r}")
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power}")
    unit = "participants" if votes_per_participant else "votes"
    if not votes_per_participant:
        votes_per_participant, icc = 1, 0.0
    n_fixed = _participants_fixed(effect, alpha, power, votes_per_participant, icc)
    fixed_drift = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    t = [k / looks for k in range(1, looks + 1)]
    drift, _ = drift_for_power(t, efficacy_bounds(t, alpha, spending, rho), power, spending if futility else None, rho)
    n_max = max(looks, math.ceil(n_fixed * (drift / fixed_drift) ** 2))
    counts = tuple(sorted({math.ceil(n_max * (k + 1) / looks) for k in range(looks)}))
    # The looks fall on whole participants: the bounds are those of the actual fractions.
    fractions = [n / n_max for n in counts]
    efficacy = efficacy_bounds(fractions, alpha, spending, rho)
    planned = fixed_drift * math.sqrt(n_max / n_fixed)  # E[Z] at the maximum for the planned effect
    fut = futility_bounds(fractions, efficacy, planned, 1 - power, spending, rho) if futility else None
    plan = SequentialPlan(n_max, counts, tuple(efficacy), tuple(fut) if fut else None, alpha, spending, rho, primary,
                          effect, power, math.ceil(n_fixed), unit=unit)
    return SequentialPlan(**{**plan.__dict__, "expected_null": expected_participants(plan, 0.0),
                             "expected_effect": expected_participants(plan, planned)})


def expected_participants(plan: SequentialPlan, drift: float, obey_futility: bool = True) -> float:
    """Expected completed participants when E[Z] at the maximum is ``drift`` (0: no preference)."""
    c = crossing(plan.fractions, list(plan.efficacy), list(plan.futility) if plan.futility and obey_futility else None,
                 drift)
    stop = c.stopping()
    stop[-1] = 1 - stop[:-1].sum()  # whatever is left ends at the last look
    return float(np.dot(stop, plan.looks))


def _upper_ordering(fractions, efficacy, k: int, z: float, drift: float) -> float:
    """P_drift of an outcome at least as extreme upward as stopping at look ``k`` (0-based) with ``z``,
    in the stage-wise ordering: crossing the upper bound earlier, or reaching look k with Z >= z."""
    walk, total = _Walk(0.0), 0.0
    for j, (tj, c) in enumerate(zip(fractions, efficacy, strict=True)):
        if j == k:
            return total + walk.tail(tj, z, drift, True)
        total += walk.tail(tj, c, drift, True)
        walk = walk.advance(tj, [(-c, c)], drift)
    raise ValueError(f"look {k + 1} is not in the plan")


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
    p_up = _upper_ordering(fractions, efficacy, k, abs(z), 0.0)
    pvalue = min(1.0, 2 * min(p_up, 1 - p_up))

    def drift_at(q: float) -> float:
        return optimize.brentq(lambda d: _upper_ordering(fractions, efficacy, k, abs(z), d) - q, -30, 30, xtol=1e-8)

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


def fixed_plan(participants: int, looks: int | list[int] = 5, alpha: float = 0.05, spending: str = "obf",
               rho: float = 1.0, primary: str = "participant", futility: bool = False, effect: float | None = None,
               power: float = 0.8, votes_per_participant: int = 50, icc: float = 0.0) -> SequentialPlan:
    """The plan of a study whose maximum is fixed: ``participants`` completed participants, ``looks``
    equally spaced looks (a number) or the completed participants at each look (a list).

    With ``effect`` the plan also gives the expected numbers of participants, and futility bounds
    (by beta spending under that effect) when ``futility`` is set.

    >>> p = fixed_plan(30, 3)
    >>> p.looks, [round(b, 3) for b in p.efficacy]
    ((10, 20, 30), [3.71, 2.511, 1.993])
    """
    if participants < 2:
        raise ValueError(f"a sequential plan needs at least 2 participants, got {participants}")
    if primary not in PRIMARY:
        raise ValueError(f"primary must be one of {', '.join(PRIMARY)}, got {primary!r}")
    if isinstance(looks, int):
        if not 1 <= looks <= participants:
            raise ValueError(f"looks must be between 1 and the {participants} participants, got {looks}")
        counts = tuple(sorted({math.ceil(participants * (k + 1) / looks) for k in range(looks)}))
    else:
        counts = tuple(int(n) for n in looks)
        if list(counts) != sorted(set(counts)) or counts[0] < 2 or counts[-1] != participants:
            raise ValueError(f"looks must be increasing counts of completed participants from 2 up to {participants}, "
                             f"got {list(counts)}")
    fractions = [n / participants for n in counts]
    efficacy = efficacy_bounds(fractions, alpha, spending, rho)
    if effect is None:
        if futility:
            raise ValueError("futility bounds need the effect the study is powered for (effect)")
        return SequentialPlan(participants, counts, tuple(efficacy), None, alpha, spending, rho, primary)
    sd = math.sqrt(effect * (1 - effect) / votes_per_participant * (1 + (votes_per_participant - 1) * icc))
    planned = abs(effect - 0.5) / sd * math.sqrt(participants)  # E[Z] with every participant at the effect
    fut = futility_bounds(fractions, efficacy, planned, 1 - power, spending, rho) if futility else None
    achieved = crossing(fractions, efficacy, fut, planned).power  # this maximum's power at the effect
    n_fixed = _participants_fixed(effect, alpha, achieved, votes_per_participant, icc)
    plan = SequentialPlan(participants, counts, tuple(efficacy), tuple(fut) if fut else None, alpha, spending, rho,
                          primary, effect, achieved, math.ceil(n_fixed))
    return SequentialPlan(**{**plan.__dict__, "expected_null": expected_participants(plan, 0.0),
                             "expected_effect": expected_participants(plan, planned)})


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


def look_statistic(pair, primary: str = "participant") -> tuple[float, float, float]:
    """(z, share of votes for ``a``, share per unit of z) of one pair's votes (``evaluation.votes.pair_votes``):
    the participants' sign-flip test (as z), or the mixed model's Wald t turned into z, with the share
    by the delta method."""
    if primary == "mixed":
        from .clustered import mixed_model

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
