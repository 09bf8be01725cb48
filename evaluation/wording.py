"""The report's words: every verdict, note and decision a report prints, in one place. The
renderers (:mod:`evaluation.render`) put them in their formats; the analyses
(:mod:`evaluation.report`) know nothing of them."""
from __future__ import annotations

import math

from .report import Comparison, Conclusion, Report, SequentialSummary

SPLITS_CAPTION = ("Each pair's share for its first system on each kind of screen, with an exact 95% interval over "
                  "votes. A look, not a test: a participant's votes are alike, so these intervals are narrower than "
                  "clustered ones, and small groups say little.")


METRICS_CAPTION = (
    "2AFC: for each pair of stimuli, the share of people who chose the image the metric prefers (half on a tie), "
    "averaged over pairs (Zhang et al. 2018); its 95% interval resamples participants. Votes: the share of single "
    "votes the metric agrees with. People's ceiling: how often two participants agree on a pair of stimuli; a metric "
    "at the ceiling agrees with a person as often as another person does.")


def metrics_lines(report: Report) -> list[str]:
    """What the metrics' agreement with the votes says, in sentences."""
    m = report.metrics
    if m is None:
        return []
    best = max(m.metrics, key=lambda a: a.two_afc)
    ceiling = (f"Two participants agree on a pair of stimuli {m.ceiling:.1%} of the time ({m.ceiling_pairs} pairs with "
               "two votes or more): people's ceiling." if m.ceiling_pairs else
               "No pair of stimuli has two votes: people's ceiling cannot be measured.")
    lines = [f"{ceiling} The metric closest to people is {best.metric}, with a 2AFC score of {best.two_afc:.1%} "
             f"(95% CI {best.ci_low:.1%} to {best.ci_high:.1%})."]
    for a in m.metrics:
        if a.ties >= 0.01:
            lines.append(f"{a.metric} ties (equal values on both sides) in {a.ties:.0%} of the votes; each counts as half.")
        if a.ci_low <= 0.5 <= a.ci_high:
            lines.append(f"{a.metric} cannot be told from chance (its interval holds 50%).")
    return lines


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


def header(report: Report) -> str:
    return (f"{report.n_votes} regular votes, {report.n_participants} participant"
            f"{'' if report.n_participants == 1 else 's'}, {len(report.systems)} systems, alpha {report.alpha}")


def scale_caption(report: Report) -> str:
    anchor = f"{report.jod.reference} fixed at 0" if report.jod.reference else "mean 0"
    prior = "Gaussian distance prior" if report.jod.prior == "gaussian" else "no prior"
    boot = (f"95% percentile bootstrap over participants, {report.jod.n_boot} resamples" if report.jod.n_boot
            else "no bootstrap")
    return (f"JOD: Thurstone Case V as pwcmp scales it (1 JOD = 75% preference, {prior}, {anchor}); "
            f"Bradley-Terry: log-odds strengths, {anchor}; intervals: {boot}.")


MATRIX_KEY = ("Every pair, Holm-adjusted: '>' the row's system is preferred, '<' the column's; '?' only in the pooled "
              "test; '!' the analyses disagree; '=' no preference shown; blank: not compared.")


def summary_lines(report: Report) -> list[str]:
    lines = []
    if report.jod is not None and len(report.systems) == 2:
        t = report.jod.table()
        lines.append(f"JOD scale: {t.loc[0, 'system']} is {t.loc[0, 'jod'] - t.loc[1, 'jod']:.2f} JOD above "
                     f"{t.loc[1, 'system']} (1 JOD = 75% preference).")
    if report.fooling is not None and len(report.fooling):
        for r in report.fooling.itertuples():
            lines.append(
                f"Turing test: {r.system} was taken for the real photo in {r.rate:.1%} of {int(r.n)} trials "
                f"(fooling rate, 95% Wilson interval {r.ci_low:.1%} to {r.ci_high:.1%})."
            )
    if report.incomplete:
        lines.append(f"Incomplete participants (their votes are counted): {', '.join(report.incomplete)}.")
    if report.side is not None:
        s = report.side
        low, high = s.interval()
        lines.append(f"Side bias (an order effect beside the systems' strengths): of two equally good images the left "
                     f"one is chosen {s.probability:.1%} of the time (95% CI {low:.1%} to {high:.1%}, "
                     f"participant-clustered p = {s.pvalue:.4g}); left was chosen in {s.raw_share:.1%} of {s.n} votes.")
    flagged = report.one_sided_flagged
    if len(flagged):
        lines.append(
            "One-sided participants (one side chosen beyond chance, Holm-adjusted exact binomial p < "
            f"{report.alpha}; {'excluded' if report.one_sided_excluded else 'still counted: --exclude-one-sided leaves them out'}): "
            + ", ".join(f"{r.participant} (left in {r.left} of {r.n}, p = {r.holm_pvalue:.2g})" for r in flagged.itertuples())
            + "."
        )
    if report.colour_vision is not None:
        vision = report.colour_vision
        missed = vision[vision["colour_vision"] != "normal"]
        state = ("left out by --exclude-colour-vision" if report.colour_vision_excluded
                 else "still counted: --exclude-colour-vision leaves them out; decide it before looking at the results")
        lines.append(f"Colour-vision plates: {len(vision)} participants screened, {len(missed)} missed them"
                     + (f" ({state}): " + ", ".join(f"{r.participant} ({r.colour_vision})" for r in missed.itertuples())
                        if len(missed) else "") + ".")
    if report.screening is not None:
        s = report.screening
        table = s.table()
        out = table[table["flagged"]]
        method = "pwcmp's outlier analysis" + ("" if s.leave_one_out else ", against the scale of all participants")
        if len(out):
            state = "excluded" if report.outliers_excluded else "still counted: --exclude-outliers leaves them out"
            lines.append(f"Observer screening ({method}, distance above {s.threshold}; {state}): "
                         + ", ".join(f"{r.participant} ({r.distance:.2f})" for r in out.itertuples()) + ".")
        else:
            lines.append(f"Observer screening ({method}): no participant above {s.threshold}.")
    if report.times is not None:
        t = report.times
        lines.append(
            f"Response time: median {t['median']:.0f} ms (quartiles {t['q1']:.0f} to {t['q3']:.0f} ms, "
            f"{t['n']} votes; {t['under_300ms']} under 300 ms)."
        )
    if len(report.catch):
        excluded = ", ".join(report.excluded) or "none"
        rule = "not applied (--include-excluded)" if report.include_excluded else "applied"
        lines.append(
            f"Catch trials: {int(report.catch['catch_correct'].sum())} of {int(report.catch['catch_trials'].sum())} "
            f"correct; excluded participants: {excluded} (rule {rule})."
        )
    return lines


def top_images(c: Comparison) -> str:
    """The images most in favour of the pair's leader, leaving out those where it got no vote."""
    column = "votes_a" if c.a_leads else "votes_b"
    images = c.images[c.images[column] > 0].copy()
    if images.empty:
        return ""
    images["share"] = images[column] / images["n"]
    top = images.sort_values(["share", column, "image"], ascending=[False, False, True]).head(3)
    return f"Images most in favour of {c.leader}: " + ", ".join(f"{r.image} ({int(getattr(r, column))} of {int(r.n)})"
                                                               for r in top.itertuples())


def sequential_lines(report: Report) -> list[str]:
    """The sequential plan and its decision, in plain sentences (every format starts with them)."""
    seq = report.sequential
    if seq is None:
        return []
    lines = seq.plan.describe().splitlines()
    last = seq.final
    if last is not None:
        where = (f"stopped at look {last.look} of {len(seq.plan.looks)} ({last.participants} participants)" if last.stopped
                 else f"look {last.look} of {len(seq.plan.looks)} ({last.participants} participants), no bound crossed")
        leader, share = (seq.a, last.estimate) if last.estimate >= 0.5 else (seq.b, 1 - last.estimate)
        low, high = sorted((last.low, last.high) if leader == seq.a else (1 - last.high, 1 - last.low))
        lines.append(f"Decision: {where}: {sequential_verdict(seq)}. z = {last.z:+.3f}, p = {p_text(last.pvalue)} (stage-wise "
                     f"ordering: the looks are accounted for); {leader} chosen in {share:.1%} of the votes (median-"
                     f"unbiased), {last.level:.0%} CI {low:.1%} to {high:.1%}.")
    else:
        lines.append(f"Decision: {sequential_verdict(seq)}.")
    return lines


def figure(value: float) -> str:
    """A score as the tables print it: signed, 3 decimals, n/a for none."""
    return "n/a" if value is None or math.isnan(value) else f"{value:+.3f}"
