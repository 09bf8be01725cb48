"""From a vote table to a report: every analysis of a study in one object.

The analyses know nothing of their rendering: :mod:`evaluation.render` turns a :class:`Report`
into text, markdown, csv, json or html.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
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
from .metric_agreement import MetricsReport, agreement, attach_metrics
from .options import ReportOptions
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
from .splits import preference_by
from .votes import load_votes, oriented, pair_votes, system_pairs, votes_by_pair

MANY_SYSTEMS = 6  # above this many systems the report leads with the ranking and leaves per-pair tables to the detail


@dataclass(frozen=True)
class Comparison:
    pooled: PreferenceResult
    participants: pd.DataFrame
    images: pd.DataFrame
    participant_level: ParticipantLevelResult
    mixed: MixedModelResult | None
    holm_pvalue: float = float("nan")  # the pooled p-value, Holm-adjusted over the study's pairs
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


def sequential_summary(df: pd.DataFrame, plan: SequentialPlan | dict, systems: list[str]) -> SequentialSummary:
    """Replay ``plan`` on all the votes (no exclusions: the plan's looks analysed every completed
    participant, in the order they finished) for the first two systems."""
    plan = plan if isinstance(plan, SequentialPlan) else SequentialPlan.from_dict(plan)
    if len(systems) != 2:
        raise ValueError(f"a sequential plan compares two systems, the votes have {len(systems)}: {systems}")
    a, b = systems
    return SequentialSummary(plan, a, b, replay(plan, pair_votes(df, a, b), completed_order(df)))


@dataclass(frozen=True)
class Report:
    """Every analysis of one study, built once by :func:`build_report`; its words are
    :mod:`evaluation.wording`'s, its formats :mod:`evaluation.render`'s."""

    study: str
    options: ReportOptions
    n_votes: int
    n_participants: int
    systems: list[str]  # in the researcher's order
    comparisons: list[Comparison]
    conclusions: list[Conclusion]
    side: SideBias | None
    times: dict | None
    catch: pd.DataFrame
    excluded: list[str]
    incomplete: list[str]  # participants who did not finish their list
    one_sided: pd.DataFrame | None  # per participant: left choices, Holm-adjusted p, flagged
    colour_vision: pd.DataFrame | None  # per screened participant: the plates' result (colorstudy.plates)
    splits: pd.DataFrame | None  # each pair's share by device class and gamut, when asked (evaluation.splits)
    metrics: MetricsReport | None  # automatic metrics held against the votes (evaluation.metric_agreement)
    screening: ObserverScreening | None  # pwcmp's outlier analysis
    jod: JODResult | None
    jod_by_image: list[JODResult]
    ranking: BradleyTerryResult | None
    fooling: pd.DataFrame | None  # Turing mode: per system
    fooling_by_participant: pd.DataFrame | None
    sequential: SequentialSummary | None  # the group-sequential plan's decision, when the study has one
    adaptive: bool  # the pairs were chosen adaptively (the export's scheduled_after_vote is filled)

    @property
    def alpha(self) -> float:
        return self.options.alpha

    @property
    def alternative(self) -> str:
        return self.options.alternative

    @property
    def include_excluded(self) -> bool:
        return self.options.include_excluded

    @property
    def one_sided_excluded(self) -> bool:
        return self.options.exclude_one_sided

    @property
    def colour_vision_excluded(self) -> bool:
        return self.options.exclude_colour_vision

    @property
    def outliers_excluded(self) -> bool:
        return self.options.exclude_outliers

    @property
    def many_systems(self) -> bool:
        return len(self.systems) > MANY_SYSTEMS

    @property
    def several(self) -> bool:
        """More than one pair: the pooled p-values are Holm-adjusted."""
        return len(self.comparisons) > 1

    @property
    def one_sided_flagged(self) -> pd.DataFrame:
        """The rows of ``one_sided`` that are flagged (none when sides were not recorded)."""
        table = self.one_sided
        if table is None or not len(table):
            return pd.DataFrame(columns=["participant", "left", "n", "holm_pvalue"])
        return table[table["flagged"]]


def build_report(votes: pd.DataFrame | str | Path, options: ReportOptions | None = None, study: str = "",
                 **settings) -> Report:
    """Every analysis of the study, as :class:`ReportOptions` ask (``settings`` change single options:
    ``build_report(votes, mixed=False)``).

    Participants who fail the catch-trial rule are left out unless ``include_excluded``;
    ``exclude_one_sided`` and ``exclude_outliers`` leave out those the one-sided test and pwcmp's
    outlier analysis flag (after the catch-trial and viewport exclusions); otherwise they are only listed.
    """
    options = replace(options or ReportOptions(), **settings)
    df = load_votes(votes)
    if options.metrics:
        df = attach_metrics(df, options.metrics)
    if not study and not isinstance(votes, pd.DataFrame):
        study = Path(votes).stem
    used, catch, excluded = _exclusions(df, options)
    vision = colour_vision(df)
    if options.exclude_colour_vision and vision is not None:
        missed = [p for p in vision.loc[vision["colour_vision"] != "normal", "participant"] if p not in excluded]
        used, excluded = _without(used, missed, df), excluded + missed
    one_sided = one_sided_participants(used, options.alpha)
    if options.exclude_one_sided and len(one_sided):
        flagged = [p for p in one_sided.loc[one_sided["flagged"], "participant"] if p not in excluded]
        used, excluded = _without(used, flagged, df), excluded + flagged
    systems = _ordered_systems(used, options.order)
    screening = _screening(used, systems, options.jod_prior)
    if options.exclude_outliers and screening is not None:
        outliers = [p for p in screening.flagged if p not in excluded]
        used, excluded = _without(used, outliers, df), excluded + outliers
    comparisons = _comparisons(used, systems, options.alternative, options.mixed)
    several = len(comparisons) > 1
    reg = used[~used["is_catch"]]
    jod, ranking, by_image = _scales(used, reg, systems, options) if comparisons else (None, None, [])
    return Report(
        study=study,
        options=options,
        n_votes=len(reg),
        n_participants=int(reg["participant"].nunique()),
        systems=systems,
        comparisons=comparisons,
        conclusions=[conclude(c, options.alpha, several) for c in comparisons],
        side=side_bias(used),
        times=response_times(used),
        catch=catch,
        excluded=excluded,
        incomplete=sorted(set(df.loc[~df["finished"], "participant"].astype(str))) if "finished" in df else [],
        one_sided=one_sided,
        colour_vision=vision,
        splits=preference_by(used, [(c.pooled.system_a, c.pooled.system_b) for c in comparisons])
        if options.by_device else None,
        screening=screening,
        jod=jod,
        metrics=agreement(used, dict(zip(jod.systems, jod.statistic, strict=True)) if jod is not None else None,
                          options.n_boot),
        jod_by_image=by_image,
        ranking=ranking,
        fooling=fooling_rates(used),
        fooling_by_participant=fooling_rates(used, by_participant=True),
        sequential=sequential_summary(df, options.sequential, systems) if options.sequential else None,
        adaptive="scheduled_after_vote" in df and bool(pd.to_numeric(df["scheduled_after_vote"],
                                                                     errors="coerce").notna().any()),
    )


def colour_vision(df: pd.DataFrame) -> pd.DataFrame | None:
    """Each participant who saw colour-vision plates: participant, colour_vision (normal, the
    deficiencies suspected, or demo missed), plates_right, plates_shown; None without such a column."""
    if "colour_vision" not in df:
        return None
    screened = df[df["colour_vision"].astype("string").fillna("").str.strip() != ""]
    if screened.empty:
        return None
    columns = ["participant", "colour_vision"] + [c for c in ("plates_right", "plates_shown") if c in df]
    table = screened[columns].drop_duplicates("participant").copy()
    table["participant"] = table["participant"].astype(str)
    return table.sort_values("participant").reset_index(drop=True)


def _exclusions(df: pd.DataFrame, options: ReportOptions) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The votes kept after the catch-trial rule and the minimum window width, the catch table, who was left out."""
    catch = catch_table(df, options.max_fail_rate)
    excluded = [str(p) for p in catch.loc[catch["excluded"], "participant"]] if len(catch) else []
    used = df if options.include_excluded else df[~df["participant"].isin(excluded)]
    if options.min_viewport and "viewport_width" in used:
        # Small screens out; participants whose width was not measured stay in.
        width = pd.to_numeric(used["viewport_width"], errors="coerce")
        small = sorted(set(used.loc[width < options.min_viewport, "participant"].astype(str)))
        excluded = excluded + [p for p in small if p not in excluded]
        used = used[~(width < options.min_viewport)]
    used.attrs.update(df.attrs)
    return used, catch, excluded


def _scales(used: pd.DataFrame, reg: pd.DataFrame, systems: list[str], options: ReportOptions):
    """(JOD scale, Bradley-Terry ranking with three or more systems, JOD per image when asked)."""
    counts = comparison_counts(used, systems)
    jod = jod_scale(counts, options.jod_prior, options.reference, options.n_boot)
    ranking = bradley_terry(counts, options.n_boot, reference=options.reference) if len(systems) > 2 else None
    by_image = [jod_scale(comparison_counts(group, systems), options.jod_prior, options.reference, options.n_boot,
                          group=str(image))
                for image, group in reg.groupby("image") if image != ""] if options.by_image else []
    return jod, ranking, by_image


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
    adjusted = holm([c.pooled.pvalue for c in comparisons])
    return [replace(c, holm_pvalue=p) for c, p in zip(comparisons, adjusted, strict=True)]


def _screening(used: pd.DataFrame, systems: list[str], prior: str) -> ObserverScreening | None:
    """pwcmp's outlier analysis, per image as pwcmp does it per scene; None below MIN_SCREENED participants."""
    if used.loc[~used["is_catch"], "participant"].nunique() < MIN_SCREENED or len(systems) < 2:
        return None
    return observer_screening(used, systems, "image", prior)


def _named_images(table: pd.DataFrame) -> pd.DataFrame:
    # A vote table without an image column has one blank "image": no per-image table then.
    return table[table["image"] != ""].reset_index(drop=True)


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
