"""kill -9 the server under load, restart it, let clients retry: every acknowledged vote exactly once.
And a server that boots while its database and Redis are down: it starts, and answers 503 instead of dying."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from harness.simulated import Outcome, run_participant
from harness.stack import free_port, wait_for_port
from harness.synthetic import make_system_folders

from ..conftest import ROOT

pytestmark = pytest.mark.slow

PARTICIPANTS, TRIALS = 24, 8  # 12 client threads, two participants each: 192 votes


def run_two(port: int, slug: str, out: Outcome, deadline: float) -> None:
    """Two participants one after the other: a browser without JavaScript (form posts), then one
    whose votes are answered in place (JSON), so that both paths live through the crashes."""
    for in_page in (False, True):
        run_participant(port, slug, out, deadline, in_page=in_page)


def wait_for_votes(out: Outcome, n: int, timeout: float = 60) -> None:
    """Crash in the middle of the load: once ``n`` votes have been acknowledged."""
    end = time.monotonic() + timeout
    while len(out.acknowledged) < n and time.monotonic() < end:
        time.sleep(0.005)


def start_server(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "colorstudy.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "error"], env=env, cwd=ROOT, start_new_session=True)
    wait_for_port(port)
    return proc


def manage(env: dict, *args: str) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def site(tmp_path):
    # The PostgreSQL pass of `make test` sets DATABASE_URL: the same test then runs on PostgreSQL.
    database_url = os.environ.get("DATABASE_URL", "")
    env = {**os.environ, "COLORSTUDY_DATA": str(tmp_path / "data"), "DEBUG": "0", "SECRET_KEY": "crash-test-" + "k" * 50,
           "ALLOWED_HOSTS": "127.0.0.1", "RATE_LIMIT_START": "0", "RATE_LIMIT_VOTE": "0", "DATABASE_URL": database_url,
           "STATIC_ROOT": str(tmp_path / "static")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")  # production settings serve the hashed static files
    folders = make_system_folders(tmp_path / "systems", n_images=8)
    slug = f"crash{os.getpid()}{int(time.time() * 1000) % 100000}"
    manage(env, "generate_pairs", "--study", slug, "--system", f"a={folders['muted']}", "--system",
           f"b={folders['vivid']}", "--participants", str(PARTICIPANTS), "--trials", str(TRIALS), "--show-links", "0")
    return env, slug, tmp_path / "data" / "colorstudy.sqlite3"


def stored_votes(env: dict, slug: str) -> list[tuple[str, int, str]]:
    out = manage(env, "shell", "-c",
                 "from colorstudy.models import Vote\n"
                 f"for v in Vote.objects.filter(trial__participant__study__slug='{slug}').values_list("
                 "'trial__participant__token', 'trial__position', 'side'): print(*v)")
    return [(t, int(p), s) for t, p, s in (line.split() for line in out.splitlines() if line.count(" ") == 2)]


def under_load(env: dict, slug: str, disrupt) -> Outcome:
    """12 participants' threads against gunicorn while ``disrupt(out, server, port)`` breaks things
    (it returns the server process that runs afterwards); then the votes stored are checked."""
    port = free_port()
    server = start_server(env, port)
    out = Outcome()
    deadline = time.monotonic() + 120
    threads = [threading.Thread(target=run_two, args=(port, slug, out, deadline)) for _ in range(12)]
    for t in threads:
        t.start()
    try:
        server = disrupt(out, server, port)
        for t in threads:
            t.join(timeout=150)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    assert out.errors == 0
    assert out.retries > 0, "the disruption should have interrupted some requests"
    stored = stored_votes(env, slug)
    assert len(stored) == len({(t, p) for t, p, _ in stored})  # one vote per trial
    assert set(out.acknowledged) <= set(stored)  # nothing acknowledged was lost
    assert len(stored) == PARTICIPANTS * TRIALS  # every participant finished, retries added nothing
    return out


def test_a_killed_server_loses_no_acknowledged_vote_and_duplicates_none(site):
    env, slug, sqlite_path = site

    def crash_twice(out: Outcome, server: subprocess.Popen, port: int) -> subprocess.Popen:
        for at in (10, 80):  # two crashes in the middle of the load
            wait_for_votes(out, at)
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            time.sleep(0.3)
            server = start_server(env, port)
        return server

    under_load(env, slug, crash_twice)
    if env["DATABASE_URL"] == "":
        with sqlite3.connect(sqlite_path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _postgres_cluster() -> list[str] | None:
    """The local cluster's (version, name) for pg_ctlcluster, when this run may restart it."""
    if os.geteuid() != 0 or not os.path.exists("/usr/bin/pg_ctlcluster") or not os.path.isdir("/etc/postgresql"):
        return None
    versions = sorted(os.listdir("/etc/postgresql"))
    return [versions[-1], "main"] if versions else None


def _pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0


def _pg_ctl(action: str, cluster: list[str]) -> None:
    if action == "start" and _pg_ready():
        return
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action], check=True, capture_output=True,
                   timeout=60)
    deadline = time.monotonic() + 30
    while not _pg_ready() and time.monotonic() < deadline:
        time.sleep(0.2)


def test_a_postgresql_restart_under_load_loses_no_acknowledged_vote(site):
    env, slug, _ = site
    cluster = _postgres_cluster()
    if not env["DATABASE_URL"].startswith("postgres") or cluster is None:
        pytest.skip("runs in the PostgreSQL pass of `make test`, as root on a machine with a local cluster")
    from django.db import connections

    def restart_postgres(out: Outcome, server: subprocess.Popen, port: int) -> subprocess.Popen:
        wait_for_votes(out, 10)
        try:
            _pg_ctl("restart", cluster)  # every open connection, the workers' included, is cut
        finally:
            _pg_ctl("start", cluster)  # whatever happened, leave the server running for the rest of the suite
            connections.close_all()  # this process's connections died with the restart: reconnect on next use
        return server

    under_load(env, slug, restart_postgres)


def test_workers_that_boot_while_the_database_and_redis_are_down_start_and_answer_503(tmp_path):
    """The warm-up (deploy/gunicorn.conf.py's post_worker_init) must never stop a worker: a
    worker that failed to boot would take gunicorn's master down with it."""
    port = free_port()
    env = {**os.environ, "COLORSTUDY_DATA": str(tmp_path / "data"), "DEBUG": "0", "SECRET_KEY": "boot-test-" + "k" * 50,
           "ALLOWED_HOSTS": "127.0.0.1", "LOG_DIR": str(tmp_path / "logs"), "GUNICORN_BIND": f"127.0.0.1:{port}",
           "GUNICORN_WORKERS": "2", "STATIC_ROOT": str(tmp_path / "static"),
           "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere", "REDIS_URL": "redis://127.0.0.1:1/0"}  # port 1: nobody
    env.pop("DJANGO_SETTINGS_MODULE", None)
    (tmp_path / "logs").mkdir()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                               "colorstudy.wsgi"], env=env, cwd=ROOT, start_new_session=True)
    log = tmp_path / "logs" / "colorstudy.log"
    try:
        wait_for_port(port)
        end = time.monotonic() + 30
        while time.monotonic() < end and (not log.exists() or log.read_text().count("warm-up step database failed") < 2):
            time.sleep(0.05)
        text = log.read_text()
        assert text.count("warm-up step database failed") == 2 and text.count("warm-up step redis failed") == 2
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/study/anything/", timeout=10)
        assert answer.value.code == 503 and answer.value.headers["Retry-After"] == "5"
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10).status == 200
        assert server.poll() is None
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
