"""Viewing conditions: recorded at consent and with every vote, and a study's screen rules, which say
in one sentence why and what to do."""
from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.test import Client

from colorstudy.models import Participant, Vote

from .helpers import make_study, vote

pytestmark = pytest.mark.django_db

LAPTOP = {"viewport_width": 1280, "viewport_height": 720, "device_pixel_ratio": 1.25, "screen_width": 1536,
          "screen_height": 864, "zoom": 1.1, "color_gamut": "p3", "dynamic_range": "standard", "pointer": "fine"}
PHONE = {"viewport_width": 390, "viewport_height": 844, "device_pixel_ratio": 3, "screen_width": 390,
         "screen_height": 844, "zoom": 1, "color_gamut": "p3", "dynamic_range": "high", "pointer": "coarse"}
TABLET = {**PHONE, "viewport_width": 820, "viewport_height": 1180, "screen_width": 820, "screen_height": 1180}


def consent(client: Client, study, conditions: dict, pid: str = "x"):
    return client.post(f"/study/{study.slug}/?PROLIFIC_PID={pid}", {"consent": "on", **conditions})


def test_the_conditions_at_consent_are_stored_and_exported_with_each_vote(system_folders):
    study = make_study(system_folders, participants=2, trials=3)
    client = Client()
    assert consent(client, study, LAPTOP).status_code == 302
    participant = Participant.objects.get(external_id="x")
    assert (participant.device_class, participant.device_pixel_ratio, participant.zoom, participant.color_gamut,
            participant.pointer, participant.screen_width) == ("desktop", 1.25, 1.1, "p3", "fine", 1536)
    assert vote(client, participant, 1, "left", conditions="402;1;0;").status_code == 302
    assert vote(client, participant, 2, "left", conditions="380;0;1;1100x720@1.25").status_code == 302
    first, second = Vote.objects.filter(trial__participant=participant).order_by("trial__position")
    assert (first.image_px, first.focus_lost, first.resized, first.viewport) == (402, True, False, "")
    assert (second.resized, second.viewport) == (True, "1100x720@1.25")
    out = io.StringIO()
    call_command("export_votes", "--study", study.slug, stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert (rows[0]["color_gamut"], rows[0]["zoom"], rows[0]["focus_lost"], rows[1]["viewport"]) == (
        "p3", "1.1", "True", "1100x720@1.25")
    from django.contrib.auth.models import User

    staff = Client()
    staff.force_login(User.objects.create_user("staff", is_staff=True))
    table = staff.get(f"/staff/study/{study.slug}/participants/?format=csv").content.decode()
    (row,) = [r for r in csv.DictReader(io.StringIO(table)) if r["external_id"] == "x"]
    assert (row["median_image_px"], row["focus_lost_votes"], row["resized_votes"], row["pointer"]) == ("391.0", "1", "1",
                                                                                                      "fine")


def test_a_touch_screen_is_a_phone_or_a_tablet_by_its_shorter_side(system_folders):
    study = make_study(system_folders, participants=3, trials=2)
    for pid, conditions, expected in (("p", PHONE, "phone"), ("t", TABLET, "tablet"),
                                      ("d", {**LAPTOP, "viewport_width": 500}, "desktop")):
        assert consent(Client(), study, conditions, pid).status_code == 302
        assert Participant.objects.get(external_id=pid).device_class == expected


@pytest.mark.parametrize("rule, conditions, words", [
    ({"devices": "desktop-only"}, TABLET, b"needs a desktop or laptop computer with a mouse or trackpad"),
    ({"devices": "no-phones"}, PHONE, b"needs a screen larger than a phone"),
    ({"min_image_px": 250}, {**LAPTOP, "viewport_width": 450, "zoom": 1}, b"please widen the window or reset the zoom"),
    ({"devices": "no-phones"}, {}, b"needs JavaScript to check your screen"),
])
def test_a_screen_a_study_cannot_use_is_told_why_and_what_to_do_and_nothing_is_assigned(system_folders, rule,
                                                                                          conditions, words):
    study = make_study(system_folders, participants=2, trials=2, **rule)
    page = consent(Client(), study, conditions)
    assert page.status_code == 200 and words in page.content
    assert not study.participants.filter(assigned_at__isnull=False).exists()


def test_the_rules_admit_the_screens_they_allow(system_folders):
    study = make_study(system_folders, participants=2, trials=2, devices="no-phones", min_image_px=200)
    assert consent(Client(), study, TABLET, "t").status_code == 302
    assert consent(Client(), study, LAPTOP, "d").status_code == 302


def test_conditions_a_browser_could_not_have_sent_are_refused_in_one_line(system_folders):
    study = make_study(system_folders, participants=2, trials=2)
    page = consent(Client(), study, {**LAPTOP, "color_gamut": "<script>"})
    assert page.status_code == 400 and b"could not be read (color_gamut)" in page.content
    assert not study.participants.filter(assigned_at__isnull=False).exists()
    client = Client()
    consent(client, study, LAPTOP, "ok")
    participant = Participant.objects.get(external_id="ok")
    bad = vote(client, participant, 1, "left", conditions="1;0;0;=HYPERLINK(1)")
    assert bad.status_code == 400 and b"conditions" in bad.content and not Vote.objects.exists()


def test_a_minimum_image_size_beyond_the_stimuli_is_refused_when_the_study_is_made(system_folders):
    with pytest.raises(Exception, match=r"--min-image-px \(300\) cannot exceed the stimuli's --size \(256\)"):
        make_study(system_folders, min_image_px=300)


def test_the_report_splits_the_result_by_device_and_gamut_when_asked(system_folders, tmp_path):
    from evaluation.options import ReportOptions
    from evaluation.render import render
    from evaluation.report import build_report

    study = make_study(system_folders, participants=2, trials=4)
    for pid, conditions, liked in (("p", PHONE, "muted"), ("d", {**LAPTOP, "color_gamut": "srgb"}, "vivid")):
        client = Client()
        consent(client, study, conditions, pid)
        participant = Participant.objects.get(external_id=pid)
        for trial in participant.trials.select_related("left__system").order_by("position"):
            side = "left" if trial.left.system.name == liked else "right"
            assert vote(client, participant, trial.position, side).status_code == 302
    path = tmp_path / "votes.csv"
    with path.open("w") as out:
        call_command("export_votes", "--study", study.slug, stdout=out)
    assert build_report(path).splits is None
    report = build_report(path, ReportOptions(by_device=True))
    table = report.splits.set_index(["split", "group"])
    assert table.loc[("Device", "phone"), "votes"] == 4 and table.loc[("Device", "desktop"), "votes"] == 4
    assert set(table.loc["Colour gamut"].index) == {"p3", "srgb"}
    phone = table.loc[("Device", "phone")]
    shares = {row.group: row.share for row in report.splits.itertuples() if row.split == "Device"}
    assert shares == {"phone": 1.0, "desktop": 0.0} and phone["participants"] == 1  # muted is the first system
    for fmt in ("text", "markdown", "html", "json"):
        assert "phone" in render(report, fmt)
