"""Bots walking whole sessions through Django's test client, as oTree's bots do."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from colorstudy.models import Participant, Study, Vote

from .helpers import current_position, make_study, start, vote

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(system_folders) -> Study:
    return make_study(system_folders, participants=3, trials=5)


def test_a_participant_walks_through_consent_trials_and_completion(study):
    client = Client()
    participant = start(client, study)
    for position in range(1, 6):
        page = client.get(f"/p/{participant.token}/")
        assert f"{position} of 5".encode() in page.content
        assert page.content.count(b'data-side="left"') == 1 and page.content.count(b'data-side="right"') == 1
        assert vote(client, participant, position, "left" if position % 2 else "right").status_code == 302
    done = client.get(f"/p/{participant.token}/")
    participant.refresh_from_db()
    assert participant.completion_code.encode() in done.content
    assert participant.finished_at is not None
    assert Vote.objects.filter(trial__participant=participant).count() == 5


def test_reloading_and_coming_back_later_resumes_at_the_first_unanswered_trial(study):
    client = Client()
    participant = start(client, study)
    vote(client, participant, 1, "left")
    vote(client, participant, 2, "right")
    assert current_position(client, participant) == 3
    # Later, from the open link in the same browser: the same participant, not a new one.
    again = client.get(f"/study/{study.slug}/")
    assert again.status_code == 302 and participant.token in again["Location"]
    # From another browser with the personal link.
    assert current_position(Client(), participant) == 3


def test_the_same_prolific_id_resumes_and_never_creates_a_second_participant(study):
    query = "?PROLIFIC_PID=abc123&STUDY_ID=s1&SESSION_ID=x9"
    first = start(Client(), study, query)
    assert (first.external_id, first.external_study_id, first.external_session_id) == ("abc123", "s1", "x9")
    response = Client().get(f"/study/{study.slug}/{query}")
    assert response.status_code == 302 and first.token in response["Location"]
    assert Participant.objects.filter(external_id="abc123").count() == 1
    assert Participant.objects.filter(assigned_at__isnull=False).count() == 1


def test_a_repeated_identical_post_is_a_success_and_stores_one_vote(study):
    client = Client()
    participant = start(client, study)
    assert vote(client, participant, 1, "left").status_code == 302
    assert vote(client, participant, 1, "left").status_code == 302
    assert Vote.objects.filter(trial__participant=participant).count() == 1


def test_a_different_second_choice_is_refused_with_409_and_the_first_kept(study):
    client = Client()
    participant = start(client, study)
    vote(client, participant, 1, "left")
    assert vote(client, participant, 1, "right").status_code == 409
    assert Vote.objects.get(trial__participant=participant, trial__position=1).side == "left"


def test_it_refuses_a_vote_on_another_participants_trial(study):
    client = Client()
    mine = start(client, study)
    other = start(Client(), study)
    for position in range(1, 6):
        vote(Client(), other, position, "left")
    # A position this participant does not have, and a token that does not exist.
    assert vote(client, mine, 99, "left").status_code == 404
    assert client.post("/p/not-a-real-token/vote/", {"position": 1, "side": "left"}).status_code == 404
    assert not Vote.objects.filter(trial__participant=mine).exists()


@pytest.mark.parametrize(
    "data",
    [{}, {"position": "1"}, {"position": "x", "side": "left"}, {"position": "1", "side": "up"},
     {"position": "1", "side": "left", "response_ms": "-5"}, {"position": "-1", "side": "left"}],
)
def test_a_malformed_post_gets_400_and_stores_nothing(study, data):
    client = Client()
    participant = start(client, study)
    assert client.post(f"/p/{participant.token}/vote/", data).status_code == 400
    assert not Vote.objects.exists()


def test_a_vote_out_of_order_is_refused(study):
    client = Client()
    participant = start(client, study)
    assert vote(client, participant, 3, "left").status_code == 409
    assert not Vote.objects.exists()


def test_the_open_link_says_the_study_is_full_when_every_list_is_taken(study):
    for _ in range(3):
        start(Client(), study)
    client = Client()
    response = client.post(f"/study/{study.slug}/", {"consent": "on"})
    assert response.status_code == 200 and b"full" in response.content
    assert Participant.objects.filter(assigned_at__isnull=False).count() == 3


def test_a_full_study_says_so_before_the_consent_form_not_after_it(study):
    for _ in range(3):
        start(Client(), study)
    page = Client().get(f"/study/{study.slug}/").content.decode()
    assert "This study is full" in page and "agree" not in page and "<form" not in page


def test_participants_never_see_the_studys_internal_name(study):
    page = Client().get(f"/study/{study.slug}/").content.decode()
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    visible = re.sub(r"<[^>]+>", " ", page.split("<main>")[1])  # the link itself may hold it; the words may not
    assert study.slug not in title and study.slug not in visible
    assert title == "Image comparison"
    study.title = "Which colours look real?"
    study.save()
    assert "<title>Which colours look real?</title>" in Client().get(f"/study/{study.slug}/").content.decode()


def test_the_arrow_key_hint_is_hidden_on_touch_screens(study):
    client = Client()
    consent = client.get(f"/study/{study.slug}/").content.decode()
    participant = start(client, study)
    trial = client.get(f"/p/{participant.token}/").content.decode()
    for page in (consent, trial):
        keys = re.search(r'<span class="keys">(.*?)</span>', page, re.S)
        assert keys and "<kbd>&larr;</kbd>" in keys.group(1)
        assert "<kbd" not in page.replace(keys.group(0), "")  # every mention of the keys is inside it
    css = (Path(settings.BASE_DIR) / "colorstudy" / "static" / "colorstudy" / "study.css").read_text()
    assert "@media (hover: none) and (pointer: coarse) { .keys { display: none; } }" in css


def test_a_personal_link_asks_for_consent_first(study):
    participant = study.participants.order_by("slot").first()
    client = Client()
    page = client.get(f"/p/{participant.token}/")
    assert b'name="consent"' in page.content
    assert vote(client, participant, 1, "left").status_code == 403
    assert client.post(f"/p/{participant.token}/consent/", {}).status_code == 400
    assert client.post(f"/p/{participant.token}/consent/", {"consent": "on"}).status_code == 302
    assert vote(client, participant, 1, "left").status_code == 302


def test_a_draft_study_is_not_reachable_by_participants(system_folders):
    study = make_study(system_folders, slug="draft", draft=True)
    assert Client().get("/study/draft/").status_code == 403
    first = study.participants.order_by("slot").first()
    assert Client().get(f"/p/{first.token}/").status_code == 404


def test_stimulus_images_are_served_with_no_store_and_no_validators(study):
    client = Client()
    participant = start(client, study)
    page = client.get(f"/p/{participant.token}/").content.decode()
    urls = re.findall(r'<img src="([^"]+)"', page)
    assert len(urls) == 2
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert response["Cache-Control"] == "no-store"
        assert "ETag" not in response and "Last-Modified" not in response


def test_the_status_page_is_for_staff_only(study, django_user_model):
    assert Client().get(f"/staff/study/{study.slug}/").status_code == 302
    staff = django_user_model.objects.create_user("r", password="pw-123456", is_staff=True)
    client = Client()
    client.force_login(staff)
    page = client.get(f"/staff/study/{study.slug}/")
    assert page.status_code == 200 and b"muted" in page.content and b"Regular votes" in page.content


def test_the_staff_pages_say_which_votes_they_count_link_each_other_and_log_out(system_folders, django_user_model):
    study = make_study(system_folders, participants=1, trials=6, catch_rate=0.25, ground_truth=system_folders["truth"])
    client = Client()
    participant = start(client, study)
    for trial in participant.trials.order_by("position"):
        assert vote(client, participant, trial.position, "left").status_code == 302
    staff = Client()
    staff.force_login(django_user_model.objects.create_user("r", password="pw-123456", is_staff=True))
    status = staff.get(f"/staff/study/{study.slug}/").content.decode()
    assert "<th>Regular votes</th><td>6 " in status and "(6 regular, 2 catch, 0 practice)" in status
    review = staff.get(f"/staff/study/{study.slug}/participants/").content.decode()
    assert "<td>6</td>" in review and " passed</td>" in review  # the same 6 regular votes, catch trials passed
    for page in (status, review):
        assert f'href="/staff/study/{study.slug}/"' in page and f'href="/staff/study/{study.slug}/participants/"' in page
        assert 'action="/admin/logout/"' in page
    staff.post("/admin/logout/")
    assert staff.get(f"/staff/study/{study.slug}/").status_code == 302  # logged out: back to the login


def test_the_status_page_explains_in_one_line_why_the_report_counts_fewer_votes(system_folders, django_user_model):
    import io
    import json

    from django.core.management import call_command

    study = make_study(system_folders, participants=2, trials=6, catch_rate=0.25, ground_truth=system_folders["truth"])
    for careful in (True, False):
        client = Client()
        participant = start(client, study)
        for trial in participant.trials.select_related("left__system").order_by("position"):
            truth_left = trial.left.system.name == "ground_truth"
            side = ("left" if truth_left == careful else "right") if trial.is_catch else "left"
            assert vote(client, participant, trial.position, side).status_code == 302
    staff = Client()
    staff.force_login(django_user_model.objects.create_user("r", password="pw-123456", is_staff=True))
    status = staff.get(f"/staff/study/{study.slug}/").content.decode()
    out = io.StringIO()
    call_command("report", "--study", study.slug, "--format", "json", "--no-mixed", stdout=out)
    counted = json.loads(out.getvalue())["votes"]
    assert counted == 6 and "<th>Regular votes</th><td>12 " in status
    assert (f"the report counts {counted} of them: it leaves out the 6 of 1 participant who fails the catch-trial "
            "rule, which <code>report --include-excluded</code> keeps") in status


def test_the_staff_list_links_every_study_and_labels_a_full_one_full(system_folders, django_user_model):
    full = make_study(system_folders, slug="small", participants=2, trials=1, target_completes=1)
    make_study(system_folders, slug="other", participants=1, trials=1)
    client = Client()
    vote(client, start(client, full), 1, "left")
    staff = Client()
    assert staff.get("/staff/").status_code == 302  # staff only
    staff.force_login(django_user_model.objects.create_user("r", password="pw-123456", is_staff=True))
    page = staff.get("/staff/").content.decode()
    assert 'href="/staff/study/small/"' in page and 'href="/staff/study/other/"' in page
    assert re.search(r"small/\">small</a></td><td>Full</td><td>1</td><td>1</td><td>1</td>", page)
    assert re.search(r"other/\">other</a></td><td>Open</td>", page)
    assert "(Full)" in staff.get("/staff/study/small/").content.decode()


def test_the_instructions_mention_attention_checks_only_when_the_study_has_them(system_folders):
    plain = make_study(system_folders, participants=1, trials=3)
    page = Client().get(f"/study/{plain.slug}/").content.decode()
    assert "There are 3 pairs." in page and "attention check" not in page and "real photo" not in page
    checked = make_study(system_folders, slug="checked", participants=1, trials=6, catch_rate=0.25,
                         ground_truth=system_folders["truth"])
    page = Client().get(f"/study/{checked.slug}/").content.decode()
    assert "There are also 2 attention checks: in each, one image is the real photo" in page


def test_the_completion_page_speaks_of_a_panel_only_when_the_participant_came_from_one(system_folders):
    prolific = "https://app.prolific.com/submissions/complete?cc=ABC"
    for n, (url, query) in enumerate([("", ""), ("", "?PROLIFIC_PID=abc123"), (prolific, "?PROLIFIC_PID=abc123")]):
        study = make_study(system_folders, slug=f"done{n}", participants=1, trials=1, completion_url=url)
        client = Client()
        participant = start(client, study, query)
        vote(client, participant, 1, "left")
        page = client.get(f"/p/{participant.token}/", follow=True).content.decode()
        assert participant.completion_code in page
        if url:
            assert f'content="5;url={url}"' in page.replace("&amp;", "&") and "sent back to the study's panel" in page
        elif query:
            assert "paste it where the panel that sent you here (for example Prolific) asks" in page
        else:
            assert "panel" not in page and "Prolific" not in page and "You may close this page" in page
