"""The report's words: every verdict, note and decision a report prints, in one place. The
renderers (:mod:`evaluation.render`) put them in their formats; the analyses
(:mod:`evaluation.report`) know nothing of them."""
from __future__ import annotations

import math

from .report import Comparison, Conclusion, Report, SequentialSummary


def notes(report: Report) -> list[str]:
    """What the reader must know about the analyses' limits, one sentence or two each."""
    notes = []
    if report.n_participants == 1:
        notes.append("Only one participant voted: the participant-level tests, the mixed model and the bootstrap "
                     "intervals need two or more, so every interval below is a single point.")
    skipped = [c for c in report.comparisons if c.mixed_skipped]
    if report.options.mixed and skipped:
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


def sequential_verdict(summary: SequentialSummary) -> str:
    """Where a sequential study stands, in a few words."""
    last = summary.final
    if last is None:
        return f"no look yet: the first comes after {summary.plan.looks[0]} completed participants"
    leader = summary.a if last.estimate >= 0.5 else summary.b
    if last.decision == "efficacy":
        return f"preference for {leader}"
    if last.decision == "continue":
        return f"no bound crossed at look {last.look} of {len(summary.plan.looks)}: the study goes on"
    return "no preference shown" + (" (stopped for futility)" if last.decision == "futility" else "")


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


def verdicts(report: Report) -> list[str]:
    """Each comparison's verdict, in the report's order."""
    return [verdict(c, k, report.alpha, report.several) for c, k in zip(report.comparisons, report.conclusions,
                                                                          strict=True)]


def verdict(c: Comparison, conclusion: Conclusion, alpha: float, several: bool) -> str:
    """A plain-words reading of one comparison, naming the system chosen in the majority."""
    p = c.pooled
    w, lo = c.leader, c.other
    share, low, high = c.leader_share()
    lines = [
        f"{w} was chosen over {lo} in {share:.1%} of {p.n} votes "
        f"(95% Wilson interval {low:.1%} to {high:.1%}; exact binomial p = {p_text(p.pvalue)}"
        + (f", Holm-adjusted p = {p_text(c.holm_pvalue)}" if several else "")
        + ")."
    ]
    pl = c.participant_level
    favour_w, favour_l = (pl.favour_a, pl.favour_b) if c.a_leads else (pl.favour_b, pl.favour_a)
    counted = "the one participant" if pl.n_participants == 1 else f"each of the {pl.n_participants} participants once"
    lines.append(
        f"Counting {counted}: {favour_w} preferred {w}, {favour_l} preferred {lo}; "
        f"sign-flip test of their shares p = {p_text(pl.pvalue)}, sign test p = {p_text(pl.sign_pvalue)}."
    )
    if c.mixed is not None:
        typical = c.mixed.proportion if c.a_leads else 1 - c.mixed.proportion
        lines.append(
            f"Mixed-effects logistic regression (random intercepts: {', '.join(c.mixed.random_effects)}): "
            f"typical share for {w} {typical:.1%}, p = {p_text(c.mixed.pvalue)} (t, {c.mixed.df} df)."
        )
    if c.mixed is None and c.mixed_skipped and conclusion.level != "holds-where-estimable":
        lines.append(f"No mixed model: {c.mixed_skipped}.")
    if conclusion.level == "none":
        lines.append(f"Verdict: no preference is shown at alpha = {alpha}.")
    else:
        lines.append(_VERDICTS[conclusion.level].format(w=w, l=lo, against=" and ".join(conclusion.against),
                                                        unestimated=" and ".join(conclusion.unestimated),
                                                        why=c.mixed_skipped))
    return " ".join(lines)


def p_text(value: float) -> str:
    """A p-value as the report prints it: 4 decimals, 2 significant digits below 0.001, n/a for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.2g}" if value < 0.001 else f"{value:.4f}"
