"""A study that shows colour-vision plates: recorded, or turning away who fails before any trial."""
from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from PIL import Image

from colorstudy.models import Participant, Plate, Vote

from .helpers import make_study, start, vote

pytestmark = pytest.mark.django_db


def plate_on_page(client: Client, participant: Participant) -> Plate | None:
    page = client.get(f"/p/{participant.token}/")
    match = re.search(rb'name="position" value="(\d+)"', page.content)
    if b"Which number do you see" not in page.content:
        return None
    return participant.plates.get(position=int(match.group(1)))


def answer_plates(client: Client, participant: Participant, right: bool) -> None:
    while (plate := plate_on_page(client, participant)) is not None:
        answer = plate.digit if right or plate.kind == "demo" else -1
        assert client.post(f"/p/{participant.token}/plate/", {"position": plate.position, "answer": answer}).status_code == 302


def test_plates_come_before_the_first_trial_and_a_pass_is_recorded(system_folders):
    study = make_study(system_folders, participants=2, trials=3, colour_vision="record")
    client = Client()
    participant = start(client, study)
    first = plate_on_page(client, participant)
    assert first is not None and first.kind == "demo" and participant.plates.count() == 7
    assert vote(client, participant, 1, "left").status_code == 403  # no trial before the plates
    image = client.get(f"/img/{first.token}.png")
    assert image.status_code == 200 and image["Content-Type"] == "image/png" and image["Cache-Control"] == "no-store"
    assert Image.open(io.BytesIO(b"".join(image.streaming_content) if image.streaming else image.content)).size == (360, 360)
    answer_plates(client, participant, right=True)
    participant.refresh_from_db()
    assert (participant.colour_vision, participant.plates_right, participant.plates_shown) == ("normal", 7, 7)
    assert vote(client, participant, 1, "left").status_code == 302


def test_in_a_recording_study_a_failed_screening_still_votes(system_folders):
    study = make_study(system_folders, participants=2, trials=3, colour_vision="record")
    client = Client()
    participant = start(client, study)
    answer_plates(client, participant, right=False)
    participant.refresh_from_db()
    assert participant.colour_vision == "protan+deutan+tritan" and participant.screened_out_at is None
    assert vote(client, participant, 1, "left").status_code == 302
    out = io.StringIO()
    call_command("export_votes", "--study", study.slug, stdout=out)
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert (row["plates_right"], row["plates_shown"], row["colour_vision"]) == ("1", "7", "protan+deutan+tritan")


def test_in_an_excluding_study_who_fails_is_thanked_turned_away_and_their_list_goes_to_a_newcomer(system_folders):
    study = make_study(system_folders, participants=1, trials=3, colour_vision="exclude",
                       screened_out_url="https://app.prolific.com/submissions/complete?cc=SCREENED")
    failing = start(Client(), study, "?PROLIFIC_PID=aaa")
    client = Client()
    client.get(f"/p/{failing.token}/")
    answer_plates(client, failing, right=False)
    page = client.get(f"/p/{failing.token}/")
    assert b"not the right study for you" in page.content and b"cc=SCREENED" in page.content
    assert vote(client, failing, 1, "left").status_code == 403
    failing.refresh_from_db()
    assert failing.screened_out_at is not None and failing.trials.count() == 0
    # The only list went back to the pool: the next newcomer gets it, passes and votes.
    passing = start(Client(), study, "?PROLIFIC_PID=bbb")
    assert passing.pk != failing.pk and passing.trials.count() == 3
    second = Client()
    second.get(f"/p/{passing.token}/")
    answer_plates(second, passing, right=True)
    assert vote(second, passing, 1, "right").status_code == 302
    assert Vote.objects.filter(trial__participant=passing).count() == 1
    staff = Client()
    from django.contrib.auth.models import User
    staff.force_login(User.objects.create_user("staff", is_staff=True))
    table = staff.get(f"/staff/study/{study.slug}/participants/?format=csv").content.decode()
    rows = {r["external_id"]: r for r in csv.DictReader(io.StringIO(table))}
    assert rows["aaa"]["colour_vision"] == "protan+deutan+tritan" and rows["aaa"]["screened_out"] == "True"
    assert rows["bbb"]["colour_vision"] == "normal" and rows["bbb"]["votes"] == "1"
    assert b"turned away" in staff.get(f"/staff/study/{study.slug}/participants/").content
    assert b"Turned away by the colour check</th><td>1<" in staff.get(f"/staff/study/{study.slug}/").content


def test_a_plate_answer_out_of_range_or_out_of_turn_is_refused_in_one_line(system_folders):
    study = make_study(system_folders, participants=1, trials=2, colour_vision="record")
    client = Client()
    participant = start(client, study)
    plate_on_page(client, participant)
    bad = client.post(f"/p/{participant.token}/plate/", {"position": 1, "answer": "11"})
    assert bad.status_code == 400 and b"answer" in bad.content
    later = client.post(f"/p/{participant.token}/plate/", {"position": 3, "answer": "2"})
    assert later.status_code == 409
    assert not participant.plates.filter(answer__isnull=False).exists()


def test_the_colour_vision_setting_is_checked_and_off_by_default(system_folders):
    study = make_study(system_folders, participants=1, trials=2)
    assert study.settings.colour_vision == "off"
    client = Client()
    participant = start(client, study)
    assert plate_on_page(client, participant) is None and not Plate.objects.exists()
    with pytest.raises(Exception, match="colour-vision"):
        make_study(system_folders, slug="other", colour_vision="sometimes")


def test_the_report_lists_who_missed_the_plates_and_leaves_them_out_when_asked(system_folders, tmp_path):
    from evaluation.options import ReportOptions
    from evaluation.report import build_report
    from evaluation.wording import summary_lines

    study = make_study(system_folders, participants=3, trials=4, colour_vision="record")
    for n, right in enumerate([True, True, False]):
        client = Client()
        participant = start(client, study, f"?PROLIFIC_PID=p{n}")
        answer_plates(client, participant, right)
        for position in range(1, 5):
            assert vote(client, participant, position, "left").status_code == 302
    path = tmp_path / "votes.csv"
    with path.open("w") as out:
        call_command("export_votes", "--study", study.slug, stdout=out)
    from django.contrib.auth.models import User

    staff = Client()
    staff.force_login(User.objects.create_user("staff", is_staff=True))
    table = staff.get(f"/staff/study/{study.slug}/participants/?format=csv").content.decode()
    first = next(csv.DictReader(io.StringIO(table)))
    assert (first["external_id"], first["colour_vision"]) == ("p2", "protan+deutan+tritan")  # a failed check: first
    kept = build_report(path)
    assert "3 participants screened, 1 missed them (still counted" in " ".join(summary_lines(kept))
    assert kept.n_participants == 3
    left_out = build_report(path, ReportOptions(exclude_colour_vision=True))
    assert left_out.n_participants == 2 and left_out.excluded == ["P0003"]
    assert "left out by --exclude-colour-vision): P0003 (protan+deutan+tritan)" in " ".join(summary_lines(left_out))
