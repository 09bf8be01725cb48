"""From a vote table to a report: the analyses in one object, rendered as text, markdown, csv, json or html."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .clustered import MixedModelResult, ParticipantLevelResult, mixed_model, participant_level_test
from .preference import (
    PreferenceResult,
    SideBias,
    catch_table,
    fooling_rates,
    image_counts,
    one_sided_participants,
    participant_counts,
    preference_test,
    response_times,
    side_bias,
)
from .ranking import BradleyTerryResult, bradley_terry, holm
from .votes import load_votes, pair_votes, system_pairs

FORMATS = ("text", "markdown", "csv", "json", "html")


@dataclass
class Comparison:
    pooled: PreferenceResult
    participants: pd.DataFrame
    images: pd.DataFrame
    participant_level: ParticipantLevelResult
    mixed: MixedModelResult | None
    holm_pvalue: float = float("nan")

    @property
    def wilson(self):
        return self.pooled.confidence_interval(method="wilson")

    @property
    def clopper_pearson(self):
        return self.pooled.confidence_interval(method="exact")


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
    fooling: pd.DataFrame | None = None  # Turing mode: per system
    fooling_by_participant: pd.DataFrame | None = None
    incomplete: list[str] = field(default_factory=list)  # participants who did not finish their list
    one_sided: pd.DataFrame | None = None  # per participant: left choices, Holm-adjusted p, flagged
    one_sided_excluded: bool = False  # whether the flagged ones were left out
    verdicts: list[str] = field(default_factory=list)

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
    n_boot: int = 200,
    min_viewport: int | None = None,
    exclude_one_sided: bool = False,
) -> Report:
    """Every analysis of the study. ``order`` puts preferred names first as ``system_a`` of a pair.

    ``exclude_one_sided`` leaves out the participants :func:`~evaluation.preference.one_sided_participants`
    flags (after the catch-trial and viewport exclusions); otherwise they are only listed.
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
        excluded = excluded + flagged
        used = used[~used["participant"].astype(str).isin(flagged)]
        used.attrs.update(df.attrs)
    rank = {name: i for i, name in enumerate(order or [])}
    comparisons = []
    for pair in system_pairs(used):
        a, b = sorted(pair, key=lambda s: (rank.get(s, len(rank)), s))
        sub = pair_votes(used, a, b)
        k = int(sub["chose_a"].sum())
        table = participant_counts(sub)
        comparisons.append(
            Comparison(
                pooled=preference_test(k, len(sub) - k, a, b, alternative),
                participants=table,
                images=_named_images(image_counts(sub)),
                participant_level=participant_level_test(table, alternative),
                mixed=mixed_model(sub) if mixed else None,
            )
        )
    for comp, adjusted in zip(comparisons, holm([c.pooled.pvalue for c in comparisons]), strict=True):
        comp.holm_pvalue = adjusted
    systems = {s for c in comparisons for s in (c.pooled.system_a, c.pooled.system_b)}
    ranking = bradley_terry(used, n_boot=n_boot) if len(systems) > 2 else None
    report = Report(
        study=study,
        alpha=alpha,
        alternative=alternative,
        n_votes=int((~used["is_catch"]).sum()),
        comparisons=comparisons,
        side=side_bias(used),
        one_sided=one_sided,
        one_sided_excluded=exclude_one_sided,
        times=response_times(used),
        catch=catch,
        excluded=excluded,
        include_excluded=include_excluded,
        ranking=ranking,
        fooling=fooling_rates(used),
        fooling_by_participant=fooling_rates(used, by_participant=True),
        incomplete=sorted(set(df.loc[~df["finished"], "participant"].astype(str))) if "finished" in df else [],
    )
    report.verdicts = [verdict(c, alpha, len(comparisons) > 1) for c in comparisons]
    return report


def _named_images(table: pd.DataFrame) -> pd.DataFrame:
    # A vote table without an image column has one blank "image": no per-image table then.
    return table[table["image"] != ""].reset_index(drop=True)


def verdict(c: Comparison, alpha: float, several: bool) -> str:
    """A plain-words reading of one comparison: which conclusions survive clustering."""
    p = c.pooled
    ci = c.wilson
    pooled_p = c.holm_pvalue if several else p.pvalue
    lines = [
        f"{p.system_a} was chosen over {p.system_b} in {p.statistic:.1%} of {p.n} votes "
        f"(95% Wilson interval {ci.low:.1%} to {ci.high:.1%}; exact binomial p = {_p(p.pvalue)}"
        + (f", Holm-adjusted p = {_p(c.holm_pvalue)}" if several else "")
        + ")."
    ]
    pooled_sig = pooled_p < alpha
    pl = c.participant_level
    t_sig = not math.isnan(pl.t_pvalue) and pl.t_pvalue < alpha
    sign_sig = pl.sign_pvalue < alpha
    lines.append(
        f"Counting each of the {pl.n_participants} participants once: {pl.favour_a} preferred {p.system_a}, "
        f"{pl.favour_b} preferred {p.system_b}; t-test p = {_p(pl.t_pvalue)}, sign test p = {_p(pl.sign_pvalue)}."
    )
    mixed_sig = None
    if c.mixed is not None:
        mixed_sig = c.mixed.pvalue < alpha
        lines.append(
            f"Mixed-effects logistic regression (random intercepts: {', '.join(c.mixed.random_effects)}): "
            f"typical share {c.mixed.proportion:.1%}, p = {_p(c.mixed.pvalue)}."
        )
    clustered = [t_sig] + ([mixed_sig] if mixed_sig is not None else [])
    if not pooled_sig:
        lines.append(f"Verdict: no preference is shown at alpha = {alpha}.")
    elif all(clustered) and sign_sig:
        lines.append(f"Verdict: the preference for {p.system_a} holds in every analysis, clustered ones included.")
    elif all(clustered):
        lines.append(
            f"Verdict: the preference for {p.system_a} survives the clustered analyses, but too few participants "
            "agree for the sign test to confirm it."
        )
    elif any(clustered) or sign_sig:
        lines.append(
            f"Verdict: the pooled test favours {p.system_a}, but only some clustered analyses agree; "
            "treat the preference as suggestive and recruit more participants."
        )
    else:
        lines.append(
            f"Verdict: the pooled test favours {p.system_a}, but it does not survive once votes are grouped by "
            "participant (and image): the evidence is weaker than the pooled p-value suggests."
        )
    return " ".join(lines)


def _p(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.2g}" if value < 0.001 else f"{value:.4f}"


def _num(value):
    """JSON-safe number: NaN becomes null."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def to_dict(report: Report) -> dict:
    comparisons = []
    for c in report.comparisons:
        p, ci, cp = c.pooled, c.wilson, c.clopper_pearson
        comparisons.append(
            {
                "system_a": p.system_a,
                "system_b": p.system_b,
                "votes_a": p.votes_a,
                "votes_b": p.votes_b,
                "n": p.n,
                "proportion_a": p.statistic,
                "pvalue": p.pvalue,
                "alternative": p.alternative,
                "ci_low": ci.low,
                "ci_high": ci.high,
                "clopper_pearson": [cp.low, cp.high],
                "holm_pvalue": c.holm_pvalue,
                "participants": [
                    {"participant": str(r.participant), "votes_a": int(r.votes_a), "votes_b": int(r.votes_b)}
                    for r in c.participants.itertuples()
                ],
                "participant_level": {
                    "mean_proportion_a": _num(c.participant_level.statistic),
                    "t_statistic": _num(c.participant_level.t_statistic),
                    "t_pvalue": _num(c.participant_level.t_pvalue),
                    "favour_a": c.participant_level.favour_a,
                    "favour_b": c.participant_level.favour_b,
                    "sign_pvalue": _num(c.participant_level.sign_pvalue),
                },
                "mixed_model": None
                if c.mixed is None
                else {
                    "estimate": c.mixed.estimate,
                    "std_error": c.mixed.std_error,
                    "pvalue": c.mixed.pvalue,
                    "proportion": c.mixed.proportion,
                    "sd_participant": c.mixed.sd_participant,
                    "sd_image": _num(c.mixed.sd_image),
                },
                "images": [
                    {"image": r.image, "votes_a": int(r.votes_a), "votes_b": int(r.votes_b)} for r in c.images.itertuples()
                ],
            }
        )
    return {
        "study": report.study,
        "alpha": report.alpha,
        "votes": report.n_votes,
        "comparisons": comparisons,
        "side_bias": None
        if report.side is None
        else {"left": report.side.left, "n": report.side.n, "proportion_left": report.side.statistic, "pvalue": report.side.pvalue},
        "one_sided_participants": [
            {"participant": r.participant, "left": int(r.left), "n": int(r.n), "holm_pvalue": float(r.holm_pvalue)}
            for r in report.one_sided_flagged.itertuples()
        ],
        "one_sided_excluded": report.one_sided_excluded,
        "response_ms": report.times,
        "catch": [
            {"participant": str(r.participant), "catch_trials": int(r.catch_trials), "catch_correct": int(r.catch_correct),
             "excluded": bool(r.excluded)}
            for r in report.catch.itertuples()
        ],
        "excluded_participants": report.excluded,
        "incomplete_participants": report.incomplete,
        "excluded_applied": not report.include_excluded,
        "bradley_terry": None
        if report.ranking is None
        else [
            {"system": r.system, "strength": r.strength, "ci_low": _num(r.ci_low), "ci_high": _num(r.ci_high)}
            for r in report.ranking.table().itertuples()
        ],
        "fooling": [
            {"system": r.system, "fooled": int(r.fooled), "n": int(r.n), "rate": r.rate, "ci_low": r.ci_low,
             "ci_high": r.ci_high,
             "participants": [{"participant": str(q.participant), "fooled": int(q.fooled), "n": int(q.n)}
                              for q in report.fooling_by_participant.itertuples() if q.system == r.system]}
            for r in report.fooling.itertuples()
        ],
        "verdicts": report.verdicts,
    }


def render(report: Report, fmt: str = "text") -> str:
    """The report in one of FORMATS."""
    from . import render as r

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "json":
        return json.dumps(to_dict(report), indent=2)
    return {"text": r.text, "markdown": r.markdown, "csv": r.csv, "html": r.html}[fmt](report)
