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


PACKAGES = ("colorcore", "colorstudy", "evaluation", "bench", "harness")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports anywhere in its code (functions too), relative
    imports resolved; a name imported from a package counts as its submodule when there is one."""
    modules = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
               if "migrations" not in p.parts}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def test_no_module_of_the_project_imports_itself_round_a_circle():
    graph = import_graph()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_circle_check_finds_a_circle_when_there_is_one():
    graph = import_graph()
    assert "colorcore.factory" in graph["colorcore.infer"]  # the graph sees imports inside functions too
    assert "colorcore.selection" in graph["colorcore.factory"]


def test_benchmarks_never_import_the_tests_and_the_packages_never_import_the_harness():
    assert "tests" not in imports_of("bench") | imports_of("harness")
    for package in ("colorcore", "colorstudy", "evaluation"):
        assert not imports_of(package) & {"harness", "tests", "bench"}


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
        "from colorstudy.warmup import warm_up; warm_up()\n"
        "print('torch' in sys.modules, 'colour' in sys.modules)\n"
    )
    result = run_python(code, COLORSTUDY_DATA=str(tmp_path), ALLOWED_HOSTS="testserver")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["False", "False"]  # colour-science slows a worker (bench/README.md)


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
