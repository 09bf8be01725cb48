"""CPU per rate-limit check on Redis: Django's cache (add, then incr) against colorstudy.ratelimit.count.

Needs Redis on 127.0.0.1:6379 (database 11 is flushed).

    .venv/bin/python bench/ratelimit.py [--calls 3000]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
URL = "redis://127.0.0.1:6379/11"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "colorstudy.settings")
os.environ["REDIS_URL"] = URL

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402

from bench.cpu import describe  # noqa: E402
from colorstudy.ratelimit import count  # noqa: E402


def django_cache(key: str) -> None:
    """What the rate limit did before: Django's cache API."""
    if not cache.add(key, 1, timeout=70):
        cache.incr(key)


def measure(check, calls: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        check("rl:bench:127.0.0.1:1")
    return (time.process_time() - cpu) / calls * 1e3, (time.perf_counter() - wall) / calls * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    print(describe())
    cache.clear()
    for label, check in (("Django's cache, add then incr", django_cache), ("ratelimit.count, one pipeline", count)):
        check("rl:bench:warm-up:1")
        cpu, wall = measure(check, args.calls)
        print(f"{label}: {cpu:.3f} ms of CPU, {wall:.3f} ms of wall time per check ({args.calls} calls)")
    cache.clear()


if __name__ == "__main__":
    main()
