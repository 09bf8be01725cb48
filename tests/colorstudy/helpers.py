from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path

from django.core.management import call_command
from django.db import connection

from colorstudy.models import Study


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
