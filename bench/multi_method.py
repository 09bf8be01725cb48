"""The report on a study shaped like the field's large multi-method ones, and pwcmp beside it.

    .venv/bin/python bench/multi_method.py [--skip-mixed] [--skip-pwcmp]

A synthetic study of the shape of a large published one (26,580 votes, 29 participants, 14 images,
37 systems, 108 compared pairs; Thurstone observers with their own and each image's deviations) is
reported without and with the mixed model; the JOD scale is compared with the truth, with
Bradley-Terry and, when Octave is installed, with pwcmp's pw_scale run on the same counts.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu import describe  # noqa: E402
from evaluation.matrices import comparison_counts  # noqa: E402
from evaluation.render import render  # noqa: E402
from evaluation.report import build_report  # noqa: E402
from harness import pwcmp as oracle  # noqa: E402
from harness.synthetic import multi_method_votes  # noqa: E402


def timed_report(votes, mixed: bool):
    start = time.perf_counter()
    report = build_report(votes, mixed=mixed)
    text = render(report, "text")
    return report, text, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-mixed", action="store_true")
    parser.add_argument("--skip-pwcmp", action="store_true")
    args = parser.parse_args()
    print(f"CPU: {describe()}")
    votes, truth = multi_method_votes()
    print(f"study: {len(votes):,} votes, {votes['participant'].nunique()} participants, {votes['image'].nunique()} images, "
          f"{len(truth)} systems")
    report, text, elapsed = timed_report(votes, mixed=False)
    print(f"report without the mixed model: {elapsed:.1f} s ({len(report.comparisons)} pairs, JOD and Bradley-Terry "
          f"with {report.jod.n_boot} participant-bootstrap resamples, observer screening over "
          f"{votes['image'].nunique()} images, text rendered: {len(text.splitlines())} lines)")
    systems = list(report.jod.systems)
    true = [truth[s] for s in systems]
    bt = dict(zip(report.ranking.systems, report.ranking.strengths, strict=True))
    print(f"Kendall tau: JOD against the truth {kendalltau(report.jod.statistic, true).statistic:.3f}, "
          f"JOD against Bradley-Terry {kendalltau(report.jod.statistic, [bt[s] for s in systems]).statistic:.3f}")
    wrong = sum(c.leader != max((c.pooled.system_a, c.pooled.system_b), key=truth.get)
                for c, k in zip(report.comparisons, report.conclusions, strict=True) if k.significant)
    print(f"significant verdicts naming the truly worse system: {wrong} of "
          f"{sum(k.significant for k in report.conclusions)}")
    if not args.skip_pwcmp and oracle.available():
        counts = comparison_counts(votes, systems)
        start = time.perf_counter()
        (theirs,) = oracle.pw_scale([counts.total])
        took = time.perf_counter() - start
        print(f"pwcmp pw_scale in Octave (one fit, no bootstrap, Octave's start-up included): {took:.2f} s; "
              f"largest difference from ours {np.abs(theirs - report.jod.statistic).max():.4f} JOD")
    if not args.skip_mixed:
        report, _, elapsed = timed_report(votes, mixed=True)
        fitted = sum(c.mixed is not None for c in report.comparisons)
        print(f"report with the mixed model: {elapsed:.1f} s ({fitted} of {len(report.comparisons)} pairs fitted)")


if __name__ == "__main__":
    main()
