"""The staff login resists guessing, and every page carries a Content-Security-Policy."""
from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from .helpers import make_study, start

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def attempt(client: Client, password: str, username: str = "researcher", address: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_the_login_even_for_the_right_one(django_user_model):
    django_user_model.objects.create_superuser("researcher", password="the-right-one-123")
    client = Client()
    for n in range(4):
        assert attempt(client, f"guess-{n}").status_code == 200  # the login form again, with its error
    assert attempt(client, "guess-4").status_code == 429  # the fifth failure locks
    locked = attempt(client, "the-right-one-123")
    assert locked.status_code == 429
    assert client.get("/admin/").status_code == 302  # not logged in
    # Another address trying the same user name is locked out too: the user name itself is counted.
    assert attempt(Client(), "the-right-one-123", address="10.0.0.2").status_code == 429
    call_command("axes_reset", verbosity=0)  # what the cool-off does after LOGIN_COOLOFF_MINUTES
    assert attempt(client, "the-right-one-123").status_code == 302


def test_a_successful_login_resets_the_count(django_user_model):
    django_user_model.objects.create_superuser("researcher", password="the-right-one-123")
    client = Client()
    for n in range(4):
        attempt(client, f"guess-{n}")
    assert attempt(client, "the-right-one-123").status_code == 302
    client.post("/admin/logout/")
    for n in range(4):
        assert attempt(client, f"again-{n}").status_code == 200


def test_guessing_from_many_user_names_is_stopped_by_the_address(django_user_model):
    client = Client()
    for n in range(5):
        attempt(client, "pw", username=f"user{n}")
    assert attempt(client, "pw", username="someone-else").status_code == 429


def test_every_page_has_a_content_security_policy_and_no_inline_script(system_folders, django_user_model):
    study = make_study(system_folders, participants=1, trials=2)
    client = Client()
    consent = client.get(f"/study/{study.slug}/")
    policy = consent["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in directives["script-src"]
    scripts = re.findall(r"<script[^>]*>", consent.content.decode())
    assert scripts and all(" src=" in tag for tag in scripts)  # the conditions script is a file of the site's
    assert "unsafe-inline" not in policy and directives["report-uri"] == "/csp-report/"  # no inline style either
    participant = start(client, study)
    trial = client.get(f"/p/{participant.token}/")
    assert "Content-Security-Policy" in trial and "<script>" not in trial.content.decode()
    assert 'style="' not in trial.content.decode()
    staff = Client()
    staff.force_login(django_user_model.objects.create_user("r", password="pw-123456", is_staff=True))
    for url in (f"/staff/study/{study.slug}/", f"/staff/study/{study.slug}/participants/", "/admin/"):
        assert "default-src 'self'" in staff.get(url)["Content-Security-Policy"], url


def test_an_answer_without_a_nonce_gets_django_csps_own_policy_and_follows_the_settings():
    from csp.utils import build_policy

    client = Client()
    assert client.get("/healthz")["Content-Security-Policy"] == build_policy()  # built once, the same
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'none'"]}}):
        assert client.get("/healthz")["Content-Security-Policy"] == "default-src 'none'"
    assert client.get("/healthz")["Content-Security-Policy"] == build_policy()


@override_settings(AXES_FAILURE_LIMIT=2)
def test_the_limit_is_a_setting(django_user_model):
    client = Client()
    attempt(client, "a")
    attempt(client, "b")
    assert attempt(client, "c").status_code == 429


def test_a_locked_account_is_unlocked_by_name_and_other_lockouts_stay(django_user_model):
    django_user_model.objects.create_superuser("researcher", password="the-right-one-123")
    for n in range(5):
        attempt(Client(), f"guess-{n}", address="10.0.0.9")  # locks the account (and this address)
        attempt(Client(), "pw", username=f"user{n}", address="10.0.0.8")  # another guesser, other names
    assert attempt(Client(), "the-right-one-123", address="10.0.0.3").status_code == 429  # the account is locked
    call_command("axes_reset_username", "researcher", verbosity=0)
    assert attempt(Client(), "the-right-one-123", address="10.0.0.3").status_code == 302  # its owner gets in
    assert attempt(Client(), "pw", username="user9", address="10.0.0.8").status_code == 429  # the other guesser does not


def test_a_violation_report_is_logged_and_a_malformed_one_refused(caplog):
    report = {"csp-report": {"document-uri": "https://study.example.org/p/x/", "violated-directive": "script-src-elem",
                             "blocked-uri": "inline"}}
    with caplog.at_level("WARNING", logger="colorstudy.views"):
        answer = Client().post("/csp-report/", json.dumps(report), content_type="application/csp-report")
    assert answer.status_code == 204
    assert "CSP violation: script-src-elem blocked inline on https://study.example.org/p/x/" in caplog.text
    assert Client().post("/csp-report/", "{not json", content_type="application/csp-report").status_code == 400
    assert Client().get("/csp-report/").status_code == 405
