from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from pathlib import Path

from django.core.management import call_command
from django.db import connection
from django.test import Client

from colorstudy.models import Participant, Study


def make_study(
    folders: dict[str, Path], slug: str = "faces", participants: int = 4, trials: int = 6, **extra
) -> Study:
    args = [
        "--study", slug,
        "--system", f"muted={folders['muted']}",
        "--system", f"vivid={folders['vivid']}",
        "--participants", str(participants),
        "--trials", str(trials),
        "--seed", "11",
    ]
    for key, value in extra.items():
        flag = "--" + key.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    call_command("generate_pairs", *args, stdout=io.StringIO())
    return Study.objects.get(slug=slug)


def at_once(target: Callable[[], None], n: int) -> list[Exception]:
    """Run ``target`` in ``n`` threads started together, each with its own database connection
    (closed when it ends); what they raised."""
    errors: list[Exception] = []

    def run() -> None:
        try:
            target()
        except Exception as exc:  # noqa: BLE001 - the caller asserts there were none
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def start(client: Client, study: Study, query: str = "") -> Participant:
    page = client.get(f"/study/{study.slug}/{query}")
    assert page.status_code == 200 and b"agree" in page.content
    response = client.post(f"/study/{study.slug}/{query}", {"consent": "on"})
    assert response.status_code == 302
    token = response["Location"].strip("/").split("/")[-1]
    return Participant.objects.get(token=token)


def current_position(client: Client, participant: Participant) -> int:
    page = client.get(f"/p/{participant.token}/")
    match = re.search(rb'name="position" value="(\d+)"', page.content)
    return int(match.group(1)) if match else 0


def vote(client: Client, participant: Participant, position: int, side: str, **extra):
    data = {"position": position, "side": side, "response_ms": 700, **extra}
    return client.post(f"/p/{participant.token}/vote/", data)
