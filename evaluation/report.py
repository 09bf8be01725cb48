"""From a vote table to a report: every analysis of a study in one object.

The analyses know nothing of their rendering: :mod:`evaluation.render` turns a :class:`Report`
into text, markdown, csv, json or html.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .clustered import (
    MixedModelResult,
    ParticipantLevelResult,
    fit_mixed_model,
    participant_level_test,
)
from .jod import MIN_SCREENED, JODResult, ObserverScreening, jod_scale, observer_screening
from .matrices import comparison_counts
from .preference import (
    PreferenceResult,
    catch_table,
    fooling_rates,
    image_counts,
    one_sided_participants,
    participant_counts,
    preference_test,
    response_times,
)
from .ranking import BradleyTerryResult, bradley_terry, holm
from .sequential import LookResult, SequentialPlan, completed_order, replay
from .sidebias import SideBias, side_bias
from .votes import load_votes, oriented, pair_votes, system_pairs, votes_by_pair

MANY_SYSTEMS = 6  # above this many systems the report leads with the ranking and leaves per-pair tables to the detail


@dataclass
class Comparison:
    pooled: PreferenceResult
    participants: pd.DataFrame
    images: pd.DataFrame
    participant_level: ParticipantLevelResult
    mixed: MixedModelResult | None
    holm_pvalue: float = float("nan")
    mixed_skipped: str | None = None  # why the mixed model was not fitted

    @property
    def wilson(self):
        return self.pooled.confidence_interval(method="wilson")

    @property
    def clopper_pearson(self):
        return self.pooled.confidence_interval(method="exact")

    @property
    def a_leads(self) -> bool:
        """Whether ``system_a`` got at least as many votes as ``system_b``."""
        return self.pooled.votes_a >= self.pooled.votes_b

    @property
    def leader(self) -> str:
        """The system chosen in the majority of the pooled votes (``system_a`` on a tie)."""
        return self.pooled.system_a if self.a_leads else self.pooled.system_b

    @property
    def other(self) -> str:
        return self.pooled.system_b if self.a_leads else self.pooled.system_a

    def leader_share(self) -> tuple[float, float, float]:
        """The leader's share of the votes and its 95% Wilson interval."""
        p, ci = self.pooled.statistic, self.wilson
        return (p, ci.low, ci.high) if self.a_leads else (1 - p, 1 - ci.high, 1 - ci.low)


@dataclass(frozen=True)
class Conclusion:
    """What one comparison allows one to say, in the direction of the pooled majority.

    ``level``: 'none' (no preference shown), 'holds' (every analysis agrees), 'holds-where-estimable'
    (every analysis that could be estimated agrees; ``unestimated`` names the others), 'no-sign' (the
    clustered tests agree but the sign test does not), 'suggestive' (some clustered analyses agree),
    'pooled-only' (none does) or 'disagree' (a clustered analysis points significantly the other way).
    An analysis that could not be estimated never counts for or against.
    """

    preferred: str
    other: str
    level: str
    against: tuple[str, ...] = ()
    unestimated: tuple[str, ...] = ()  # e.g. ("mixed model",): requested, but it could not be estimated

    @property
    def significant(self) -> bool:
        return self.level in ("holds", "holds-where-estimable", "no-sign", "suggestive", "pooled-only")


def conclude(c: Comparison, alpha: float, several: bool) -> Conclusion:
    """Read one comparison: which clustered analyses support, or contradict, the pooled majority."""
    pooled_p = c.holm_pvalue if several else c.pooled.pvalue
    pl = c.participant_level
    a = c.a_leads
    # (name, significant, points towards the leader) for each clustered analysis
    analyses = []
    if pl.n_participants >= 2:
        analyses.append(("sign-flip test", pl.pvalue < alpha, (pl.statistic > 0.5) == a))
    sign = ("sign test", pl.sign_pvalue < alpha, (pl.favour_a > pl.favour_b) == a)
    if c.mixed is not None:
        analyses.append(("mixed model", c.mixed.pvalue < alpha, (c.mixed.estimate > 0) == a))
    unestimated = ("mixed model",) if c.mixed is None and c.mixed_skipped else ()
    against = tuple(name for name, sig, towards in analyses + [sign] if sig and not towards)
    if c.pooled.votes_a == c.pooled.votes_b or not pooled_p < alpha:
        level = "none"
    elif against:
        level = "disagree"
    else:
        clustered = [sig for _, sig, _ in analyses]
        if clustered and all(clustered) and sign[1]:
            level = "holds-where-estimable" if unestimated else "holds"
        elif clustered and all(clustered):
            level = "no-sign"
        elif any(clustered) or sign[1]:
            level = "suggestive"
        else:
            level = "pooled-only"
    return Conclusion(c.leader, c.other, level, against, unestimated)


@dataclass(frozen=True)
class SequentialSummary:
    """A sequential study's plan replayed on its votes: every look taken, the last one decides."""

    plan: SequentialPlan
    a: str  # the plan's shares are of votes for this system
    b: str
    looks: list[LookResult]

    @property
    def final(self) -> LookResult | None:
        return self.looks[-1] if self.looks else None

    def verdict(self) -> str:
        last = self.final
        if last is None:
            return f"no look yet: the first comes after {self.plan.looks[0]} completed participants"
        leader = self.a if last.estimate >= 0.5 else self.b
        if last.decision == "efficacy":
            return f"preference for {leader}"
        if last.decision == "continue":
            return f"no bound crossed at look {last.look} of {len(self.plan.looks)}: the study goes on"
        return "no preference shown" + (" (stopped for futility)" if last.decision == "futility" else "")


def sequential_summary(df: pd.DataFrame, plan: SequentialPlan | dict, systems: list[str]) -> SequentialSummary:
    """Replay ``plan`` on all the votes (no exclusions: the plan's looks analysed every completed
    participant, in the order they finished) for the first two systems."""
    plan = plan if isinstance(plan, SequentialPlan) else SequentialPlan.from_dict(plan)
    if len(systems) != 2:
        raise ValueError(f"a sequential plan compares two systems, the votes have {len(systems)}: {systems}")
    a, b = systems
    return SequentialSummary(plan, a, b, replay(plan, pair_votes(df, a, b), completed_order(df)))


@dataclass
class Report:
    study: str
    alpha: float
    alternative: str
    n_votes: int
    comparisons: list[Comparison]
    side: SideBias | None
    times: dict | None
    catch: pd.DataFrame
    excluded: list[str]
    include_excluded: bool
    ranking: BradleyTerryResult | None
    systems: list[str] = field(default_factory=list)  # in the researcher's order
    fooling: pd.DataFrame | None = None  # Turing mode: per system
    fooling_by_participant: pd.DataFrame | None = None
    incomplete: list[str] = field(default_factory=list)  # participants who did not finish their list
    one_sided: pd.DataFrame | None = None  # per participant: left choices, Holm-adjusted p, flagged
    one_sided_excluded: bool = False  # whether the flagged ones were left out
    jod: JODResult | None = None
    jod_by_image: list[JODResult] = field(default_factory=list)
    screening: ObserverScreening | None = None  # pwcmp's outlier analysis
    outliers_excluded: bool = False
    n_participants: int = 0
    conclusions: list[Conclusion] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the reader must know about the analyses' limits
    sequential: SequentialSummary | None = None  # the group-sequential plan's decision, when the study has one
    adaptive: bool = False  # the pairs were chosen adaptively (the export's scheduled_after_vote is filled)

    @property
    def many_systems(self) -> bool:
        return len(self.systems) > MANY_SYSTEMS

    @property
    def one_sided_flagged(self) -> pd.DataFrame:
        """The rows of ``one_sided`` that are flagged (none when sides were not recorded)."""
        table = self.one_sided
        if table is None or not len(table):
            return pd.DataFrame(columns=["participant", "left", "n", "holm_pvalue"])
        return table[table["flagged"]]


def build_report(
    votes: pd.DataFrame | str | Path,
    study: str = "",
    alpha: float = 0.05,
    alternative: str = "two-sided",
    include_excluded: bool = False,
    max_fail_rate: float = 0.5,
    order: list[str] | None = None,
    mixed: bool = True,
    n_boot: int = 500,
    min_viewport: int | None = None,
    exclude_one_sided: bool = False,
    exclude_outliers: bool = False,
    reference: str | None = None,
    jod_prior: str = "gaussian",
    by_image: bool = False,
    sequential: SequentialPlan | dict | None = None,
) -> Report:
    """Every analysis of the study. ``order`` puts preferred names first as ``system_a`` of a pair.

    ``exclude_one_sided`` leaves out the participants :func:`~evaluation.preference.one_sided_participants`
    flags, ``exclude_outliers`` those pwcmp's outlier analysis puts above 1.5 (after the catch-trial
    and viewport exclusions); otherwise they are only listed. ``reference`` fixes that system's JOD
    score and Bradley-Terry strength at 0; ``by_image`` adds a JOD scaling per image.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    df = load_votes(votes)
    if not study and not isinstance(votes, pd.DataFrame):
        study = Path(votes).stem
    catch = catch_table(df, max_fail_rate)
    excluded = [str(p) for p in catch.loc[catch["excluded"], "participant"]] if len(catch) else []
    used = df if include_excluded else df[~df["participant"].isin(excluded)]
    if min_viewport and "viewport_width" in used:
        # Small screens out; participants whose width was not measured stay in.
        width = pd.to_numeric(used["viewport_width"], errors="coerce")
        small = sorted(set(used.loc[width < min_viewport, "participant"].astype(str)))
        excluded = excluded + [p for p in small if p not in excluded]
        used = used[~(width < min_viewport)]
    used.attrs.update(df.attrs)
    one_sided = one_sided_participants(used, alpha)
    if exclude_one_sided and len(one_sided):
        flagged = [p for p in one_sided.loc[one_sided["flagged"], "participant"] if p not in excluded]
        used = _without(used, flagged, df)
        excluded = excluded + flagged
    systems = _ordered_systems(used, order)
    screening = _screening(used, systems, jod_prior)
    if exclude_outliers and screening is not None:
        outliers = [p for p in screening.flagged if p not in excluded]
        used = _without(used, outliers, df)
        excluded = excluded + outliers
    comparisons = _comparisons(used, systems, alternative, mixed)
    reg = used[~used["is_catch"]]
    n_participants = int(reg["participant"].nunique())
    several = len(comparisons) > 1
    report = Report(
        study=study,
        alpha=alpha,
        alternative=alternative,
        n_votes=len(reg),
        comparisons=comparisons,
        side=side_bias(used),
        one_sided=one_sided,
        one_sided_excluded=exclude_one_sided,
        times=response_times(used),
        catch=catch,
        excluded=excluded,
        include_excluded=include_excluded,
        ranking=None,
        systems=systems,
        fooling=fooling_rates(used),
        fooling_by_participant=fooling_rates(used, by_participant=True),
        incomplete=sorted(set(df.loc[~df["finished"], "participant"].astype(str))) if "finished" in df else [],
        screening=screening,
        outliers_excluded=exclude_outliers,
        n_participants=n_participants,
    )
    if comparisons:
        counts = comparison_counts(used, systems)
        report.jod = jod_scale(counts, jod_prior, reference, n_boot)
        if len(systems) > 2:
            report.ranking = bradley_terry(counts, n_boot, reference=reference)
        if by_image:
            report.jod_by_image = [
                jod_scale(comparison_counts(group, systems), jod_prior, reference, n_boot, group=str(image))
                for image, group in reg.groupby("image") if image != ""
            ]
    report.conclusions = [conclude(c, alpha, several) for c in comparisons]
    report.verdicts = [verdict(c, alpha, several) for c in comparisons]
    if sequential:
        report.sequential = sequential_summary(df, sequential, systems)
    if "scheduled_after_vote" in df:
        report.adaptive = bool(pd.to_numeric(df["scheduled_after_vote"], errors="coerce").notna().any())
    report.notes = _notes(report, mixed)
    return report


def _without(used: pd.DataFrame, participants: list[str], df: pd.DataFrame) -> pd.DataFrame:
    kept = used[~used["participant"].astype(str).isin(participants)]
    kept.attrs.update(df.attrs)
    return kept


def _ordered_systems(used: pd.DataFrame, order: list[str] | None) -> list[str]:
    """The compared systems, those named in ``order`` first and in that order, the rest sorted."""
    present = sorted({s for pair in system_pairs(used) for s in pair})
    rank = {name: i for i, name in enumerate(order or [])}
    return sorted(present, key=lambda s: (rank.get(s, len(rank)), s))


def _comparisons(used: pd.DataFrame, systems: list[str], alternative: str, mixed: bool) -> list[Comparison]:
    position = {s: i for i, s in enumerate(systems)}
    split = {tuple(sorted(pair, key=position.get)): votes for pair, votes in votes_by_pair(used).items()}
    comparisons = []
    for a, b in sorted(split, key=lambda p: (position[p[0]], position[p[1]])):
        sub = oriented(split[a, b], a)
        k = int(sub["chose_a"].sum())
        table = participant_counts(sub)
        fitted, skipped = fit_mixed_model(sub) if mixed else (None, None)
        comparisons.append(
            Comparison(
                pooled=preference_test(k, len(sub) - k, a, b, alternative),
                participants=table,
                images=_named_images(image_counts(sub)),
                participant_level=participant_level_test(table, alternative),
                mixed=fitted,
                mixed_skipped=skipped,
            )
        )
    for comp, adjusted in zip(comparisons, holm([c.pooled.pvalue for c in comparisons]), strict=True):
        comp.holm_pvalue = adjusted
    return comparisons


def _screening(used: pd.DataFrame, systems: list[str], prior: str) -> ObserverScreening | None:
    """pwcmp's outlier analysis, per image as pwcmp does it per scene; None below MIN_SCREENED participants."""
    if used.loc[~used["is_catch"], "participant"].nunique() < MIN_SCREENED or len(systems) < 2:
        return None
    return observer_screening(used, systems, "image", prior)


def _notes(report: Report, mixed: bool) -> list[str]:
    notes = []
    if report.n_participants == 1:
        notes.append("Only one participant voted: the participant-level tests, the mixed model and the bootstrap "
                     "intervals need two or more, so every interval below is a single point.")
    skipped = [c for c in report.comparisons if c.mixed_skipped]
    if mixed and skipped:
        reasons = sorted({c.mixed_skipped for c in skipped})
        notes.append(f"The mixed model was left out of {len(skipped)} of {len(report.comparisons)} comparison(s): "
                     + "; ".join(reasons) + ".")
    for result in (report.jod, report.ranking):
        if result is not None:
            notes.extend(result.notes)
    if report.adaptive:
        notes.append("Adaptive design: each participant's pairs were chosen from the votes before them, so the pairs "
                     "got unequal numbers of votes. The JOD and Bradley-Terry scales use every vote and are the result; "
                     "the per-pair percentages and tests below describe the votes each pair happened to get.")
    if report.sequential is not None:
        notes.append("The study follows a sequential plan: its decision, p-value and interval (first) account for the "
                     "looks; the per-pair tests below do not, and include participants who finished after the stop.")
    return list(dict.fromkeys(notes))


def _named_images(table: pd.DataFrame) -> pd.DataFrame:
    # A vote table without an image column has one blank "image": no per-image table then.
    return table[table["image"] != ""].reset_index(drop=True)


_VERDICTS = {
    "holds": "Verdict: the preference for {w} holds in every analysis, clustered ones included.",
    "holds-where-estimable": "Verdict: the preference for {w} holds in every analysis that could be estimated, "
                             "clustered ones included; the {unestimated} could not be estimated ({why}).",
    "no-sign": "Verdict: the preference for {w} survives the clustered analyses, but too few participants agree "
               "for the sign test to confirm it.",
    "suggestive": "Verdict: the pooled test favours {w}, but only some clustered analyses agree; treat the preference "
                  "as suggestive and recruit more participants.",
    "pooled-only": "Verdict: the pooled test favours {w}, but it does not survive once votes are grouped by participant "
                   "(and image): the evidence is weaker than the pooled p-value suggests.",
    "disagree": "Verdict: the analyses disagree: the pooled votes favour {w}, but the {against} point(s) significantly "
                "to {l}; conclude no preference, and look at the participants' tables.",
}


def verdict(c: Comparison, alpha: float, several: bool) -> str:
    """A plain-words reading of one comparison, naming the system chosen in the majority."""
    p = c.pooled
    w, lo = c.leader, c.other
    share, low, high = c.leader_share()
    lines = [
        f"{w} was chosen over {lo} in {share:.1%} of {p.n} votes "
        f"(95% Wilson interval {low:.1%} to {high:.1%}; exact binomial p = {_p(p.pvalue)}"
        + (f", Holm-adjusted p = {_p(c.holm_pvalue)}" if several else "")
        + ")."
    ]
    pl = c.participant_level
    favour_w, favour_l = (pl.favour_a, pl.favour_b) if c.a_leads else (pl.favour_b, pl.favour_a)
    counted = "the one participant" if pl.n_participants == 1 else f"each of the {pl.n_participants} participants once"
    lines.append(
        f"Counting {counted}: {favour_w} preferred {w}, {favour_l} preferred {lo}; "
        f"sign-flip test of their shares p = {_p(pl.pvalue)}, sign test p = {_p(pl.sign_pvalue)}."
    )
    if c.mixed is not None:
        typical = c.mixed.proportion if c.a_leads else 1 - c.mixed.proportion
        lines.append(
            f"Mixed-effects logistic regression (random intercepts: {', '.join(c.mixed.random_effects)}): "
            f"typical share for {w} {typical:.1%}, p = {_p(c.mixed.pvalue)} (t, {c.mixed.df} df)."
        )
    conclusion = conclude(c, alpha, several)
    if c.mixed is None and c.mixed_skipped and conclusion.level != "holds-where-estimable":
        lines.append(f"No mixed model: {c.mixed_skipped}.")
    if conclusion.level == "none":
        lines.append(f"Verdict: no preference is shown at alpha = {alpha}.")
    else:
        lines.append(_VERDICTS[conclusion.level].format(w=w, l=lo, against=" and ".join(conclusion.against),
                                                        unestimated=" and ".join(conclusion.unestimated),
                                                        why=c.mixed_skipped))
    return " ".join(lines)


def significance_matrix(report: Report) -> pd.DataFrame:
    """All pairs at a glance, systems in ranking order: '>' the row's system is preferred, '<' the
    column's, '>?' or '<?' only in the pooled test (clustered analyses do not confirm it), '!' the
    analyses disagree, '=' no preference shown, '' not compared. Holm-adjusted over pairs."""
    names = list(report.jod.table()["system"]) if report.jod is not None else report.systems
    matrix = pd.DataFrame("", index=names, columns=names)
    for conclusion in report.conclusions:
        w, lo = conclusion.preferred, conclusion.other
        if conclusion.level == "none":
            matrix.loc[w, lo] = matrix.loc[lo, w] = "="
        elif conclusion.level == "disagree":
            matrix.loc[w, lo] = matrix.loc[lo, w] = "!"
        else:
            mark = "" if conclusion.level in ("holds", "holds-where-estimable", "no-sign") else "?"
            matrix.loc[w, lo], matrix.loc[lo, w] = ">" + mark, "<" + mark
    for name in names:
        matrix.loc[name, name] = "-"
    return matrix


def _p(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.2g}" if value < 0.001 else f"{value:.4f}"
