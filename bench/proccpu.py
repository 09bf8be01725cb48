"""CPU time by program (gunicorn, postgres, nginx, redis-server, ...) from /proc, for the load benchmark.

A load run on a 2-core machine is CPU-bound; where its seconds go says what to make cheaper.
Processes are grouped by their command name, and Python processes that run gunicorn count as
gunicorn. A process that starts or ends during the run counts from its first reading or up to
its last.
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _program(pid: str, comm: str) -> str:
    if comm.startswith(("python", "gunicorn")):
        try:
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return comm
        return "gunicorn" if b"gunicorn" in command_line else comm
    return comm.split(":")[0].split()[0] if comm.strip() else "?"


def snapshot() -> dict[str, tuple[str, float]]:
    """pid -> (program, CPU seconds so far)."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1: stat.rindex(")")], stat[stat.rindex(")") + 1:].split()
        out[pid] = (_program(pid, comm), (int(rest[11]) + int(rest[12])) / TICK)  # utime + stime
    return out


def used(before: dict[str, tuple[str, float]], after: dict[str, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds each program used between two snapshots, largest first."""
    total: dict[str, float] = defaultdict(float)
    for pid, (program, seconds) in after.items():
        total[program] += seconds - before.get(pid, (program, 0.0))[1]
    return dict(sorted(((p, s) for p, s in total.items() if s > 0.05), key=lambda kv: -kv[1]))
