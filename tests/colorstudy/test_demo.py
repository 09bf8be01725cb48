"""`manage.py demo`, the study `make demo` serves: built from fixtures/, voted on, reported."""
from __future__ import annotations

import io
import json
import re

import pytest
import torch
from django.core.management import call_command
from django.test import Client

from colorcore import zhang
from colorstudy.models import Participant, Study, System, Trial, Vote

from ..colorcore.test_zhang import official_state_dict
from .helpers import start, vote

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_zhang_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORCORE_WEIGHTS", str(tmp_path / "no-weights-here"))


def run_demo(**options) -> str:
    out = io.StringIO()
    call_command("demo", stdout=out, **options)
    return out.getvalue()


def compared(study: Study) -> set[str]:
    return set(study.systems.filter(role=System.Role.COMPARED).values_list("name", flat=True))


def test_the_demo_compares_cross_entropy_with_l2_on_the_fixture_faces_with_catch_trials(no_zhang_weights):
    out = run_demo(participants=3, trials=8)
    study = Study.objects.get(slug="demo")
    assert compared(study) == {"cross_entropy", "l2"}
    assert study.participants.count() == 3
    trials = Trial.objects.filter(participant__study=study)
    assert trials.filter(is_catch=True).exists() and trials.filter(is_catch=False).exists()
    assert "/study/demo/" in out and "/staff/study/demo/participants/" in out
    assert "report --study demo" in out and "cross_entropy, l2" in out


def test_a_new_user_votes_through_the_demo_and_reports_their_own_votes(no_zhang_weights, tmp_path):
    run_demo(participants=2, trials=6)
    study = Study.objects.get(slug="demo")
    client = Client()
    participant = start(client, study)
    for trial in Trial.objects.filter(participant=participant).select_related("left__system").order_by("position"):
        # the real photo in catch trials (or the participant is excluded), else always the left image
        side = "right" if trial.is_catch and trial.left.system.name != "ground_truth" else "left"
        assert vote(client, participant, trial.position, side).status_code == 302
    participant.refresh_from_db()
    assert participant.finished_at is not None
    staff = Client()
    # The login the demo prints, through the login form a researcher uses.
    login = staff.post("/admin/login/?next=/staff/study/demo/", {"username": "researcher", "password": "colorize-demo"})
    assert login.status_code == 302 and login["Location"] == "/staff/study/demo/"
    status = staff.get("/staff/study/demo/")
    assert status.status_code == 200
    assert re.search(rb"Participants finished</th><td>1<", status.content)
    # Left in all 6 regular trials (exact binomial p = 0.031): the participants page flags it.
    review = staff.get("/staff/study/demo/participants/")
    assert review.status_code == 200 and b"one side beyond chance" in review.content
    report = tmp_path / "report.json"
    call_command("report", "--study", "demo", "--format", "json", "--output", str(report), stderr=io.StringIO())
    (comparison,) = json.loads(report.read_text())["comparisons"]
    real_trials = Trial.objects.filter(participant=participant, is_catch=False).count()
    assert comparison["votes_a"] + comparison["votes_b"] == real_trials > 0


def test_running_the_demo_again_keeps_the_study_and_its_votes(no_zhang_weights):
    run_demo(participants=2, trials=6)
    study = Study.objects.get(slug="demo")
    client = Client()
    participant = start(client, study)
    assert vote(client, participant, 1, "right").status_code == 302
    run_demo(participants=5, trials=10)
    assert Study.objects.get(slug="demo").pk == study.pk
    assert Participant.objects.filter(study=study).count() == 2
    assert Vote.objects.filter(trial__participant=participant).count() == 1


def test_with_zhangs_weights_on_the_machine_the_demo_adds_their_model(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORCORE_WEIGHTS", str(tmp_path))
    torch.save(official_state_dict(), zhang.default_path())  # the official keys and shapes, random values
    out = run_demo(participants=2, trials=6)
    study = Study.objects.get(slug="demo")
    assert compared(study) == {"cross_entropy", "l2", "zhang2016"}
    assert "zhang2016" in out
    shown = {name for t in Trial.objects.filter(participant__study=study, is_catch=False)
             for name in (t.left.system.name, t.right.system.name)}
    assert "zhang2016" in shown
