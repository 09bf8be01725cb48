"""The set-up promises: boundaries between packages, production settings, no torch on the web path."""
from __future__ import annotations

import ast
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports_of(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_dependencies_point_one_way():
    assert not imports_of("colorcore") & {"django", "colorstudy", "evaluation"}
    assert not imports_of("evaluation") & {"django", "torch", "colorstudy", "colorcore"}


def test_the_analyses_know_nothing_of_their_rendering():
    tree = ast.parse((ROOT / "evaluation" / "report.py").read_text())
    relative = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1}
    assert "render" not in relative and relative >= {"jod", "ranking", "votes"}


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def test_web_requests_and_migrations_never_load_torch(tmp_path):
    code = (
        "import os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'colorstudy.settings'\n"
        "import django; django.setup()\n"
        "from django.core.management import call_command; call_command('migrate', verbosity=0)\n"
        "from django.test import Client; c = Client()\n"
        "assert c.get('/healthz').status_code == 200 and c.get('/study/none/').status_code == 404\n"
        "print('torch' in sys.modules)\n"
    )
    result = run_python(code, COLORSTUDY_DATA=str(tmp_path), ALLOWED_HOSTS="testserver")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_production_settings_pass_check_deploy(tmp_path):
    env = dict(SECRET_KEY=secrets.token_urlsafe(50), DEBUG="0", SECURE_SSL="1", ALLOWED_HOSTS="study.example.org",
               COLORSTUDY_DATA=str(tmp_path))
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_a_secret_key_debug_off_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                            env={**env, "DEBUG": "0", "COLORSTUDY_DATA": str(tmp_path)}, timeout=120)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
