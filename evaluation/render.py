"""Renderers of a Report: terminal text, markdown for a paper, csv, json, and a self-contained html page.

Text, markdown and html walk one list of sections (:func:`sections`) in one order, each in its own
typography; the words are :mod:`evaluation.wording`'s, the pictures :mod:`evaluation.charts`', the
JSON data :mod:`evaluation.report_data`'s. With more than a few systems
(:data:`~evaluation.report.MANY_SYSTEMS`) the pairs give their verdicts only; the per-participant
tables of every pair are in the csv, json and html detail.
"""
from __future__ import annotations

import html as html_lib
import json
from dataclasses import dataclass, field

import pandas as pd

from . import charts, csvsafe, wording
from .options import FORMATS
from .report import Comparison, Report, significance_matrix
from .report_data import to_dict

__all__ = ["FORMATS", "render", "sections", "to_dict", "ranking_table"]


def render(report: Report, fmt: str = "text") -> str:
    """The report in one of FORMATS."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "json":
        return json.dumps(to_dict(report), indent=2)
    return {"text": text, "markdown": markdown, "csv": csv, "html": html}[fmt](report)


@dataclass(frozen=True)
class Pair:
    comparison: Comparison
    verdict: str
    table: pd.DataFrame | None  # the seed's per-participant table, left out with many systems
    details: list[str] = field(default_factory=list)  # the Clopper-Pearson interval, the images most in favour


@dataclass(frozen=True)
class Section:
    """One part of the report: a title, sentences, a table with its caption, or the pairs."""

    kind: str  # "sequential", "notes", "empty", "ranking", "matrix", "pairs", "by-image", "participants"
    title: str = ""
    lines: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    caption: str = ""
    pairs: list[Pair] = field(default_factory=list)


def sections(report: Report) -> list[Section]:
    """The report's parts, in the order every format shows them."""
    out = []
    if report.sequential is not None:
        out.append(Section("sequential", "Sequential plan", wording.sequential_lines(report)))
    if notes := wording.notes(report):
        out.append(Section("notes", lines=notes))
    if not report.comparisons:
        out.append(Section("empty", lines=["No regular votes to compare"
                                           + (" after the exclusions below." if report.excluded else ".")]))
    if len(report.systems) > 2 and report.jod is not None:
        out.append(Section("ranking", "Ranking", table=ranking_table(report), caption=wording.scale_caption(report)))
        out.append(Section("matrix", "Significance of every pair", table=significance_matrix(report),
                           caption=wording.MATRIX_KEY))
    if report.comparisons:
        out.append(Section("pairs", "Every pair", pairs=_pairs(report),
                           lines=["(The per-participant counts of every pair are in the csv, json and html formats.)"]
                           if report.many_systems else []))
    if report.metrics is not None:
        out.append(Section("metrics", "Automatic metrics against the votes", wording.metrics_lines(report),
                           table=_metrics_table(report), caption=wording.METRICS_CAPTION))
    if report.splits is not None:
        out.append(Section("by-device", "By device and display", table=_splits_table(report),
                           caption=wording.SPLITS_CAPTION))
    if report.jod_by_image:
        out.append(Section("by-image", "JOD per image", table=_by_image_wide(report)))
    out.append(Section("participants", "Participants", wording.summary_lines(report)))
    return out


def _pairs(report: Report) -> list[Pair]:
    pairs = []
    for c, verdict in zip(report.comparisons, wording.verdicts(report), strict=True):
        if report.many_systems:
            pairs.append(Pair(c, verdict, None))
            continue
        cp = c.clopper_pearson
        details = [f"Clopper-Pearson 95% for {c.pooled.system_a}'s share: {cp.low:.4f} to {cp.high:.4f}"]
        pairs.append(Pair(c, verdict, _figure7(c), details + ([top] if (top := wording.top_images(c)) else [])))
    return pairs


def _figure7(c: Comparison) -> pd.DataFrame:
    """The per-participant table with totals, as in the seed study's Figure 7."""
    p = c.pooled
    rows = [[str(r.participant), str(int(r.votes_a)), str(int(r.votes_b))] for r in c.participants.itertuples()]
    rows.append(["In total", f"{p.votes_a} ({p.votes_a / p.n:.0%})", f"{p.votes_b} ({p.votes_b / p.n:.0%})"])
    return pd.DataFrame(rows, columns=["Participant", p.system_a, p.system_b])


def ranking_table(report: Report) -> pd.DataFrame:
    """Systems best first with JOD and Bradley-Terry (when there are more than two) and their intervals."""
    f = wording.figure
    table = report.jod.table()
    out = pd.DataFrame({"System": table["system"], "JOD": table["jod"].map(f),
                        "JOD 95% interval": [f"{f(lo)} to {f(hi)}" for lo, hi in zip(table["ci_low"], table["ci_high"],
                                                                                       strict=True)]})
    if report.ranking is not None:
        bt = report.ranking.table().set_index("system")
        out["Bradley-Terry"] = [f(bt.loc[s, "strength"]) for s in table["system"]]
        out["BT 95% interval"] = [f"{f(bt.loc[s, 'ci_low'])} to {f(bt.loc[s, 'ci_high'])}" for s in table["system"]]
    return out


def _metrics_table(report: Report) -> pd.DataFrame:
    t = report.metrics.table().sort_values("two_afc", ascending=False)
    out = pd.DataFrame({
        "Metric": [f"{m} (lower is better)" if low else m for m, low in zip(t["metric"], t["lower_is_better"], strict=True)],
        "2AFC": [f"{v:.1%} ({lo:.1%} to {hi:.1%})" for v, lo, hi in zip(t["two_afc"], t["ci_low"], t["ci_high"], strict=True)],
        "Votes agreeing": [f"{v:.1%}" for v in t["vote_share"]], "Ties": [f"{v:.1%}" for v in t["ties"]],
        "Pairs of stimuli": t["pairs"].astype(str),
    })
    if t["rank_correlation"].notna().any():
        out["Rank correlation with JOD"] = ["–" if pd.isna(r) else f"{r:.2f}" for r in t["rank_correlation"]]
    ceiling = {"Metric": "People (two participants agreeing)",
               "2AFC": f"{report.metrics.ceiling:.1%}" if report.metrics.ceiling_pairs else "–",
               "Votes agreeing": "", "Ties": "", "Pairs of stimuli": str(report.metrics.ceiling_pairs)}
    return pd.concat([out, pd.DataFrame([ceiling])], ignore_index=True).fillna("")


def _splits_table(report: Report) -> pd.DataFrame:
    t = report.splits
    return pd.DataFrame({
        "Pair": [f"{a} vs {b}" for a, b in zip(t["system_a"], t["system_b"], strict=True)],
        "Split": t["split"], "Group": t["group"], "Participants": t["participants"].astype(str),
        "Votes": t["votes"].astype(str),
        "Share for the first": [f"{v:.1%} ({lo:.1%} to {hi:.1%})" for v, lo, hi in zip(t["share"], t["ci_low"],
                                                                                        t["ci_high"], strict=True)],
    })


def _by_image_wide(report: Report) -> pd.DataFrame:
    rows = {r.group: dict(zip(r.systems, r.statistic, strict=True)) for r in report.jod_by_image}
    return pd.DataFrame(rows).T.reindex(columns=list(report.jod.table()["system"])).map(wording.figure)


# --- text -------------------------------------------------------------------------------------------

def text(report: Report) -> str:
    out = [f"Study: {report.study or '(vote table)'}   {wording.header(report)}", ""]
    for s in sections(report):
        if s.kind == "notes":
            out += [f"Note: {n}" for n in s.lines] + [""]
        elif s.kind in ("empty", "participants"):
            out += s.lines + ([""] if s.kind == "empty" else [])
        elif s.kind == "pairs":
            for pair in s.pairs:
                out.append(f"== {pair.comparison.pooled.system_a} vs {pair.comparison.pooled.system_b} ==")
                if pair.table is not None:
                    out += [pair.table.to_string(index=False), pair.details[0], ""]
                out += [pair.verdict, *pair.details[1:], ""]
            out += s.lines + ([""] if s.lines else [])
        else:
            out.append(f"== {s.title} ==")
            out += s.lines
            if s.table is not None:
                out.append(s.table.to_string(index=s.kind == "matrix" or s.kind == "by-image"))
            out += [s.caption] if s.caption else []
            out.append("")
    return "\n".join(out) + "\n"


# --- markdown ---------------------------------------------------------------------------------------

def markdown(report: Report) -> str:
    out = [f"# Preference study: {report.study or 'vote table'}", "", wording.header(report) + ".", ""]
    for s in sections(report):
        if s.kind == "notes":
            out += [f"> Note: {n}" for n in s.lines] + [""]
        elif s.kind == "empty":
            out += s.lines + [""]
        elif s.kind == "participants":
            out += [f"- {line}" for line in s.lines]
        elif s.kind == "pairs":
            for pair in s.pairs:
                out += [f"## {pair.comparison.pooled.system_a} vs {pair.comparison.pooled.system_b}", ""]
                out += [_md_table(pair.table), ""] if pair.table is not None else []
                out += [pair.verdict, ""]
        else:
            out += [f"## {s.title}", ""]
            out += [f"    {line}" if line.startswith("  ") else line for line in s.lines]
            if s.table is not None:
                table = s.table.reset_index().rename(columns={"index": "image" if s.kind == "by-image" else ""}) \
                    if s.kind in ("matrix", "by-image") else s.table
                out += [_md_table(table), ""]
            out += [s.caption, ""] if s.caption else ([""] if s.lines else [])
    return "\n".join(out) + "\n"


def _md_table(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(str(c) for c in table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


# --- csv --------------------------------------------------------------------------------------------

def csv(report: Report) -> str:
    frames = []
    for c in report.comparisons:
        t = c.participants.copy()
        t.insert(0, "system_b", c.pooled.system_b)
        t.insert(0, "system_a", c.pooled.system_a)
        frames.append(t)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if report.metrics is not None:
        # One table for a spreadsheet: the per-participant rows, then a row per metric and people's
        # ceiling, told apart by the first column.
        metrics = report.metrics.table()
        ceiling = pd.DataFrame([{"metric": "people's ceiling", "two_afc": report.metrics.ceiling,
                                 "pairs": report.metrics.ceiling_pairs}])
        table = pd.concat([table.assign(table="participants"),
                           pd.concat([metrics, ceiling], ignore_index=True).assign(table="metrics")], ignore_index=True)
        table = table[["table", *[c for c in table.columns if c != "table"]]]
    return csvsafe.to_csv(table)


# --- html -------------------------------------------------------------------------------------------

STYLE = ("body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .6rem;text-align:right}"
         "img{max-width:100%}.note{background:#fff6d6;padding:.4rem .8rem}")


def html(report: Report) -> str:
    esc = html_lib.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>", f"<title>Report: {esc(report.study)}</title>",
             f"<style>{STYLE}</style></head><body>", f"<h1>Preference study: {esc(report.study or 'vote table')}</h1>",
             f"<p>{esc(wording.header(report))}.</p>"]
    for s in sections(report):
        if s.kind == "notes":
            parts += [f"<p class='note'>{esc(n)}</p>" for n in s.lines]
            continue
        if s.title:
            parts.append(f"<h2>{esc(s.title)}</h2>")
        if s.kind == "ranking":
            parts.append(f"<img alt='JOD scale with intervals' src='{charts.jod_chart(report)}'>")
        if s.kind == "metrics":
            parts.append(f"<img alt='Agreement of each metric with the votes' src='{charts.metrics_chart(report)}'>")
        if s.kind == "pairs":
            parts += _html_pairs(s.pairs, report.many_systems)
            continue
        parts += [f"<p>{esc(line)}</p>" for line in s.lines]
        if s.table is not None:
            parts.append(s.table.to_html(index=s.kind in ("matrix", "by-image")))
        if s.caption:
            parts.append(f"<p>{esc(s.caption)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_pairs(pairs: list[Pair], many: bool) -> list[str]:
    esc, parts = html_lib.escape, []
    for pair in pairs:
        c = pair.comparison
        title = f"{esc(c.pooled.system_a)} vs {esc(c.pooled.system_b)}"
        if many:  # tables only: a chart per pair would bury the page
            parts += [f"<details><summary>{title}</summary>", _figure7(c).to_html(index=False, escape=True),
                      f"<p>{esc(pair.verdict)}</p></details>"]
            continue
        parts += [f"<h3>{title}</h3>", pair.table.to_html(index=False, escape=True), f"<p>{esc(pair.verdict)}</p>"]
        parts += [f"<img alt='{title}' src='{src}'>" for src in charts.pair_charts(c)]
    return parts
