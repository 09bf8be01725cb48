"""Renderers of a Report: terminal text, markdown for a paper, csv, json, and a self-contained html page.

With more than a few systems (:data:`~evaluation.report.MANY_SYSTEMS`) text and markdown lead with
the ranking and the significance matrix and give each pair its verdict only; the per-participant
tables of every pair are in the csv, json and html detail.
"""
from __future__ import annotations

import base64
import html as html_lib
import io
import json
import math

import pandas as pd

from . import csvsafe, wording
from .jod import SIGMA, JODResult
from .options import FORMATS
from .report import Comparison, Report, significance_matrix
from .wording import p_text as _p


def render(report: Report, fmt: str = "text") -> str:
    """The report in one of FORMATS."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "json":
        return json.dumps(to_dict(report), indent=2)
    return {"text": text, "markdown": markdown, "csv": csv, "html": html}[fmt](report)


def _figure7(c: Comparison) -> pd.DataFrame:
    """The per-participant table with totals, as in the seed study's Figure 7."""
    p = c.pooled
    rows = [[str(r.participant), str(int(r.votes_a)), str(int(r.votes_b))] for r in c.participants.itertuples()]
    rows.append(["In total", f"{p.votes_a} ({p.votes_a / p.n:.0%})", f"{p.votes_b} ({p.votes_b / p.n:.0%})"])
    return pd.DataFrame(rows, columns=["Participant", p.system_a, p.system_b])


def _scale_caption(report: Report) -> str:
    anchor = f"{report.jod.reference} fixed at 0" if report.jod.reference else "mean 0"
    prior = "Gaussian distance prior" if report.jod.prior == "gaussian" else "no prior"
    boot = (f"95% percentile bootstrap over participants, {report.jod.n_boot} resamples" if report.jod.n_boot
            else "no bootstrap")
    return (f"JOD: Thurstone Case V as pwcmp scales it (1 JOD = 75% preference, {prior}, {anchor}); "
            f"Bradley-Terry: log-odds strengths, {anchor}; intervals: {boot}.")


def ranking_table(report: Report) -> pd.DataFrame:
    """Systems best first with JOD and Bradley-Terry (when there are more than two) and their intervals."""
    table = report.jod.table()
    out = pd.DataFrame({"System": table["system"], "JOD": table["jod"].map(_f),
                        "JOD 95% interval": [f"{_f(lo)} to {_f(hi)}" for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)]})
    if report.ranking is not None:
        bt = report.ranking.table().set_index("system")
        out["Bradley-Terry"] = [_f(bt.loc[s, "strength"]) for s in table["system"]]
        out["BT 95% interval"] = [f"{_f(bt.loc[s, 'ci_low'])} to {_f(bt.loc[s, 'ci_high'])}" for s in table["system"]]
    return out


MATRIX_KEY = ("Every pair, Holm-adjusted: '>' the row's system is preferred, '<' the column's; '?' only in the pooled "
              "test; '!' the analyses disagree; '=' no preference shown; blank: not compared.")


def _summary_rows(report: Report) -> list[str]:
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


def _top_images(c: Comparison) -> str:
    """The images most in favour of the pair's leader, leaving out those where it got no vote."""
    column = "votes_a" if c.a_leads else "votes_b"
    images = c.images[c.images[column] > 0].copy()
    if images.empty:
        return ""
    images["share"] = images[column] / images["n"]
    top = images.sort_values(["share", column, "image"], ascending=[False, False, True]).head(3)
    return f"Images most in favour of {c.leader}: " + ", ".join(f"{r.image} ({int(getattr(r, column))} of {int(r.n)})"
                                                               for r in top.itertuples())


def _header(report: Report) -> str:
    return (f"{report.n_votes} regular votes, {report.n_participants} participant"
            f"{'' if report.n_participants == 1 else 's'}, {len(report.systems)} systems, alpha {report.alpha}")


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
        lines.append(f"Decision: {where}: {wording.sequential_verdict(seq)}. z = {last.z:+.3f}, p = {_p(last.pvalue)} (stage-wise "
                     f"ordering: the looks are accounted for); {leader} chosen in {share:.1%} of the votes (median-"
                     f"unbiased), {last.level:.0%} CI {low:.1%} to {high:.1%}.")
    else:
        lines.append(f"Decision: {wording.sequential_verdict(seq)}.")
    return lines


def text(report: Report) -> str:
    out = [f"Study: {report.study or '(vote table)'}   {_header(report)}", ""]
    if report.sequential is not None:
        out += ["== Sequential plan ==", *sequential_lines(report), ""]
    notes = wording.notes(report)
    out += [f"Note: {n}" for n in notes] + ([""] if notes else [])
    if not report.comparisons:
        out += ["No regular votes to compare" + (" after the exclusions below." if report.excluded else "."), ""]
    if len(report.systems) > 2 and report.jod is not None:
        out += ["== Ranking ==", ranking_table(report).to_string(index=False), _scale_caption(report), ""]
        out += ["== Significance of every pair ==", significance_matrix(report).to_string(), MATRIX_KEY, ""]
    for c, verdict in zip(report.comparisons, wording.verdicts(report), strict=True):
        out.append(f"== {c.pooled.system_a} vs {c.pooled.system_b} ==")
        if not report.many_systems:
            out.append(_figure7(c).to_string(index=False))
            cp = c.clopper_pearson
            out.append(f"Clopper-Pearson 95% for {c.pooled.system_a}'s share: {cp.low:.4f} to {cp.high:.4f}")
            out.append("")
        out.append(verdict)
        top = _top_images(c)
        if top and not report.many_systems:
            out.append(top)
        out.append("")
    if report.many_systems and report.comparisons:
        out += ["(The per-participant counts of every pair are in the csv, json and html formats.)", ""]
    out += _by_image_text(report)
    out.extend(_summary_rows(report))
    return "\n".join(out) + "\n"


def _by_image_wide(report: Report) -> pd.DataFrame:
    rows = {r.group: dict(zip(r.systems, r.statistic, strict=True)) for r in report.jod_by_image}
    wide = pd.DataFrame(rows).T.reindex(columns=list(report.jod.table()["system"]))
    return wide.map(_f)


def _by_image_text(report: Report) -> list[str]:
    if not report.jod_by_image:
        return []
    return ["== JOD per image ==", _by_image_wide(report).to_string(), ""]


def markdown(report: Report) -> str:
    out = [f"# Preference study: {report.study or 'vote table'}", "", _header(report) + ".", ""]
    if report.sequential is not None:
        out += ["## Sequential plan", "", *(f"    {line}" if line.startswith("  ") else line for line in sequential_lines(report)), ""]
    notes = wording.notes(report)
    out += [f"> Note: {n}" for n in notes] + ([""] if notes else [])
    if len(report.systems) > 2 and report.jod is not None:
        out += ["## Ranking", "", _md_table(ranking_table(report)), "", _scale_caption(report), ""]
        matrix = significance_matrix(report).reset_index().rename(columns={"index": ""})
        out += ["## Significance of every pair", "", _md_table(matrix), "", MATRIX_KEY, ""]
    for c, verdict in zip(report.comparisons, wording.verdicts(report), strict=True):
        out.append(f"## {c.pooled.system_a} vs {c.pooled.system_b}")
        out.append("")
        if not report.many_systems:
            out += [_md_table(_figure7(c)), ""]
        out.append(verdict)
        out.append("")
    if report.jod_by_image:
        out += ["## JOD per image", "", _md_table(_by_image_wide(report).reset_index().rename(columns={"index": "image"})), ""]
    out.extend(f"- {line}" for line in _summary_rows(report))
    return "\n".join(out) + "\n"


def _md_table(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(str(c) for c in table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def csv(report: Report) -> str:
    frames = []
    for c in report.comparisons:
        t = c.participants.copy()
        t.insert(0, "system_b", c.pooled.system_b)
        t.insert(0, "system_a", c.pooled.system_a)
        frames.append(t)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return csvsafe.to_csv(table)


def _num(value):
    """JSON-safe number: NaN becomes null."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _f(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:+.3f}"


def _comparison_dict(c: Comparison, conclusion) -> dict:
    p, ci, cp = c.pooled, c.wilson, c.clopper_pearson
    return {
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
        "preferred": conclusion.preferred if conclusion.level != "none" else None,
        "conclusion": conclusion.level,
        "disagreeing_analyses": list(conclusion.against),
        "participants": [
            {"participant": str(r.participant), "votes_a": int(r.votes_a), "votes_b": int(r.votes_b)}
            for r in c.participants.itertuples()
        ],
        "participant_level": {
            "mean_proportion_a": _num(c.participant_level.statistic),
            "permutation_pvalue": _num(c.participant_level.pvalue),
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
            "df": c.mixed.df,
        },
        "mixed_model_skipped": c.mixed_skipped,
        "images": [
            {"image": r.image, "votes_a": int(r.votes_a), "votes_b": int(r.votes_b)} for r in c.images.itertuples()
        ],
    }


def _scale_rows(result, key: str = "jod") -> list[dict]:
    return [{"system": r.system, key: float(r.jod), "ci_low": _num(r.ci_low), "ci_high": _num(r.ci_high)}
            for r in result.table().itertuples()]


def _sequential_dict(report: Report) -> dict | None:
    seq = report.sequential
    if seq is None:
        return None
    last = seq.final
    looks = [{"look": r.look, "participants": r.participants, "z": r.z, "decision": r.decision} for r in seq.looks]
    out = {"plan": seq.plan.to_dict(), "share_of": seq.a, "looks": looks, "verdict": wording.sequential_verdict(seq),
           "stopped_at": {"look": last.look, "participants": last.participants, "decision": last.decision}
           if last is not None and last.stopped else None}
    if last is not None:
        out.update(z=last.z, pvalue=_num(last.pvalue), estimate=_num(last.estimate), low=_num(last.low),
                   high=_num(last.high), naive_pvalue=_num(last.naive_pvalue), level=last.level)
    return out


def to_dict(report: Report) -> dict:
    matrix = significance_matrix(report) if report.comparisons else pd.DataFrame()
    return {
        "study": report.study,
        "sequential": _sequential_dict(report),
        "alpha": report.alpha,
        "votes": report.n_votes,
        "participants": report.n_participants,
        "systems": report.systems,
        "notes": wording.notes(report),
        "jod": None if report.jod is None else _scale_rows(report.jod),
        "jod_scale": None if report.jod is None else {
            "sigma": SIGMA, "prior": report.jod.prior, "reference": report.jod.reference, "bootstrap": report.jod.n_boot},
        "jod_by_image": [dict(image=r.group, **row) for r in report.jod_by_image for row in _scale_rows(r)],
        "bradley_terry": None
        if report.ranking is None
        else [
            {"system": r.system, "strength": r.strength, "ci_low": _num(r.ci_low), "ci_high": _num(r.ci_high)}
            for r in report.ranking.table().itertuples()
        ],
        "significance": {row: {col: v for col, v in matrix.loc[row].items() if v and col != row} for row in matrix.index},
        "comparisons": [_comparison_dict(c, k) for c, k in zip(report.comparisons, report.conclusions, strict=True)],
        "side_bias": None
        if report.side is None
        else {"left": report.side.left, "n": report.side.n, "proportion_left": report.side.raw_share,
              "left_advantage": report.side.effect, "std_error": report.side.std_error,
              "probability_left_when_equal": report.side.probability, "pvalue": report.side.pvalue},
        "one_sided_participants": [
            {"participant": r.participant, "left": int(r.left), "n": int(r.n), "holm_pvalue": float(r.holm_pvalue)}
            for r in report.one_sided_flagged.itertuples()
        ],
        "one_sided_excluded": report.one_sided_excluded,
        "observer_screening": None if report.screening is None else [
            {"participant": r.participant, "loglik": float(r.loglik), "distance": float(r.distance), "flagged": bool(r.flagged)}
            for r in report.screening.table().itertuples()
        ],
        "outliers_excluded": report.outliers_excluded,
        "response_ms": report.times,
        "catch": [
            {"participant": str(r.participant), "catch_trials": int(r.catch_trials), "catch_correct": int(r.catch_correct),
             "excluded": bool(r.excluded)}
            for r in report.catch.itertuples()
        ],
        "excluded_participants": report.excluded,
        "incomplete_participants": report.incomplete,
        "excluded_applied": not report.include_excluded,
        "fooling": [
            {"system": r.system, "fooled": int(r.fooled), "n": int(r.n), "rate": r.rate, "ci_low": r.ci_low,
             "ci_high": r.ci_high,
             "participants": [{"participant": str(q.participant), "fooled": int(q.fooled), "n": int(q.n)}
                              for q in report.fooling_by_participant.itertuples() if q.system == r.system]}
            for r in report.fooling.itertuples()
        ],
        "verdicts": wording.verdicts(report),
    }


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def jod_chart(report: Report) -> str:
    """The report's JOD scale as an inline PNG."""
    return _png_close(_jod_figure(report.jod))


def save_jod_chart(result: JODResult, path: str, title: str = "") -> None:
    """Write a JOD scale with its intervals to a PNG file."""
    fig = _jod_figure(result, title)
    fig.savefig(path, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)


def _png_close(fig) -> str:
    src = _png(fig)
    _pyplot().close(fig)
    return src


def _jod_figure(result: JODResult, title: str = ""):
    """Horizontal bars of the JOD scores, best on top, with their bootstrap intervals."""
    plt = _pyplot()
    t = result.table().iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.5, max(1.8, 0.32 * len(t) + 0.8)))
    ax.barh(range(len(t)), t["jod"], color="#1d5fbf")
    ax.errorbar(t["jod"], range(len(t)), xerr=[t["jod"] - t["ci_low"], t["ci_high"] - t["jod"]], fmt="none",
                color="black", capsize=3)
    ax.set_yticks(range(len(t)), list(t["system"]))
    ax.axvline(0, color="grey", linewidth=0.8)
    anchor = f"{result.reference} = 0" if result.reference else "mean 0"
    ax.set_xlabel(f"JOD ({anchor}; 1 JOD = 75% preference); 95% bootstrap interval over participants")
    ax.set_title("Quality scale of the systems (JOD)" + (f": {title}" if title else ""))
    return fig


def _charts(c: Comparison) -> list[str]:
    plt = _pyplot()
    p, ci = c.pooled, c.wilson
    images = []
    fig, ax = plt.subplots(figsize=(6, 1.8))
    ax.barh([0], [p.statistic], color="#1d5fbf")
    ax.errorbar([p.statistic], [0], xerr=[[p.statistic - ci.low], [ci.high - p.statistic]], color="black", capsize=6)
    ax.axvline(0.5, color="grey", linestyle="--")
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.set_title(f"{p.system_a} vs {p.system_b}: all votes")
    ax.set_xlabel(f"share of votes for {p.system_a} (95% Wilson interval)")
    images.append(_png(fig))
    plt.close(fig)

    t = c.participants
    fig, ax = plt.subplots(figsize=(6, max(2.0, 0.3 * len(t) + 0.6)))
    ax.barh(range(len(t)), t["proportion_a"], color="#1d5fbf")
    ax.axvline(0.5, color="grey", linestyle="--")
    ax.set_yticks(range(len(t)), [str(x) for x in t["participant"]])
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title(f"{p.system_a} vs {p.system_b}: each participant")
    ax.set_xlabel(f"share for {p.system_a}, per participant")
    images.append(_png(fig))
    plt.close(fig)

    if len(c.images):
        fig, ax = plt.subplots(figsize=(6, 2.4))
        ax.hist(c.images["proportion_a"], bins=min(20, max(5, len(c.images) // 2)), range=(0, 1), color="#1d5fbf")
        ax.axvline(0.5, color="grey", linestyle="--")
        ax.set_title(f"{p.system_a} vs {p.system_b}: images")
        ax.set_xlabel(f"share for {p.system_a}, per image")
        ax.set_ylabel("images")
        images.append(_png(fig))
        plt.close(fig)
    return images


def html(report: Report) -> str:
    esc = html_lib.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Report: {esc(report.study)}</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .6rem;text-align:right}"
        "img{max-width:100%}.note{background:#fff6d6;padding:.4rem .8rem}</style></head><body>",
        f"<h1>Preference study: {esc(report.study or 'vote table')}</h1>",
        f"<p>{esc(_header(report))}.</p>",
    ]
    if report.sequential is not None:
        parts.append("<h2>Sequential plan</h2>")
        parts.extend(f"<p>{esc(line)}</p>" for line in sequential_lines(report))
    parts += [f"<p class='note'>{esc(n)}</p>" for n in wording.notes(report)]
    if report.jod is not None and len(report.systems) > 2:
        parts.append("<h2>Ranking</h2>")
        parts.append(f"<img alt='JOD scale with intervals' src='{jod_chart(report)}'>")
        parts.append(ranking_table(report).to_html(index=False))
        parts.append(f"<p>{esc(_scale_caption(report))}</p>")
        parts.append("<h2>Significance of every pair</h2>")
        parts.append(significance_matrix(report).to_html())
        parts.append(f"<p>{esc(MATRIX_KEY)}</p>")
    parts.append("<h2>Participants</h2>")
    parts.extend(f"<p>{esc(line)}</p>" for line in _summary_rows(report))
    parts.append("<h2>Every pair</h2>")
    for c, verdict in zip(report.comparisons, wording.verdicts(report), strict=True):
        title = f"{esc(c.pooled.system_a)} vs {esc(c.pooled.system_b)}"
        if report.many_systems:  # tables only: a chart per pair would bury the page
            parts.append(f"<details><summary>{title}</summary>")
            parts.append(_figure7(c).to_html(index=False, escape=True))
            parts.append(f"<p>{esc(verdict)}</p></details>")
            continue
        parts.append(f"<h3>{title}</h3>")
        parts.append(_figure7(c).to_html(index=False, escape=True))
        parts.append(f"<p>{esc(verdict)}</p>")
        parts.extend(f"<img alt='{title}' src='{src}'>" for src in _charts(c))
    if report.jod_by_image:
        parts.append("<h2>JOD per image</h2>")
        parts.append(_by_image_wide(report).to_html())
    parts.append("</body></html>")
    return "\n".join(parts)
