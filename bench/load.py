"""Load benchmark of the study site under gunicorn: simulated participants through the real flow.

It builds a study in a fresh data folder (SQLite in WAL mode, or PostgreSQL with --database-url),
starts gunicorn with several workers, and runs a separate load-generator process whose threads
are participants: open link -> consent -> GET trial -> POST vote -> next trial, until done. It
reports sustained votes/s, p50/p95/p99 latency of every request, errors, and then checks in the
database that every acknowledged vote is stored exactly once. A trivial view (/healthz) is
measured on the same server for the ceiling of this stack.

Two kinds of participants run one after the other on the same server: browsers with JavaScript,
as the trial page really works (each vote is one request whose answer is the next trial), and
browsers without it (each vote is a form POST answered by a redirect, then a GET of the next
trial page: two requests per vote).

    .venv/bin/python bench/load.py [--participants 200 --trials 20 --workers 4 --clients 16]
    .venv/bin/python bench/load.py --database-url postgres://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.simulated import Outcome, Session, run_participant  # noqa: E402


def run_threads(worker, clients: int) -> float:
    """Run ``worker`` in ``clients`` threads at once; the seconds until the last one ends."""
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def generator(port: int, slug: str, participants: int, clients: int, in_page: bool, queue: mp.Queue) -> None:
    """The load-generator process: ``clients`` threads, each running participants one after another."""
    out = Outcome()
    lock = threading.Lock()
    remaining = list(range(participants))

    def worker() -> None:
        while True:
            with lock:
                if not remaining:
                    return
                remaining.pop()
            try:
                run_participant(port, slug, out, in_page=in_page)
            except Exception:  # a broken connection is an error of the run, not of the benchmark
                out.errors += 1

    elapsed = run_threads(worker, clients)
    queue.put({"elapsed": elapsed, "acked": out.acknowledged, "errors": out.errors, "latencies": out.latencies})


def trivial(port: int, n: int, clients: int, queue: mp.Queue) -> None:
    latencies: list[float] = []

    def worker() -> None:
        s = Session(port)
        for _ in range(n // clients):
            s.request("GET", "/healthz")
        latencies.extend(s.latencies)

    queue.put({"elapsed": run_threads(worker, clients), "latencies": latencies})


def run_in_process(target, *args) -> dict:
    queue: mp.Queue = mp.Queue()
    proc = mp.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get(timeout=900)
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="colorstudy-load-"))
    env = {**os.environ, "COLORSTUDY_DATA": str(data), "DEBUG": "0", "SECRET_KEY": "bench-" + "x" * 50,
           "STATIC_ROOT": str(data / "static"),
           "ALLOWED_HOSTS": "127.0.0.1", "RATE_LIMIT_START": "0", "RATE_LIMIT_VOTE": "0", "DATABASE_URL": args.database_url}
    py = sys.executable
    manage = [py, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
    slug = f"load{int(time.time())}"
    systems = data / "systems"
    subprocess.run([py, "-c", "import sys; sys.path.insert(0, '.'); from tests.conftest import make_system_folders; "
                    f"make_system_folders(__import__('pathlib').Path('{systems}'), {args.trials})"], cwd=ROOT, check=True, env=env)
    subprocess.run([*manage, "generate_pairs", "--study", slug, "--system", f"a={systems / 'muted'}", "--system",
                    f"b={systems / 'vivid'}", "--participants", str(2 * args.participants), "--trials", str(args.trials),
                    "--show-links", "0"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    server = subprocess.Popen([py, "-m", "gunicorn", "colorstudy.wsgi", "--workers", str(args.workers), "--bind",
                               f"127.0.0.1:{args.port}", "--log-level", "warning"], env=env, cwd=ROOT)
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        ceiling = run_in_process(trivial, args.port, 4000, args.clients)
        runs = {mode: run_in_process(generator, args.port, slug, args.participants, args.clients, mode == "in-page")
                for mode in ("in-page", "form")}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    trivial_rps = len(ceiling["latencies"]) / ceiling["elapsed"]
    votes = sum(len(r["acked"]) for r in runs.values())
    check = subprocess.run(
        [*manage, "shell", "-c",
         "from colorstudy.models import Vote; from django.db.models import Count; "
         f"qs = Vote.objects.filter(trial__participant__study__slug='{slug}'); "
         "print(qs.count(), qs.values('trial').annotate(n=Count('id')).filter(n__gt=1).count())"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    stored, duplicates = map(int, check.stdout.strip().splitlines()[-1].split())
    backend = "PostgreSQL" if args.database_url else "SQLite (WAL)"
    print(f"{backend}, gunicorn {args.workers} workers, {args.clients} concurrent participants, {args.participants} x {args.trials} trials")
    print(f"trivial view: {trivial_rps:.0f} requests/s (the stack's ceiling)")
    for mode, result in runs.items():
        lat = np.array(result["latencies"]) * 1e3
        flow_rps = len(lat) / result["elapsed"]
        label = "with JavaScript (in-page votes)" if mode == "in-page" else "without JavaScript (form posts)"
        print(f"{label}: {len(result['acked'])} votes acknowledged in {result['elapsed']:.1f} s = "
              f"{len(result['acked']) / result['elapsed']:.0f} votes/s sustained; errors {result['errors']}; "
              f"{flow_rps:.0f} requests/s = {flow_rps / trivial_rps:.2f} of the ceiling; latency p50 "
              f"{np.percentile(lat, 50):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms")
    print(f"database: {stored} votes stored for {votes} acknowledged, {duplicates} trials with more than one vote -> "
          + ("OK" if stored == votes and duplicates == 0 else "MISMATCH"))
    shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
