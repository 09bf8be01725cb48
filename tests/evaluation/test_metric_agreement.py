"""Automatic metrics held against the votes, on cases whose answer is known and on the tone-mapping study."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.metric_agreement import agreement, attach_metrics
from evaluation.options import ReportOptions
from evaluation.render import render
from evaluation.report import build_report
from evaluation.votes import VoteTableError
from harness.agreement import simulated, tmo_metrics

ROOT = Path(__file__).resolve().parents[2]


def test_a_metric_equal_to_the_hidden_truth_reaches_peoples_ceiling_and_a_random_one_sits_at_half():
    votes, truth = simulated()
    rng = np.random.default_rng(1)
    table = truth.assign(random=rng.normal(size=len(truth)), constant=1.0, ciede2000=-truth["truth"])
    result = agreement(attach_metrics(votes, table), n_boot=200)
    by = {m.metric: m for m in result.metrics}
    assert 0.55 < result.ceiling < 0.95
    assert by["truth"].two_afc >= result.ceiling - 0.01 and by["truth"].ci_low > 0.6
    assert abs(by["random"].two_afc - 0.5) < 0.05 and by["random"].ci_low < 0.5 < by["random"].ci_high
    assert by["constant"].ties == 1.0 and by["constant"].two_afc == 0.5 and by["constant"].vote_share == 0.5
    # CIEDE2000 is a distance: lower is better, so the negated truth agrees as the truth does.
    assert by["ciede2000"].lower_is_better and by["ciede2000"].two_afc == pytest.approx(by["truth"].two_afc)


def test_with_several_systems_each_metric_is_ranked_against_the_jod_scale():
    votes, truth = simulated()
    report = build_report(attach_metrics(votes, truth.assign(random=np.random.default_rng(2).normal(size=len(truth)))),
                          ReportOptions(mixed=False, n_boot=50))
    by = {m.metric: m for m in report.metrics.metrics}
    assert by["truth"].rank_correlation == pytest.approx(1.0)
    for fmt in ("text", "markdown", "html", "json", "csv"):
        out = render(report, fmt)
        assert "truth" in out and ("ceiling" in out or "Ceiling" in out), fmt
    table = pd.read_csv(__import__("io").StringIO(render(report, "csv")))
    rows = table[table["table"] == "metrics"].set_index("metric")
    assert rows.loc["truth", "two_afc"] == pytest.approx(by["truth"].two_afc)
    assert rows.loc["people's ceiling", "two_afc"] == pytest.approx(report.metrics.ceiling)
    assert table.loc[table["table"] == "participants", "votes_a"].sum() > 0
    assert "data:image/png;base64," in render(report, "html").split("Automatic metrics")[1]


def test_a_metrics_table_with_a_stray_value_or_a_missing_column_is_named_in_one_line(tmp_path):
    votes, truth = simulated(n_participants=2, n_images=2)
    bad = tmp_path / "metrics.csv"
    truth.assign(truth=truth["truth"].astype(object)).pipe(lambda t: t.assign(truth=["x"] + list(t["truth"][1:]))).to_csv(bad, index=False)
    with pytest.raises(VoteTableError, match=r"metrics.csv: column 'truth', row 2: 'x' is not a number"):
        attach_metrics(votes, bad)
    truth.drop(columns="system").to_csv(bad, index=False)
    with pytest.raises(VoteTableError, match="missing column system"):
        attach_metrics(votes, bad)


def test_on_the_tone_mapping_study_a_per_condition_number_is_held_against_the_votes(tmp_path):
    metrics, held_out = tmo_metrics(tmp_path)
    report = build_report(held_out, ReportOptions(mixed=False, n_boot=100, metrics=str(metrics)))
    by = {m.metric: m for m in report.metrics.metrics}
    # The other observers' scale predicts these observers well: near what people reach among themselves.
    assert by["jod_other_half"].two_afc > 0.65 and by["jod_other_half"].ci_low > 0.5
    assert by["jod_other_half"].rank_correlation > 0.8
    assert 0.5 < report.metrics.ceiling < 0.9
    assert 0.0 <= by["year"].two_afc <= 1.0 and by["year"].pairs == by["jod_other_half"].pairs
    command = subprocess.run([sys.executable, "-m", "evaluation", "report", str(held_out), "--metrics", str(metrics),
                              "--no-mixed", "--bootstrap", "50"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert command.returncode == 0, command.stderr
    assert "Automatic metrics against the votes" in command.stdout and "jod_other_half" in command.stdout
