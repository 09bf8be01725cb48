"""A worker's first-request costs, paid at boot instead of by the first participants.

A fresh gunicorn worker has loaded Django but not what a participant's pages use: the URL
resolver is built on the first ``reverse()``, each template is compiled on its first render, the
Redis client is imported on the first rate-limited request and the database connection opened on
the first query. Measured in one process (bench/README): the first consent took 49 to 83 ms
against 5 to 10 ms for the next, 52 ms of it importing redis. With 16 participants arriving at
once on 4 new workers, the first consents waited 125 to 205 ms. gunicorn calls ``warm_up`` in each
worker before it accepts a request (``post_worker_init`` in deploy/gunicorn.conf.py), so that a
study's launch and every worker replaced after ``max_requests`` start warm.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import connection
from django.template.loader import get_template
from django.urls import reverse

from . import ratelimit

logger = logging.getLogger(__name__)

# What a participant sees, from the link to the completion code, and the page they all extend
# (an `{% extends %}` compiles its parent only when first rendered). Staff pages may stay cold.
PARTICIPANT_TEMPLATES = ("base", "consent", "plate", "trial", "break", "feedback", "complete", "message",
                         "screened_out")


def _resolver() -> None:
    reverse("stimulus", args=["0" * 32])  # builds the URL resolver, importing the views


def _templates() -> None:
    for name in PARTICIPANT_TEMPLATES:
        get_template(f"colorstudy/{name}.html")


def _database() -> None:
    connection.ensure_connection()


STEPS: dict[str, Callable[[], None]] = {
    "resolver": _resolver,
    "templates": _templates,
    "redis": ratelimit.connect,
    "database": _database,
}


def warm_up() -> dict[str, float | None]:
    """Run every step once in this process; the seconds each took, None for a step that failed.

    A failed step is logged and skipped, never raised: a database or Redis that is down at boot
    must not stop the worker, whose requests then answer as they would without the warm-up
    (the database middleware's 503, for one).
    """
    seconds: dict[str, float | None] = {}
    for name, step in STEPS.items():
        start = time.perf_counter()
        try:
            step()
        except Exception as error:  # noqa: BLE001 - see the docstring
            logger.warning("warm-up step %s failed: %s", name, error)
            seconds[name] = None
        else:
            seconds[name] = time.perf_counter() - start
    logger.info("warm-up: %s", ", ".join(f"{name} {'failed' if s is None else f'{s * 1e3:.1f} ms'}"
                                         for name, s in seconds.items()))
    return seconds
