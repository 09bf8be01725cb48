"""A sequential study on the site: the plan stored and fixed, looks taken as participants finish,
the open link closed to newcomers when a bound is crossed, the report told why."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from colorstudy.models import Look, Participant, Trial
from colorstudy.sequential import take_due_looks

from .helpers import at_once, current_position, make_study, start, vote

pytestmark = pytest.mark.django_db

TRIALS = 12
# Looks after 7 and 14 completed participants: seven unanimous participants are the fewest whose exact
# sign-flip p-value (2 / 2**7) can cross the first Pocock-like bound.
FIRST, LAST = 7, 14


def sequential_study(folders, **extra):
    return make_study(folders, slug="seq", participants=LAST, trials=TRIALS, sequential_looks=f"{FIRST},{LAST}",
                      sequential_spending="pocock", **extra)


def vote_for(client: Client, participant: Participant, system: str, trials: int | None = None) -> None:
    """Answer ``trials`` trials (all by default), always choosing ``system``'s image."""
    for _ in range(trials or TRIALS):
        position = current_position(client, participant)
        if not position:
            return
        trial = Trial.objects.select_related("left__system").get(participant=participant, position=position)
        side = "left" if trial.left.system.name == system else "right"
        assert vote(client, participant, position, side).status_code == 302


def test_the_plan_is_stored_with_the_study_and_its_bounds_follow_the_looks(system_folders):
    study = sequential_study(system_folders)
    plan = study.settings.sequential
    assert plan["looks"] == [FIRST, LAST] and plan["participants"] == LAST and plan["spending"] == "pocock"
    assert [round(b, 3) for b in plan["efficacy"]] == [2.157, 2.201]  # Pocock-like, two equal looks
    assert study.settings.target_completes == LAST


def test_a_unanimous_preference_stops_the_study_at_the_first_look_and_newcomers_are_turned_away(system_folders):
    study = sequential_study(system_folders)
    clients = [Client() for _ in range(FIRST + 1)]
    started = [start(c, study) for c in clients]
    vote_for(clients[FIRST], started[FIRST], "vivid", trials=3)  # began before the stop: will finish after it
    for client, participant in zip(clients[:FIRST], started[:FIRST], strict=True):
        vote_for(client, participant, "vivid")
    look = Look.objects.get(study=study)
    assert (look.number, look.participants, look.decision) == (1, FIRST, "efficacy")
    assert look.z < -2.157 and look.share == 0.0  # every vote for vivid, the second system
    newcomer = Client().post(f"/study/{study.slug}/", {"consent": "on"})
    assert newcomer.status_code == 200 and b"This study is full" in newcomer.content
    assert b"vivid" not in newcomer.content  # the result never reaches a participant
    vote_for(clients[FIRST], started[FIRST], "vivid")  # the one already started finishes the list
    started[FIRST].refresh_from_db()
    assert started[FIRST].finished_at is not None
    assert Look.objects.filter(study=study).count() == 1  # no look after the stop


def test_a_split_study_continues_past_the_first_look(system_folders):
    study = sequential_study(system_folders)
    for n in range(FIRST):
        client = Client()
        vote_for(client, start(client, study), "vivid" if n % 2 else "muted")
    look = Look.objects.get(study=study)
    assert look.decision == "continue" and abs(look.z) < 1
    assert Client().get(f"/study/{study.slug}/").status_code == 200  # still open to newcomers


def test_the_look_is_taken_once_when_participants_finish_at_the_same_moment(system_folders):
    study = sequential_study(system_folders)
    for _ in range(FIRST):
        client = Client()
        vote_for(client, start(client, study), "vivid")
    Look.objects.all().delete()  # as if the finishing requests had not taken it yet
    assert take_due_looks(study).number == 1
    assert take_due_looks(study).number == 1  # again: the recorded look, not a second one
    assert Look.objects.filter(study=study).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_looks_are_recorded_once(system_folders):
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("threads need a database file or server (the PostgreSQL pass runs it)")
    study = sequential_study(system_folders)
    for _ in range(FIRST):
        client = Client()
        vote_for(client, start(client, study), "vivid")
    Look.objects.all().delete()
    errors = at_once(lambda: take_due_looks(study), 6)
    assert not errors and Look.objects.filter(study=study).count() == 1


def test_the_plan_is_fixed_once_votes_exist(system_folders):
    study = sequential_study(system_folders)
    client = Client()
    vote_for(client, start(client, study), "vivid", trials=1)
    with pytest.raises(CommandError, match="has a sequential plan: its participants are fixed with it"):
        call_command("generate_pairs", "--study", "seq", "--add-participants", "--participants", "2",
                     "--trials", str(TRIALS), stdout=io.StringIO())
    with pytest.raises(CommandError, match="has votes; it is never rebuilt"):
        call_command("generate_pairs", "--study", "seq", "--replace", "--participants", "8", "--trials", str(TRIALS),
                     "--system", f"muted={system_folders['muted']}", "--system", f"vivid={system_folders['vivid']}",
                     "--sequential-looks", "2", stdout=io.StringIO())


def test_a_bad_plan_is_refused_by_name(system_folders):
    with pytest.raises(CommandError, match="sequential plan: looks must be increasing counts"):
        make_study(system_folders, slug="bad", participants=8, sequential_looks="6,4,8")
    with pytest.raises(CommandError, match="futility bounds need the effect"):
        make_study(system_folders, slug="bad2", participants=8, sequential_looks="2", sequential_futility=True)


def test_the_status_page_and_the_report_say_where_the_study_stopped_and_why(system_folders, django_user_model):
    study = sequential_study(system_folders)
    for _ in range(FIRST):
        client = Client()
        vote_for(client, start(client, study), "vivid")
    staff = Client()
    staff.force_login(django_user_model.objects.create_superuser("r", password="x-long-password-1"))
    page = staff.get(f"/staff/study/{study.slug}/").content.decode()
    assert "Sequential plan" in page and "stopped at look 1 of 2" in page and "|z| ≥ 2.157" in page
    assert "<small>(Stopped at look 1)</small>" in page and "(Open)" not in page
    out = io.StringIO()
    call_command("report", "--study", "seq", "--format", "json", stdout=out)
    result = json.loads(out.getvalue())["sequential"]
    assert result["plan"]["looks"] == [FIRST, LAST]
    assert result["stopped_at"] == {"look": 1, "participants": FIRST, "decision": "efficacy"}
    assert result["pvalue"] < 0.05 and result["low"] <= result["estimate"] <= result["high"] < 0.5
    text = io.StringIO()
    call_command("report", "--study", "seq", stdout=text)
    assert f"stopped at look 1 of 2 ({FIRST} participants)" in text.getvalue()
    assert "preference for vivid" in text.getvalue()



def test_the_exported_votes_and_plan_give_the_same_decision_without_the_site(system_folders, tmp_path):
    import subprocess
    import sys

    from ..conftest import ROOT

    study = sequential_study(system_folders)
    for n in range(LAST):
        client = Client()
        vote_for(client, start(client, study), "vivid" if n % 3 else "muted")
    site = io.StringIO()
    call_command("report", "--study", "seq", "--format", "json", stdout=site)
    votes, plan = tmp_path / "votes.csv", tmp_path / "plan.json"
    call_command("export_votes", "--study", "seq", "--output", str(votes), stderr=io.StringIO())
    plan.write_text(json.dumps(study.settings.sequential))
    done = subprocess.run([sys.executable, "-m", "evaluation", "report", str(votes), "--plan", str(plan),
                           "--systems", "muted", "vivid", "--format", "json"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    offline, online = json.loads(done.stdout)["sequential"], json.loads(site.getvalue())["sequential"]
    assert offline["looks"] == online["looks"] and offline["pvalue"] == pytest.approx(online["pvalue"])
    recorded = [(look.number, look.decision) for look in Look.objects.filter(study=study)]
    assert [(r["look"], r["decision"]) for r in online["looks"]] == recorded  # the report replays the site's looks


def test_no_participant_waits_on_the_look_and_it_is_decided_before_a_newcomer_is_admitted(system_folders):
    """The last vote's answer is made without the look (which runs once Django has sent it, on
    request_finished); a newcomer arriving before that look was taken finds it decided first."""
    from django.core.signals import request_finished

    from colorstudy.studydesigns import take_pending_looks

    study = sequential_study(system_folders)
    clients = [Client() for _ in range(FIRST)]
    started = [start(c, study) for c in clients]
    for client, participant in zip(clients[:-1], started[:-1], strict=True):
        vote_for(client, participant, "vivid")
    assert not Look.objects.exists()  # six finished: no look is due yet
    request_finished.disconnect(take_pending_looks, dispatch_uid="colorstudy-sequential-looks")
    try:
        vote_for(clients[-1], started[-1], "vivid")  # the seventh finishes: the answers came back without a look
        assert not Look.objects.exists()
        newcomer = Client().get(f"/study/{study.slug}/")  # arrives before the look was taken
        assert b"This study is full" in newcomer.content
        assert Look.objects.get(study=study).decision == "efficacy"  # decided before turning them away
    finally:
        request_finished.connect(take_pending_looks, dispatch_uid="colorstudy-sequential-looks")
    take_pending_looks()  # what Django does once the response is sent: the look is already there, once
    assert Look.objects.filter(study=study).count() == 1


def test_the_vote_refusals_are_said_in_http_by_the_views_only():
    import ast
    from pathlib import Path

    from colorstudy.services import REFUSALS
    from colorstudy.views import REFUSAL_STATUS

    assert set(REFUSAL_STATUS) == set(REFUSALS)
    services = Path(__file__).resolve().parents[2] / "colorstudy" / "services"
    for path in services.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, int) and node.value in (400, 403, 404, 409):
                raise AssertionError(f"{path.name}:{node.lineno} speaks HTTP ({node.value})")
