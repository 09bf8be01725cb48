"""Sequential plans: the looks, their bounds, and what a plan promises (power, expected participants)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .bounds import crossing, drift_for_power, efficacy_bounds, futility_bounds

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
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return (z * _planned_sd(effect, votes_per_participant, icc) / abs(effect - 0.5)) ** 2


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
    return _with_expectations(plan, planned)


def _with_expectations(plan: SequentialPlan, planned: float) -> SequentialPlan:
    """``plan`` with its expected participants under no preference and at the planned drift."""
    return SequentialPlan(**{**plan.__dict__, "expected_null": expected_participants(plan, 0.0),
                             "expected_effect": expected_participants(plan, planned)})


def _planned_sd(effect: float, votes_per_participant: int, icc: float) -> float:
    """The SD of one participant's share at the planned effect, with the intra-participant correlation."""
    return math.sqrt(effect * (1 - effect) / votes_per_participant * (1 + (votes_per_participant - 1) * icc))


def expected_participants(plan: SequentialPlan, drift: float, obey_futility: bool = True) -> float:
    """Expected completed participants when E[Z] at the maximum is ``drift`` (0: no preference)."""
    c = crossing(plan.fractions, list(plan.efficacy), list(plan.futility) if plan.futility and obey_futility else None,
                 drift)
    stop = c.stopping()
    stop[-1] = 1 - stop[:-1].sum()  # whatever is left ends at the last look
    return float(np.dot(stop, plan.looks))


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
    planned = abs(effect - 0.5) / _planned_sd(effect, votes_per_participant, icc) * math.sqrt(participants)
    fut = futility_bounds(fractions, efficacy, planned, 1 - power, spending, rho) if futility else None
    achieved = crossing(fractions, efficacy, fut, planned).power  # this maximum's power at the effect
    n_fixed = _participants_fixed(effect, alpha, achieved, votes_per_participant, icc)
    plan = SequentialPlan(participants, counts, tuple(efficacy), tuple(fut) if fut else None, alpha, spending, rho,
                          primary, effect, achieved, math.ceil(n_fixed))
    return _with_expectations(plan, planned)
