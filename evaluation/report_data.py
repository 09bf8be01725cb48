"""The report as JSON-ready data: every analysis's numbers, for scripts."""
from __future__ import annotations

import math

import pandas as pd

from . import wording
from .jod import SIGMA
from .report import Comparison, Report, significance_matrix


def _num(value):
    """JSON-safe number: NaN becomes null."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


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
        "colour_vision": None if report.colour_vision is None else [
            {"participant": r.participant, "result": str(r.colour_vision)} for r in report.colour_vision.itertuples()
        ],
        "colour_vision_excluded": report.colour_vision_excluded,
        "metrics": None if report.metrics is None else {
            "ceiling": _num(report.metrics.ceiling), "ceiling_pairs": report.metrics.ceiling_pairs,
            "agreement": [{k: (_num(v) if isinstance(v, float) else v) for k, v in m.__dict__.items()}
                          for m in report.metrics.metrics],
        },
        "by_device": None if report.splits is None else [
            {k: (float(v) if k in ("share", "ci_low", "ci_high") else int(v) if k in ("participants", "votes") else v)
             for k, v in row.items()} for row in report.splits.to_dict("records")
        ],
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
