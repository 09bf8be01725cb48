"""README.md's command blocks, run as written and in order in a scratch copy of the repository, so
that the README cannot drift from what the project does.

Three things differ from a person at a terminal: training stops after a few steps (the README's
commands at their small sizes), the server runs in the background on a free port (the README's
8001 may be taken here), and six simulated participants vote through the study where people would.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow
SERVER = re.compile(r"^\.venv/bin/python manage\.py runserver (127\.0\.0\.1:\d+)$")
README_PORT = "127.0.0.1:8001"


def command_blocks(text: str) -> list[str]:
    """The fenced blocks of the README that a researcher runs (not the two make targets, run by CI itself)."""
    blocks = re.findall(r"^```\n(.*?)^```", text, re.S | re.M)
    return [b for b in blocks if not b.startswith("make demo")]


def scratch_copy(target: Path) -> None:
    """The repository's files as a fresh clone has them (tracked, and new files not ignored), with this .venv."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")


def script(blocks: list[str], port: int) -> str:
    """One bash script of the blocks; the server line starts it in the background and has people vote."""
    lines = []
    for line in "\n".join(blocks).replace("\\\n", " ").splitlines():
        line = line.replace(README_PORT, f"127.0.0.1:{port}")
        if line.startswith(".venv/bin/python -m colorcore train"):
            line += " --max-steps 3 --workers 0 --report-every 1"
        if SERVER.match(line):
            line = (f"{line} --noreload > server.log 2>&1 & SERVER=$!; trap 'kill $SERVER' EXIT\n"
                    f".venv/bin/python -c 'import sys; from tests.test_readme import vote; vote({port}, \"faces\", 6)'")
        lines.append(line)
    return "set -euo pipefail\n" + "\n".join(lines) + "\n"


def vote(port: int, slug: str, people: int) -> None:
    """Wait for the server, then have ``people`` simulated participants vote through the study."""
    import time

    from harness.simulated import Outcome, run_participant

    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    out = Outcome()
    for _ in range(people):
        run_participant(port, slug, out)
    if out.errors:
        raise SystemExit(f"{out.errors} requests failed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_command_of_the_readme_runs_as_written_in_a_fresh_clone(tmp_path):
    readme = (ROOT / "README.md").read_text()
    blocks = command_blocks(readme)
    assert any("generate_pairs --study faces " in b for b in blocks) and any("runserver" in b for b in blocks)
    scratch_copy(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "COLORSTUDY_DATA", "REDIS_URL")}
    done = subprocess.run(["bash", "-c", script(blocks, free_port())], cwd=tmp_path, capture_output=True, text=True,
                          env={**env, "DJANGO_SETTINGS_MODULE": "colorstudy.settings"}, timeout=1500)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    out = done.stdout
    assert "ce was chosen over l2" in out or "l2 was chosen over ce" in out  # manage.py report, then the CSV's
    assert out.count("was chosen over") >= 2
    votes = pd.read_csv(tmp_path / "votes.csv")
    assert votes["participant"].nunique() == 6 and len(votes) == 6 * 22  # 20 trials and 2 attention checks each
    assert (tmp_path / "report.html").stat().st_size > 1000
    assert "this_paper was chosen over zhang2016 in 58.0% of 300 votes" in out  # the seed study, as the README says
    assert "looks after 9, 17, 26, 34, 42 completed" in out  # the plan whose looks the sequential study takes
    for shown in ("exact binomial p = 0.0066", "52.3% to 63.4%", "sign test p = 0.2188",
                  "sign-flip test of their shares p = 0.0938"):
        assert shown in out  # the figures the README quotes
    assert "it does not survive once votes are grouped by participant" in out  # the seed's verdict: pooled only
