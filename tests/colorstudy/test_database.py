"""The PostgreSQL backend checks a kept connection without a query, and still notices one that ended."""
from __future__ import annotations

import time

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db


def _last_statement(pid: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


@pytest.fixture
def kept():
    """A second connection to the test database, as a worker keeps one between requests."""
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL backend's check (the PostgreSQL pass of make test runs this)")
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def test_the_site_uses_the_backend_with_the_quiet_health_check():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    assert connection.settings_dict["ENGINE"] == "colorstudy.postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_a_quiet_connection_is_usable_without_sending_the_server_a_statement(kept):
    with kept.connection.cursor() as cursor:
        cursor.execute("SELECT 42 AS the_last_statement")
    pid = kept.connection.info.backend_pid
    for _ in range(3):
        assert kept.is_usable()
    # Django's own check would have run SELECT 1 on that connection.
    assert _last_statement(pid) == "SELECT 42 AS the_last_statement"


def test_a_connection_the_server_ended_is_not_usable_and_the_next_request_reconnects(kept):
    pid = kept.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while kept.is_usable() and time.monotonic() < deadline:  # the end arrives a moment later
        time.sleep(0.05)
    assert not kept.is_usable()
    kept.health_check_done = False
    kept.close_if_health_check_failed()  # what Django does before a request's first query
    assert kept.connection is None
    with kept.cursor() as cursor:  # a new connection, transparently
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
