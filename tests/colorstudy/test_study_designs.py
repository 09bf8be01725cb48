"""The designs behind one interface (colorstudy.studydesigns): the services ask the study's design
and carry no branch of their own on adaptive or sequential studies."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from colorstudy.studydesigns import Design, design_of

from .helpers import make_study

pytestmark = pytest.mark.django_db
SERVICES = Path(__file__).resolve().parents[2] / "colorstudy" / "services"


def test_each_study_gets_the_design_its_settings_name(system_folders):
    fixed = make_study(system_folders, slug="fixed", participants=2, trials=3)
    sequential = make_study(system_folders, slug="seq", participants=4, trials=3, sequential_looks="2,4")
    assert design_of(fixed) == Design()
    assert design_of(sequential) == Design(sequential=True)
    assert not design_of(fixed).closed(fixed) and not design_of(sequential).closed(sequential)


def test_the_services_never_branch_on_a_design():
    for path in SERVICES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("adaptive", "sequential"):
                raise AssertionError(f"{path.name}:{node.lineno} branches on .{node.attr}; ask design_of(study)")
