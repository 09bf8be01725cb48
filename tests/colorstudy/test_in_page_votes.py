"""The trial page's script votes with fetch and gets the next trial in the same answer (JSON)."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from colorstudy.models import Participant, System, Trial, Vote

from .helpers import current_position, make_study, start

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def vote_json(client: Client, participant: Participant, position: int, side: str, **extra):
    data = {"position": position, "side": side, "response_ms": 650, **extra}
    return client.post(f"/p/{participant.token}/vote/", data, **JSON)


def test_each_vote_answers_with_the_next_trial_until_the_completion_page(system_folders):
    study = make_study(system_folders, participants=2, trials=5)
    client = Client()
    participant = start(client, study)
    position = current_position(client, participant)
    for expected in range(1, 6):
        assert position == expected
        answer = vote_json(client, participant, position, "left")
        assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
        body = answer.json()
        stored = Vote.objects.get(trial__participant=participant, trial__position=position)
        assert stored.side == "left" and stored.response_ms == 650
        if expected < 5:
            shown = body["trial"]
            trial = Trial.objects.select_related("left", "right").get(participant=participant, position=expected + 1)
            # The answer is the next trial exactly as the page would have shown it.
            assert shown["position"] == expected + 1 and shown["number"] == expected + 1 and shown["total"] == 5
            assert shown["percent"] == round(100 * expected / 5)
            assert shown["left"]["src"] == f"/img/{trial.left.token}.png"
            assert shown["right"]["src"] == f"/img/{trial.right.token}.png"
            assert (shown["left"]["width"], shown["left"]["height"]) == (trial.left.width, trial.left.height)
            assert len(shown["upcoming"]) == (2 if expected < 4 else 0)
            assert client.get(shown["left"]["src"]).status_code == 200
            position = shown["position"]
        else:
            assert body == {"location": f"/p/{participant.token}/"}
    done = client.get(f"/p/{participant.token}/")
    participant.refresh_from_db()
    assert participant.finished_at is not None and participant.completion_code.encode() in done.content


def test_a_repeated_in_page_vote_stores_one_vote_and_a_different_one_is_refused_in_json(system_folders):
    study = make_study(system_folders, participants=1, trials=3)
    client = Client()
    participant = start(client, study)
    assert vote_json(client, participant, 1, "right").status_code == 200
    assert vote_json(client, participant, 1, "right").status_code == 200  # a retry after a lost answer
    conflict = vote_json(client, participant, 1, "left")
    assert conflict.status_code == 409 and "already answered" in conflict.json()["error"]
    bad = vote_json(client, participant, 2, "middle")
    assert bad.status_code == 400 and "side" in bad.json()["error"]
    assert list(Vote.objects.filter(trial__participant=participant).values_list("side", flat=True)) == ["right"]


def test_pages_that_are_not_a_trial_are_reached_by_location(system_folders):
    study = make_study(system_folders, participants=1, trials=4, break_every=2, practice_trials=1,
                       ground_truth=system_folders["truth"])
    client = Client()
    participant = start(client, study)
    home = f"/p/{participant.token}/"
    assert vote_json(client, participant, 1, "left").json() == {"location": f"{home}?feedback=1"}  # practice
    assert vote_json(client, participant, 2, "left").json() == {"location": home}  # the pause after two answers
    assert b'id="continue"' in client.get(home).content
    client.post(f"{home}continue/")
    assert vote_json(client, participant, 3, "left").json()["trial"]["position"] == 4


def test_the_in_page_answers_carry_no_system_name(system_folders):
    study = make_study(system_folders, slug="blind-json", participants=1, trials=6, catch_rate=0.3,
                       ground_truth=system_folders["truth"])
    client = Client()
    participant = start(client, study)
    secrets = {s.name for s in System.objects.filter(study=study)} | {str(p) for p in system_folders.values()}
    position = current_position(client, participant)
    answers = []
    while True:
        answer = vote_json(client, participant, position, "left" if position % 2 else "right")
        answers.append(answer.content.decode())
        if "trial" not in answer.json():
            break
        position = answer.json()["trial"]["position"]
    assert len(answers) == Trial.objects.filter(participant=participant).count()
    for text in answers:
        for secret in secrets:
            assert secret not in text


def test_a_vote_stored_by_the_hot_path_reads_back_as_the_orm_would_have_stored_it(system_folders):
    study = make_study(system_folders, participants=2, trials=5)
    client = Client()
    participant = start(client, study)
    position = current_position(client, participant)
    before = timezone.now()
    assert vote_json(client, participant, position, "right", displayed_ms=1234).status_code == 200
    vote = Vote.objects.select_related("trial").get(trial__participant=participant, trial__position=position)
    assert vote.side == "right" and vote.chosen_system_id == vote.trial.right.system_id
    assert (vote.response_ms, vote.displayed_ms) == (650, 1234)
    assert vote.created_at.tzinfo is not None and before <= vote.created_at <= timezone.now()


def test_a_vote_that_does_not_finish_the_list_costs_two_statements_and_no_transaction(system_folders):
    study = make_study(system_folders, participants=2, trials=5)
    client = Client()
    participant = start(client, study)
    position = current_position(client, participant)
    vote_json(client, participant, position, "left")  # the first request of a process compiles the SQL
    with CaptureQueriesContext(connection) as queries:
        assert vote_json(client, participant, position + 1, "right").status_code == 200
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    # the participant with its study and its unanswered trials, then the vote: no BEGIN, COMMIT or SAVEPOINT
    assert statements == ["SELECT", "INSERT"]
    assert '"colorstudy_participant"."token"' in queries.captured_queries[0]["sql"]
    for step in range(2, 5):  # the last vote also finishes the participant, in one transaction
        vote_json(client, participant, position + step, "left")
    assert Participant.objects.get(pk=participant.pk).finished_at is not None
    assert Vote.objects.filter(trial__participant=participant).count() == 5


@pytest.mark.django_db(transaction=True)  # it closes the connection: the study must be committed
def test_on_postgresql_the_hot_path_queries_are_prepared_once_per_connection(system_folders, settings):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's (the PostgreSQL pass of make test runs this)")
    study = make_study(system_folders, participants=2, trials=5)
    client = Client()
    participant = start(client, study)
    position = current_position(client, participant)
    for step in range(3):
        assert vote_json(client, participant, position + step, "left").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%colorstudy_%"])
        prepared = [row[0] for row in cursor.fetchall()]
    # the participant with its study (for the page), the same with its next three trials (for a vote),
    # and the page's two unanswered trials
    assert sum('"colorstudy_participant"."token" = $1' in s for s in prepared) == 2
    assert sum('"colorstudy_participant"."token" = $2' in s for s in prepared) == 1
    assert sum('"colorstudy_vote"' in s for s in prepared) >= 1
    assert sum(s.startswith('INSERT INTO "colorstudy_vote"') for s in prepared) == 1  # the vote itself
    assert len(prepared) == len(set(prepared))

    settings.POSTGRES_PREPARED = False  # behind a pooler: nothing more is prepared
    connection.close()
    vote_json(client, participant, position + 3, "left")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)  # the database refuses the second INSERT: a real constraint error
def test_when_two_requests_race_for_one_trial_the_first_choice_stands(system_folders):
    from colorstudy import services

    study = make_study(system_folders, participants=2, trials=5)
    client = Client()
    participant = start(client, study)
    participant.refresh_from_db()
    # Both requests read the unanswered trials before either stored its vote.
    seen = services.next_trials(participant, 3)
    position = seen[0].position
    assert services.record_vote(participant, position, "left", 500, upcoming=seen) is services.VoteOutcome.STORED
    again = services.record_vote(participant, position, "left", 700, upcoming=seen)
    assert again is services.VoteOutcome.REPEATED
    with pytest.raises(services.VoteRefused) as refused:
        services.record_vote(participant, position, "right", 700, upcoming=seen)
    assert refused.value.reason == "answered"
    vote = Vote.objects.get(trial__participant=participant, trial__position=position)
    assert (vote.side, vote.response_ms) == ("left", 500)


def test_the_participant_and_its_next_trials_in_one_statement_equal_the_two_queries_they_replace(system_folders):
    from colorstudy import hotpath, services

    study = make_study(system_folders, participants=2, trials=5)
    client = Client()
    participant = start(client, study)
    position = current_position(client, participant)
    vote_json(client, participant, position, "left")
    found, upcoming = services.participant_and_next_trials(participant.token)
    alone = hotpath.participant(participant.token)
    assert [(f.attname, getattr(found, f.attname)) for f in Participant._meta.concrete_fields] == \
        [(f.attname, getattr(alone, f.attname)) for f in Participant._meta.concrete_fields]
    assert found.study.config == alone.study.config and found.study.slug == study.slug
    assert upcoming == services.next_trials(alone, 3)
    assert [t.position for t in upcoming] == [position + 1, position + 2, position + 3]
    for step in range(1, 5):  # to the end of the list: the participant still comes, with no trials
        vote_json(client, participant, position + step, "left")
    found, upcoming = services.participant_and_next_trials(participant.token)
    assert found.pk == participant.pk and found.finished_at is not None and upcoming == []
    assert services.participant_and_next_trials("no-such-token-0000") == (None, [])
