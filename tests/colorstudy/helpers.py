from __future__ import annotations

import io
from pathlib import Path

from django.core.management import call_command

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
