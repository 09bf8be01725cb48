"""No CSV the project writes can attack the researcher who opens it: a panel id that is a formula
stays text (OWASP's CSV injection guidance), and stays readable."""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client

from .helpers import make_study, start, vote

pytestmark = pytest.mark.django_db
FORMULA = '=HYPERLINK("http://evil.example","x")'
HOSTILE = [FORMULA, "+1+2", "-3+4", "@SUM(A1)", "\tcmd1", "\rcmd2"]  # the site drops control characters


def formulas(rows: list[list[str]]) -> list[str]:
    return [cell for row in rows for cell in row if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]


def test_panel_ids_that_are_formulas_are_written_as_text_in_every_csv(system_folders, tmp_path, django_user_model):
    study = make_study(system_folders, participants=len(HOSTILE), trials=2)
    for pid in HOSTILE:
        client = Client()
        participant = start(client, study, "?" + urlencode({"PROLIFIC_PID": pid}))
        for position in (1, 2):
            vote(client, participant, position, "left")
    out = tmp_path / "votes.csv"
    call_command("export_votes", "--study", study.slug, "--output", str(out), stderr=io.StringIO())
    rows = list(csv.reader(out.open(newline="")))
    ids = {row[1] for row in rows[1:]}
    assert formulas(rows) == []
    assert "'" + FORMULA in ids and "'@SUM(A1)" in ids  # kept readable: the apostrophe only
    staff = Client()
    staff.force_login(django_user_model.objects.create_user("r", password="pw-123456", is_staff=True))
    review = list(csv.reader(io.StringIO(staff.get(f"/staff/study/{study.slug}/participants/?format=csv")
                                         .content.decode())))
    assert formulas(review) == [] and "'" + FORMULA in {cell for row in review for cell in row}
    for fmt in ("csv",):
        done = subprocess.run([sys.executable, "-m", "evaluation", "report", str(out), "--format", fmt, "--no-mixed",
                               "--bootstrap", "0"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert not [c for c in formulas(list(csv.reader(io.StringIO(done.stdout)))) if not _number(c)]
    done = subprocess.run([sys.executable, "-m", "evaluation", "review", str(out), "--format", "csv"],
                          capture_output=True, text=True)
    reviewed = list(csv.reader(io.StringIO(done.stdout)))
    assert done.returncode == 0 and "'" + FORMULA in {cell for row in reviewed for cell in row}
    assert formulas(reviewed) == []


def _number(cell: str) -> bool:
    """Negative numbers are numbers, not formulas."""
    try:
        float(cell)
        return True
    except ValueError:
        return False
