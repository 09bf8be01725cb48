"""CPU time by program (gunicorn, postgres, nginx, redis-server, ...) from /proc, for the load benchmark.

A load run on a 2-core machine is CPU-bound; where its seconds go says what to make cheaper.
Processes are grouped by their command name (gunicorn's workers by their first word); a process
that starts or ends during the run counts from its first reading or up to its last.
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _program(pid: str) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = stat[stat.index("(") + 1: stat.rindex(")")]
    if comm.startswith("python") or comm.startswith("gunicorn"):
        try:  # python processes by what they run: gunicorn workers, the load generator
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return comm
        words = b" ".join(argv).decode(errors="replace")
        return "gunicorn" if "gunicorn" in words else comm
    return comm.split(":")[0].split()[0] if comm else None


def snapshot() -> dict[str, tuple[str, float]]:
    """pid -> (program, CPU seconds so far)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        program = _program(entry)
        if program:
            out[entry] = (program, (int(fields[11]) + int(fields[12])) / TICK)  # utime + stime
    return out


def used(before: dict[str, tuple[str, float]], after: dict[str, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds each program used between two snapshots, largest first."""
    total: dict[str, float] = defaultdict(float)
    for pid, (program, seconds) in after.items():
        total[program] += seconds - before.get(pid, (program, 0.0))[1]
    return dict(sorted(((p, s) for p, s in total.items() if s > 0.05), key=lambda kv: -kv[1]))
