from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from colorstudy.models import Participant, Trial

from .helpers import make_study, start, vote

pytestmark = pytest.mark.django_db


def test_report_analyzes_votes_cast_through_the_site(system_folders, tmp_path):
    study = make_study(system_folders, participants=4, trials=6, catch_rate=0.25, ground_truth=system_folders["truth"])
    for n in range(4):
        client = Client()
        participant = start(client, study, f"?PROLIFIC_PID=pid{n}")
        for trial in Trial.objects.filter(participant=participant).select_related("left__system", "right__system").order_by("position"):
            # Everyone prefers the vivid system, and the last participant fails every catch trial.
            if trial.is_catch:
                want = "foil" if n == 3 else "ground_truth"
            else:
                want = "vivid"
            side = "left" if trial.left.system.name == want else "right"
            assert vote(client, participant, trial.position, side).status_code == 302
    assert Participant.objects.filter(finished_at__isnull=False).count() == 4

    out = tmp_path / "report.json"
    call_command("report", "--study", study.slug, "--format", "json", "--output", str(out), stderr=io.StringIO())
    data = json.loads(out.read_text())
    (c,) = data["comparisons"]
    assert (c["system_a"], c["system_b"]) == ("muted", "vivid")
    assert (c["votes_a"], c["votes_b"]) == (0, 18)  # 3 included participants x 6 trials
    assert data["excluded_participants"] == ["P0004"]
    assert c["pvalue"] < 0.001

    text = io.StringIO()
    call_command("report", "--study", study.slug, "--include-excluded", "--no-mixed", stdout=text)
    assert "0 (0%)" in text.getvalue() and "24 (100%)" in text.getvalue()


def test_report_flags_a_participant_who_clicks_left_throughout_and_can_leave_them_out(system_folders):
    study = make_study(system_folders, participants=4, trials=12)
    for n in range(4):
        client = Client()
        participant = start(client, study, f"?PROLIFIC_PID=pid{n}")
        for trial in Trial.objects.filter(participant=participant).select_related("left__system").order_by("position"):
            # Three participants answer by the images (always vivid); the first one clicks left throughout.
            side = "left" if n == 0 or trial.left.system.name == "vivid" else "right"
            assert vote(client, participant, trial.position, side).status_code == 302

    text = io.StringIO()
    call_command("report", "--study", study.slug, "--no-mixed", stdout=text)
    assert "One-sided participants" in text.getvalue() and "P0001 (left in 12 of 12" in text.getvalue()
    assert "48 regular votes" in text.getvalue()

    text = io.StringIO()
    call_command("report", "--study", study.slug, "--no-mixed", "--exclude-one-sided", stdout=text)
    assert "36 regular votes" in text.getvalue() and "36 (100%)" in text.getvalue()


def test_the_staff_review_page_lists_who_fails_a_check_first_with_their_panel_ids(system_folders, django_user_model):
    study = make_study(system_folders, participants=3, trials=12, catch_rate=0.25, ground_truth=system_folders["truth"])
    for n in range(3):
        client = Client()
        participant = start(client, study, f"?PROLIFIC_PID=pid{n}")
        for trial in Trial.objects.filter(participant=participant).select_related("left__system").order_by("position"):
            # pid0 answers by the images; pid1 clicks left throughout; pid2 fails every catch trial.
            want = ("foil" if n == 2 else "ground_truth") if trial.is_catch else "vivid"
            side = "left" if n == 1 or trial.left.system.name == want else "right"
            assert vote(client, participant, trial.position, side).status_code == 302

    url = f"/staff/study/{study.slug}/participants/"
    assert Client().get(url).status_code == 302  # staff only
    staff = Client()
    staff.force_login(django_user_model.objects.create_user("r", password="pw-123456", is_staff=True))
    page = staff.get(url).content.decode()
    assert "one side beyond chance" in page and "fails the catch rule" in page
    assert page.index("pid1") < page.index("pid0") and page.index("pid2") < page.index("pid0")

    download = staff.get(url + "?format=csv")
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    checks = {r["external_id"]: (r["one_sided"], r["fails_catch"]) for r in rows}
    assert checks == {"pid0": ("False", "False"), "pid1": ("True", "False"), "pid2": ("False", "True")}
    assert all(r["votes"] == "12" and r["catch_trials"] == "4" for r in rows)  # 12 regular, 4 catch (25% of all)
    assert "participants/" in staff.get(f"/staff/study/{study.slug}/").content.decode()  # linked from the status page


def test_the_participants_page_names_who_answers_unlike_the_others_by_pwcmps_screening(system_folders, django_user_model):
    study = make_study(system_folders, participants=6, trials=12)
    for n in range(6):
        client = Client()
        participant = start(client, study, f"?PROLIFIC_PID=pid{n}")
        for trial in Trial.objects.filter(participant=participant).select_related("left__system").order_by("position"):
            # Five prefer vivid most of the time; pid5 always picks muted, against everybody else.
            want = "muted" if n == 5 or trial.position % 4 == n % 4 else "vivid"
            side = "left" if trial.left.system.name == want else "right"
            assert vote(client, participant, trial.position, side).status_code == 302
    staff = Client()
    staff.force_login(django_user_model.objects.create_user("r", password="pw-123456", is_staff=True))
    url = f"/staff/study/{study.slug}/participants/"
    page = staff.get(url).content.decode()
    assert "answers unlike the others" in page and page.index("pid5") < page.index("pid0")
    rows = {r["external_id"]: r for r in csv.DictReader(io.StringIO(staff.get(url + "?format=csv").content.decode()))}
    assert rows["pid5"]["outlier"] == "True" and float(rows["pid5"]["outlier_distance"]) > 1.5
    assert all(rows[f"pid{n}"]["outlier"] == "False" for n in range(5))
    text = io.StringIO()
    call_command("report", "--study", study.slug, "--no-mixed", "--exclude-outliers", stdout=text)
    assert "Observer screening (pwcmp's outlier analysis, distance above 1.5; excluded)" in text.getvalue()
    assert "60 regular votes, 5 participants" in text.getvalue()


def test_report_on_a_study_without_votes_says_so(system_folders):
    study = make_study(system_folders, participants=1, trials=2)
    with pytest.raises(CommandError, match="no votes yet"):
        call_command("report", "--study", study.slug)
    with pytest.raises(CommandError, match="no study 'nope'"):
        call_command("report", "--study", "nope")
