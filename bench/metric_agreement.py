"""Automatic metrics against the votes on cases whose answer is known (docs/report.md): simulated
observers who choose by a hidden quality, and two per-condition numbers of the tone-mapping study
held against nine of its observers.

    .venv/bin/python bench/metric_agreement.py [--bootstrap 500]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu import describe  # noqa: E402
from evaluation.metric_agreement import agreement, attach_metrics  # noqa: E402
from evaluation.options import ReportOptions  # noqa: E402
from evaluation.report import build_report  # noqa: E402
from harness.agreement import simulated, tmo_metrics  # noqa: E402


def show(title: str, result) -> None:
    print(f"{title}: people's ceiling {result.ceiling:.3f} ({result.ceiling_pairs} pairs of stimuli)")
    for m in result.metrics:
        rho = "" if m.rank_correlation is None else f", rank correlation with JOD {m.rank_correlation:.2f}"
        print(f"  {m.metric:15} 2AFC {m.two_afc:.3f} ({m.ci_low:.3f} to {m.ci_high:.3f}), votes agreeing "
              f"{m.vote_share:.3f}, ties {m.ties:.0%}{rho}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=500)
    args = parser.parse_args()
    print(describe())
    votes, truth = simulated()
    table = truth.assign(random=np.random.default_rng(1).normal(size=len(truth)), constant=1.0)
    show("simulated observers (30 x 30 images, 4 systems)", agreement(attach_metrics(votes, table), n_boot=args.bootstrap))
    with tempfile.TemporaryDirectory() as scratch:
        metrics, held_out = tmo_metrics(Path(scratch))
        report = build_report(held_out, ReportOptions(mixed=False, n_boot=args.bootstrap, metrics=str(metrics)))
        show("tone-mapping study, 9 observers held out", report.metrics)


if __name__ == "__main__":
    main()
