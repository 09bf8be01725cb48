"""The report's pictures (matplotlib, drawn without a display): the JOD scale, and each pair's
votes, participants and images."""
from __future__ import annotations

import base64
import io

from .jod import JODResult
from .report import Comparison, Report


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


def metrics_chart(report: Report) -> str:
    """Each metric's 2AFC score with its interval, beside chance and people's ceiling."""
    plt = _pyplot()
    t = report.metrics.table().sort_values("two_afc")
    fig, ax = plt.subplots(figsize=(6.5, max(1.8, 0.35 * len(t) + 0.9)))
    ax.barh(range(len(t)), t["two_afc"], color="#1d5fbf")
    ax.errorbar(t["two_afc"], range(len(t)), xerr=[t["two_afc"] - t["ci_low"], t["ci_high"] - t["two_afc"]],
                fmt="none", color="black", capsize=3)
    ax.set_yticks(range(len(t)), list(t["metric"]))
    ax.axvline(0.5, color="grey", linewidth=0.8, linestyle=":", label="chance")
    if report.metrics.ceiling_pairs:
        ax.axvline(report.metrics.ceiling, color="#c0392b", linewidth=1.2, label="people's ceiling")
    ax.set_xlim(0, 1)
    ax.set_xlabel("2AFC score (share of people the metric agrees with); 95% interval over participants")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Automatic metrics against the votes")
    return _png_close(fig)


def pair_charts(c: Comparison) -> list[str]:
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
