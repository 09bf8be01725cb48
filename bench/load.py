"""Load benchmark of the study site as deployed: simulated participants through the real flow.

It starts the production stack on this machine (harness/stack.py: nginx with the configuration
`manage.py deploy_config` writes, HTTPS with a self-signed certificate, gunicorn with
deploy/gunicorn.conf.py, Redis, and PostgreSQL or SQLite in WAL mode), then runs a separate
load-generator process whose threads are participants: open link -> consent -> trial -> vote ->
next trial, fetching both images of every trial as a browser does. It reports sustained votes/s,
p50/p95/p99 latency of every request (images included) and of votes, images and pages apart,
errors, and checks in the database that every acknowledged vote is stored exactly once. A
trivial view (/healthz) measured on the same stack gives its ceiling.

Participants vote with JavaScript, as the trial page really works: each vote is one request
whose answer is the next trial, then the two images.

    .venv/bin/python bench/load.py                       # nginx, stimuli from files, PostgreSQL
    .venv/bin/python bench/load.py --database sqlite
    .venv/bin/python bench/load.py --stimuli accel       # the application checks, nginx sends
    .venv/bin/python bench/load.py --direct              # gunicorn alone, plain HTTP (no nginx)
    .venv/bin/python bench/load.py --no-images           # votes only, as the earlier figures
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import ssl
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu import describe  # noqa: E402
from bench.proccpu import snapshot, used  # noqa: E402
from harness.simulated import Outcome, Session, run_participant  # noqa: E402
from harness.stack import missing, start_stack  # noqa: E402


def run_threads(worker, clients: int) -> float:
    """Run ``worker`` in ``clients`` threads at once; the seconds until the last one ends."""
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def _tls(cafile: str | None) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=cafile) if cafile else None


def generator(port: int, cafile: str | None, slug: str, participants: int, clients: int, images: bool,
              queue: mp.Queue) -> None:
    """The load-generator process: ``clients`` threads, each running participants one after another."""
    out = Outcome()
    lock = threading.Lock()
    remaining = list(range(participants))
    tls = _tls(cafile)

    def worker() -> None:
        while True:
            with lock:
                if not remaining:
                    return
                remaining.pop()
            try:
                run_participant(port, slug, out, in_page=True, images=images, tls=tls)
            except Exception:  # a broken connection is an error of the run, not of the benchmark
                out.errors += 1

    cpu = time.process_time()
    elapsed = run_threads(worker, clients)
    queue.put({"elapsed": elapsed, "acked": out.acknowledged, "errors": out.errors, "latencies": out.latencies,
               "kinds": out.kinds, "images": out.images, "cpu": time.process_time() - cpu})


def trivial(port: int, cafile: str | None, n: int, clients: int, queue: mp.Queue) -> None:
    latencies: list[float] = []
    tls = _tls(cafile)

    def worker() -> None:
        s = Session(port, tls=tls)
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
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=16, help="participants at once")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--stimuli", choices=["files", "accel"], default="files")
    parser.add_argument("--direct", action="store_true", help="gunicorn alone over plain HTTP, without nginx")
    parser.add_argument("--no-images", dest="images", action="store_false")
    args = parser.parse_args()
    if reason := missing():
        sys.exit(f"bench/load.py {reason}")
    stack = start_stack(participants=args.participants + 10, trials=args.trials, stimuli=args.stimuli,
                        workers=args.workers, slug="load", database=args.database, proxy=not args.direct)
    port, cafile = (stack.upstream_port, None) if args.direct else (stack.https_port, str(stack.certificate))
    try:
        ceiling = run_in_process(trivial, port, cafile, 4000, args.clients)
        before = snapshot()
        result = run_in_process(generator, port, cafile, "load", args.participants, args.clients, args.images)
        spent = used(before, snapshot())
        out = stack.shell(
            "from colorstudy.models import Vote; from django.db.models import Count; "
            "qs = Vote.objects.filter(trial__participant__study__slug='load'); "
            "print(qs.count(), qs.values('trial').annotate(n=Count('id')).filter(n__gt=1).count())")
        stored, duplicates = map(int, out.split())
    finally:
        stack.stop()
    front = "gunicorn alone, plain HTTP" if args.direct else f"nginx over HTTPS (stimuli: {args.stimuli})"
    print(describe())
    print(f"{args.database}, {front}, gunicorn {args.workers} workers, {args.clients} participants at once, "
          f"{args.participants} x {args.trials} trials, images {'fetched' if args.images else 'not fetched'}")
    trivial_rps = len(ceiling["latencies"]) / ceiling["elapsed"]
    print(f"trivial view: {trivial_rps:.0f} requests/s (the stack's ceiling)")
    lat = np.array(result["latencies"]) * 1e3
    votes = len(result["acked"])
    print(f"{votes} votes acknowledged ({result['images']} images) in {result['elapsed']:.1f} s = "
          f"{votes / result['elapsed']:.0f} votes/s sustained; {len(lat) / result['elapsed']:.0f} requests/s; "
          f"errors {result['errors']}; latency p50 {np.percentile(lat, 50):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms, "
          f"p99 {np.percentile(lat, 99):.1f} ms")
    kinds = np.array(result["kinds"])
    print("latency by request: " + "; ".join(
        f"{kind} p50 {np.percentile(lat[kinds == kind], 50):.1f} ms, p99 {np.percentile(lat[kinds == kind], 99):.1f} ms"
        for kind in ("vote", "image", "page") if (kinds == kind).any()))
    ms_per_vote = 1e3 / max(votes, 1)
    print(f"the load generator itself used {result['cpu'] / result['elapsed']:.2f} of this machine's "
          f"{os.cpu_count()} cores ({result['cpu'] * ms_per_vote:.1f} ms of CPU per vote)")
    print("CPU by program: " + ", ".join(f"{name} {seconds / result['elapsed']:.2f} cores "
                                          f"({seconds * ms_per_vote:.2f} ms/vote)" for name, seconds in spent.items()))
    print(f"database: {stored} votes stored for {votes} acknowledged, {duplicates} trials with more than one vote -> "
          + ("OK" if stored == votes and duplicates == 0 else "MISMATCH"))


if __name__ == "__main__":
    main()
