"""Each stimulus's automatic metrics, computed when the study is generated, exported beside the
votes, and held against them in the report (the seed-like demo study included)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from PIL import Image

from colorcore.imagemetrics import stimulus_metrics
from colorstudy.models import Stimulus, Study, System, Trial

from .helpers import make_study, start, vote
from .test_demo import no_zhang_weights, run_demo  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
FULL = {"psnr", "ssim", "ciede2000", "auc", "colorfulness", "chroma"}


def shown(stim: Stimulus) -> np.ndarray:
    return np.asarray(Image.open(Path(settings.MEDIA_ROOT) / stim.path).convert("RGB"))


def test_each_stimulus_is_measured_against_the_real_photo_as_participants_see_it(system_folders):
    study = make_study(system_folders, participants=1, trials=4, ground_truth=system_folders["truth"])
    stimuli = list(Stimulus.objects.filter(system__study=study).select_related("system", "image"))
    assert stimuli and all(set(s.metrics) == FULL for s in stimuli)
    stim = stimuli[0]
    truth = np.asarray(Image.open(sorted(system_folders["truth"].rglob(f"{stim.image.name}.*"))[0]).convert("RGB")
                       .resize((stim.width, stim.height), Image.Resampling.LANCZOS))
    expected = stimulus_metrics(shown(stim), truth)
    assert stim.metrics == pytest.approx(expected, rel=1e-6)


def test_without_a_ground_truth_only_colorfulness_and_chroma_are_measured(system_folders):
    study = make_study(system_folders, participants=1, trials=4)
    assert {frozenset(s.metrics) for s in Stimulus.objects.filter(system__study=study)} == {frozenset({"colorfulness", "chroma"})}


def test_an_existing_study_is_measured_by_a_command_and_the_export_carries_each_sides_metrics(system_folders):
    study = make_study(system_folders, participants=1, trials=4)
    Stimulus.objects.filter(system__study=study).update(metrics={})
    out = io.StringIO()
    call_command("measure_stimuli", "--study", study.slug, "--ground-truth", str(system_folders["truth"]), stdout=out)
    assert "Measured" in out.getvalue()
    assert all(set(s.metrics) == FULL for s in Stimulus.objects.filter(system__study=study))
    client = Client()
    participant = start(client, study)
    assert vote(client, participant, 1, "left").status_code == 302
    export = io.StringIO()
    call_command("export_votes", "--study", study.slug, stdout=export)
    row = next(csv.DictReader(io.StringIO(export.getvalue())))
    trial = Trial.objects.select_related("left", "right").get(participant=participant, position=1)
    assert float(row["left_ssim"]) == pytest.approx(trial.left.metrics["ssim"])
    assert float(row["right_chroma"]) == pytest.approx(trial.right.metrics["chroma"])


def test_on_the_demo_study_the_report_holds_each_metric_against_the_votes(no_zhang_weights, tmp_path):  # noqa: F811
    run_demo(participants=4, trials=8)
    for n in range(4):
        client = Client()
        participant = start(client, Study.objects.get(slug="demo"), f"?PROLIFIC_PID=m{n}")
        trials = Trial.objects.filter(participant=participant).select_related("left__system", "left", "right")
        for trial in trials.order_by("position"):
            if trial.is_catch:
                side = "left" if trial.left.system.role == System.Role.GROUND_TRUTH else "right"
            else:  # these observers choose the colorization closer to the real photo (CIEDE2000)
                side = "left" if trial.left.metrics["ciede2000"] <= trial.right.metrics["ciede2000"] else "right"
            assert vote(client, participant, trial.position, side).status_code == 302
    report = tmp_path / "report.json"
    call_command("report", "--study", "demo", "--format", "json", "--output", str(report), "--no-mixed",
                 stderr=io.StringIO())
    metrics = json.loads(report.read_text())["metrics"]
    by = {m["metric"]: m for m in metrics["agreement"]}
    assert set(by) == FULL
    assert by["ciede2000"]["two_afc"] == 1.0 and by["ciede2000"]["lower_is_better"] is True
    text = io.StringIO()
    call_command("report", "--study", "demo", "--no-mixed", "--bootstrap", "20", stdout=text, stderr=io.StringIO())
    assert "Automatic metrics against the votes" in text.getvalue() and "ciede2000 (lower is better)" in text.getvalue()
