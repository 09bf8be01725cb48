"""Renderers of a Report: terminal text, markdown for a paper, csv, and a self-contained html page."""
from __future__ import annotations

import base64
import html as html_lib
import io
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .report import Comparison, Report


def _figure7(c: Comparison) -> pd.DataFrame:
    """The per-participant table with totals, as in the seed's Figure 7."""
    p = c.pooled
    rows = [[str(r.participant), str(int(r.votes_a)), str(int(r.votes_b))] for r in c.participants.itertuples()]
    rows.append(["In total", f"{p.votes_a} ({p.votes_a / p.n:.0%})", f"{p.votes_b} ({p.votes_b / p.n:.0%})"])
    return pd.DataFrame(rows, columns=["Participant", p.system_a, p.system_b])


def _summary_rows(report: Report) -> list[str]:
    lines = []
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
        lines.append(f"Side bias: left chosen in {s.statistic:.1%} of {s.n} votes (exact binomial p = {s.pvalue:.4g}).")
    flagged = report.one_sided_flagged
    if len(flagged):
        lines.append(
            "One-sided participants (one side chosen beyond chance, Holm-adjusted exact binomial p < "
            f"{report.alpha}; {'excluded' if report.one_sided_excluded else 'still counted: --exclude-one-sided leaves them out'}): "
            + ", ".join(f"{r.participant} (left in {r.left} of {r.n}, p = {r.holm_pvalue:.2g})" for r in flagged.itertuples())
            + "."
        )
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


def text(report: Report) -> str:
    out = [f"Study: {report.study or '(vote table)'}   regular votes: {report.n_votes}   alpha: {report.alpha}", ""]
    if not report.comparisons:
        out += ["No regular votes to compare" + (" after the exclusions below." if report.excluded else "."), ""]
    for c, verdict in zip(report.comparisons, report.verdicts, strict=True):
        out.append(f"== {c.pooled.system_a} vs {c.pooled.system_b} ==")
        out.append(_figure7(c).to_string(index=False))
        cp = c.clopper_pearson
        out.append(f"Clopper-Pearson 95%: {cp.low:.4f} to {cp.high:.4f}")
        out.append("")
        out.append(verdict)
        if len(c.images):
            top = c.images.head(3)
            out.append("Most preferred images for " + c.pooled.system_a + ": "
                       + ", ".join(f"{r.image} ({int(r.votes_a)}/{int(r.n)})" for r in top.itertuples()))
        out.append("")
    if report.ranking is not None:
        out.append("Bradley-Terry strengths (bootstrap over participants):")
        out.append(report.ranking.table().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        out.append("")
    out.extend(_summary_rows(report))
    return "\n".join(out) + "\n"


def markdown(report: Report) -> str:
    out = [f"# Preference study: {report.study or 'vote table'}", ""]
    for c, verdict in zip(report.comparisons, report.verdicts, strict=True):
        out.append(f"## {c.pooled.system_a} vs {c.pooled.system_b}")
        out.append("")
        table = _figure7(c)
        out.append("| " + " | ".join(table.columns) + " |")
        out.append("|" + "---|" * len(table.columns))
        for row in table.itertuples(index=False):
            out.append("| " + " | ".join(row) + " |")
        out.append("")
        out.append(verdict)
        out.append("")
    if report.ranking is not None:
        out.append("## Bradley-Terry strengths")
        out.append("")
        out.append("| System | Strength | 95% interval |")
        out.append("|---|---|---|")
        for r in report.ranking.table().itertuples():
            out.append(f"| {r.system} | {r.strength:.3f} | {r.ci_low:.3f} to {r.ci_high:.3f} |")
        out.append("")
    out.extend(f"- {line}" for line in _summary_rows(report))
    return "\n".join(out) + "\n"


def csv(report: Report) -> str:
    frames = []
    for c in report.comparisons:
        t = c.participants.copy()
        t.insert(0, "system_b", c.pooled.system_b)
        t.insert(0, "system_a", c.pooled.system_a)
        frames.append(t)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table.to_csv(index=False)


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _charts(c: Comparison) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p, ci = c.pooled, c.wilson
    images = []
    fig, ax = plt.subplots(figsize=(6, 1.6))
    ax.barh([0], [p.statistic], color="#1d5fbf")
    ax.errorbar([p.statistic], [0], xerr=[[p.statistic - ci.low], [ci.high - p.statistic]], color="black", capsize=6)
    ax.axvline(0.5, color="grey", linestyle="--")
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.set_xlabel(f"share of votes for {p.system_a} (95% Wilson interval)")
    images.append(_png(fig))
    plt.close(fig)

    t = c.participants
    fig, ax = plt.subplots(figsize=(6, max(1.8, 0.3 * len(t))))
    ax.barh(range(len(t)), t["proportion_a"], color="#1d5fbf")
    ax.axvline(0.5, color="grey", linestyle="--")
    ax.set_yticks(range(len(t)), [str(x) for x in t["participant"]])
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel(f"share for {p.system_a}, per participant")
    images.append(_png(fig))
    plt.close(fig)

    if len(c.images):
        fig, ax = plt.subplots(figsize=(6, 2.2))
        ax.hist(c.images["proportion_a"], bins=min(20, max(5, len(c.images) // 2)), range=(0, 1), color="#1d5fbf")
        ax.axvline(0.5, color="grey", linestyle="--")
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
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:900px;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .6rem;text-align:right}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>Preference study: {esc(report.study or 'vote table')}</h1>",
        f"<p>{report.n_votes} regular votes, alpha = {report.alpha}.</p>",
    ]
    for c, verdict in zip(report.comparisons, report.verdicts, strict=True):
        parts.append(f"<h2>{esc(c.pooled.system_a)} vs {esc(c.pooled.system_b)}</h2>")
        parts.append(_figure7(c).to_html(index=False, escape=True))
        parts.append(f"<p>{esc(verdict)}</p>")
        parts.extend(f"<img alt='chart' src='{src}'>" for src in _charts(c))
    if report.ranking is not None:
        parts.append("<h2>Bradley-Terry strengths</h2>")
        parts.append(report.ranking.table().to_html(index=False, float_format=lambda v: f"{v:.3f}"))
    parts.extend(f"<p>{esc(line)}</p>" for line in _summary_rows(report))
    parts.append("</body></html>")
    return "\n".join(parts)
