"""Study designs as data: a TOML study file, pause screens, exposure-limited trials."""
from __future__ import annotations

import html
import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from colorstudy.models import Study, Vote

from .helpers import make_study, start, vote

pytestmark = pytest.mark.django_db


def write_config(tmp_path, folders, extra: str = "") -> str:
    path = tmp_path / "study.toml"
    path.write_text(
        f'''slug = "toml"
title = "From a file"
question = "Which one looks real?"
participants = 3
trials = 6
seed = 5

[systems]
muted = "{folders['muted']}"
vivid = "{folders['vivid']}"

[catch]
rate = 0.25
ground_truth = "{folders['truth']}"

[exposure]
ms = 1000

[breaks]
every = 2
{extra}'''
    )
    return str(path)


def test_a_study_file_sets_every_option_and_is_stored_with_the_study(system_folders, tmp_path, django_user_model):
    call_command("generate_pairs", "--config", write_config(tmp_path, system_folders), stdout=io.StringIO())
    study = Study.objects.get(slug="toml")
    assert (study.title, study.question, study.trials_per_participant, study.seed) == ("From a file", "Which one looks real?", 6, 5)
    assert study.participants.count() == 3 and study.config["catch_trials"] == 2
    assert study.settings.exposure_ms == 1000 and study.settings.break_every == 2
    assert set(study.config["systems"]) == {"muted", "vivid"}
    staff = django_user_model.objects.create_user("r", password="pw-123456", is_staff=True)
    client = Client()
    client.force_login(staff)
    page = html.unescape(client.get("/staff/study/toml/").content.decode())
    assert "<th>Exposure (ms)</th><td>1000</td>" in page and "<th>A break every (trials)</th><td>2</td>" in page
    assert "<th>Systems compared</th><td>muted, vivid</td>" in page
    assert str(system_folders["muted"]) not in page  # the server's folders stay on the server


def test_flags_override_the_study_file(system_folders, tmp_path):
    config = write_config(tmp_path, system_folders)
    call_command("generate_pairs", "--config", config, "--participants", "5", "--trials", "4", stdout=io.StringIO())
    study = Study.objects.get(slug="toml")
    assert study.participants.count() == 5 and study.trials_per_participant == 4


def test_an_unknown_setting_is_named_in_the_error(system_folders, tmp_path):
    config = write_config(tmp_path, system_folders, extra="[breaks2]\nevery = 3\n")
    with pytest.raises(CommandError, match="unknown setting 'breaks2.every'"):
        call_command("generate_pairs", "--config", config)
    (tmp_path / "broken.toml").write_text("slug = ")
    with pytest.raises(CommandError, match="broken.toml: not valid TOML"):
        call_command("generate_pairs", "--config", str(tmp_path / "broken.toml"))


def test_a_pause_screen_comes_every_n_trials_and_continue_goes_on(system_folders):
    study = make_study(system_folders, participants=1, trials=5, break_every=2)
    client = Client()
    participant = start(client, study)
    vote(client, participant, 1, "left")
    assert b'name="position" value="2"' in client.get(f"/p/{participant.token}/").content
    vote(client, participant, 2, "left")
    page = client.get(f"/p/{participant.token}/")
    assert b"break" in page.content and b'name="position"' not in page.content
    again = client.get(f"/p/{participant.token}/").content  # a reload keeps the pause
    assert b"break" in again and b'name="position"' not in again
    assert client.post(f"/p/{participant.token}/continue/").status_code == 302
    assert b'name="position" value="3"' in client.get(f"/p/{participant.token}/").content


def test_exposure_limited_trials_say_they_need_javascript_and_store_the_displayed_time(system_folders):
    study = make_study(system_folders, participants=1, trials=3, exposure_ms=800)
    client = Client()
    participant = start(client, study)
    page = client.get(f"/p/{participant.token}/").content.decode()
    assert 'data-exposure-ms="800"' in page and "<noscript>" in page and "needs JavaScript" in page
    assert re.search(r'class="[^"]*\bneeds-js\b', page)
    client.post(f"/p/{participant.token}/vote/", {"position": 1, "side": "left", "response_ms": 1500, "displayed_ms": 801})
    assert Vote.objects.get().displayed_ms == 801


def test_out_of_range_exposure_is_refused(system_folders):
    with pytest.raises(CommandError, match="--exposure-ms must be between 50 and 60000, got 5"):
        make_study(system_folders, exposure_ms=5)
    assert json.dumps(list(Study.objects.values_list("slug", flat=True))) == "[]"


def test_turing_mode_pairs_each_system_with_the_real_photo_and_reports_fooling_rates(system_folders, tmp_path):
    from colorstudy.models import Trial

    from .helpers import start as start_session

    study = make_study(system_folders, participants=2, trials=6, turing=True, ground_truth=system_folders["truth"],
                       question="Which photo is real?")
    for t in Trial.objects.filter(participant__study=study).select_related("left__system", "right__system"):
        assert "ground_truth" in (t.left.system.name, t.right.system.name)
        assert {t.left.system.name, t.right.system.name} - {"ground_truth"} <= {"muted", "vivid"}
    client = Client()
    participant = start_session(client, study)
    for t in Trial.objects.filter(participant=participant).select_related("left__system", "right__system").order_by("position"):
        # This participant always takes 'vivid' for real and never 'muted'.
        fake = t.left.system.name if t.left.system.name != "ground_truth" else t.right.system.name
        pick_fake = fake == "vivid"
        side = "left" if (t.left.system.name == fake) == pick_fake else "right"
        vote(client, participant, t.position, side)
    out = tmp_path / "r.json"
    call_command("report", "--study", study.slug, "--format", "json", "--output", str(out), stderr=io.StringIO())
    fooling = {f["system"]: f for f in json.loads(out.read_text())["fooling"]}
    assert fooling["vivid"]["rate"] == 1.0 and fooling["muted"]["rate"] == 0.0
    assert fooling["vivid"]["n"] + fooling["muted"]["n"] == 6
    assert fooling["vivid"]["participants"][0]["fooled"] == fooling["vivid"]["n"]


def test_the_viewport_is_recorded_and_a_study_can_require_a_minimum(system_folders, tmp_path):
    from colorstudy.models import Participant

    study = make_study(system_folders, participants=3, trials=3, min_viewport_width=800)
    small = Client().post(f"/study/{study.slug}/", {"consent": "on", "viewport_width": 390, "viewport_height": 800})
    assert small.status_code == 200 and b"at least 800 pixels wide" in small.content
    no_js = Client().post(f"/study/{study.slug}/", {"consent": "on"})
    assert b"needs JavaScript" in no_js.content
    assert not Participant.objects.filter(assigned_at__isnull=False).exists()
    client = Client()
    ok = client.post(f"/study/{study.slug}/?PROLIFIC_PID=wide", {"consent": "on", "viewport_width": 1280, "viewport_height": 800})
    assert ok.status_code == 302
    participant = Participant.objects.get(external_id="wide")
    assert (participant.viewport_width, participant.viewport_height, participant.device_class) == (1280, 800, "desktop")


def test_the_report_can_leave_out_small_screens(system_folders, tmp_path):
    study = make_study(system_folders, participants=2, trials=3)
    for width, side in ((1400, "left"), (390, "right")):
        client = Client()
        response = client.post(f"/study/{study.slug}/", {"consent": "on", "viewport_width": width, "viewport_height": 700})
        token = response["Location"].strip("/").split("/")[-1]
        for position in (1, 2, 3):
            client.post(f"/p/{token}/vote/", {"position": position, "side": side})
    out = tmp_path / "r.json"
    call_command("report", "--study", study.slug, "--format", "json", "--output", str(out), "--min-viewport", "600",
                 "--no-mixed", stderr=io.StringIO())
    data = json.loads(out.read_text())
    assert data["comparisons"][0]["n"] == 3 and data["excluded_participants"] == ["P0002"]


def test_the_open_link_closes_when_the_target_of_completes_is_reached(system_folders):
    study = make_study(system_folders, participants=4, trials=2, target_completes=1)
    client = Client()
    participant = start(client, study)
    for position in (1, 2):
        vote(client, participant, position, "left")
    response = Client().post(f"/study/{study.slug}/", {"consent": "on"})
    assert response.status_code == 200 and b"full" in response.content


def test_an_abandoned_list_goes_to_the_next_newcomer_and_the_first_votes_stay(system_folders, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from colorstudy.models import Participant

    study = make_study(system_folders, participants=1, trials=4, abandon_after_minutes=30)
    first_client = Client()
    first = start(first_client, study)
    vote(first_client, first, 1, "left")
    assert Client().post(f"/study/{study.slug}/", {"consent": "on"}).content.count(b"full") == 1  # still active
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Participant.objects.filter(pk=first.pk).update(assigned_at=an_hour_ago)
    Vote.objects.filter(trial__participant=first).update(created_at=an_hour_ago)

    newcomer_client = Client()
    newcomer = start(newcomer_client, study)
    assert newcomer.pk != first.pk and newcomer.replaces_id == first.pk and newcomer.trial_count == 3
    page = newcomer_client.get(f"/p/{newcomer.token}/").content
    assert b"1 of 3" in page
    for position in (1, 2, 3):
        assert vote(newcomer_client, newcomer, position, "right").status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.finished_at is not None
    assert Vote.objects.filter(trial__participant=first).count() == 1  # kept, attributed to the first
    assert b"place was offered to someone else" in first_client.get(f"/p/{first.token}/").content
    out = tmp_path / "r.json"
    call_command("report", "--study", study.slug, "--format", "json", "--output", str(out), "--no-mixed",
                 stderr=io.StringIO())
    data = json.loads(out.read_text())
    assert data["incomplete_participants"] == ["P0001"] and data["comparisons"][0]["n"] == 4


def test_practice_trials_come_first_with_feedback_on_their_own_images_and_never_count(system_folders, tmp_path):
    from colorstudy.models import Trial

    study = make_study(system_folders, participants=2, trials=4, practice_trials=2, ground_truth=system_folders["truth"])
    practice_images = set(study.config["practice_images"])
    assert len(practice_images) == 2
    for t in Trial.objects.filter(participant__study=study).select_related("image", "left__system", "right__system"):
        assert t.is_practice == (t.position <= 2)
        assert (t.image.name in practice_images) == t.is_practice  # practice images are never used later
        if t.is_practice:
            assert "ground_truth" in (t.left.system.name, t.right.system.name)
    client = Client()
    participant = start(client, study)
    first = Trial.objects.select_related("left__system").get(participant=participant, position=1)
    real_side = "left" if first.left.system.name == "ground_truth" else "right"
    response = vote(client, participant, 1, real_side)
    assert response["Location"].endswith("?feedback=1")
    assert b"correct!" in client.get(response["Location"]).content
    second = Trial.objects.select_related("left__system").get(participant=participant, position=2)
    real2 = "left" if second.left.system.name == "ground_truth" else "right"
    response = vote(client, participant, 2, "right" if real2 == "left" else "left")
    page = client.get(response["Location"]).content.decode()
    assert "not quite" in page and f"the {real2} one" in page
    for position in (3, 4, 5, 6):
        assert vote(client, participant, position, "left")["Location"].endswith(f"/p/{participant.token}/")
    out = tmp_path / "r.json"
    call_command("report", "--study", study.slug, "--format", "json", "--output", str(out), "--no-mixed",
                 stderr=io.StringIO())
    assert json.loads(out.read_text())["comparisons"][0]["n"] == 4  # the two practice votes are not counted
