"""The worker warm-up: what a fresh gunicorn worker pays before its first participant, not during."""
from __future__ import annotations

import logging
import runpy
from pathlib import Path

import pytest
from django.db import connection
from django.template import engines
from django.urls import get_resolver

from colorstudy import ratelimit
from colorstudy.warmup import PARTICIPANT_TEMPLATES, warm_up

ROOT = Path(__file__).resolve().parents[2]
REDIS_TEST_URL = "redis://127.0.0.1:6379/10"


def _template_cache() -> dict:
    (loader,) = engines["django"].engine.template_loaders  # Django's cached loader
    return loader.get_template_cache


@pytest.fixture
def cold():
    """A process as gunicorn forks it: no compiled template, no Redis client, no open connection."""
    _template_cache().clear()
    ratelimit._redis.cache_clear()
    connection.close()
    yield
    ratelimit._redis.cache_clear()


@pytest.fixture
def redis_up():
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL).ping()
    except redis.ConnectionError:
        pytest.skip("needs Redis on 127.0.0.1:6379")


@pytest.mark.django_db
def test_the_warm_up_compiles_the_participant_templates_connects_redis_and_the_database(cold, settings, redis_up):
    settings.REDIS_URL = REDIS_TEST_URL
    seconds = warm_up()
    assert set(seconds) == {"resolver", "templates", "redis", "database"}
    assert all(isinstance(s, float) for s in seconds.values()), seconds
    assert {f"colorstudy/{name}.html" for name in PARTICIPANT_TEMPLATES} <= set(_template_cache())
    assert ratelimit._redis.cache_info().currsize == 1  # the client every rate-limited request reuses
    assert connection.connection is not None
    assert get_resolver()._populated


@pytest.mark.django_db
def test_a_redis_that_is_down_at_boot_is_logged_and_the_other_steps_still_run(cold, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    with caplog.at_level(logging.WARNING, logger="colorstudy.warmup"):
        seconds = warm_up()
    assert seconds["redis"] is None
    assert all(isinstance(seconds[step], float) for step in ("resolver", "templates", "database"))
    assert "warm-up step redis failed" in caplog.text
    assert connection.connection is not None


@pytest.mark.django_db
def test_without_redis_configured_the_redis_step_does_nothing(cold, settings):
    settings.REDIS_URL = ""
    assert isinstance(warm_up()["redis"], float)
    assert ratelimit._redis.cache_info().currsize == 0


@pytest.mark.django_db
def test_gunicorns_configuration_warms_each_worker_before_its_first_request(cold, settings):
    settings.REDIS_URL = ""
    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    config["post_worker_init"](None)
    assert "colorstudy/trial.html" in _template_cache()
    assert connection.connection is not None
