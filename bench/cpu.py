"""The CPU a benchmark ran on, named by its instruction sets (printed by every benchmark)."""
from __future__ import annotations

import os
import platform
from pathlib import Path

NAMES = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_vnni": "VNNI", "avx512_bf16": "AVX-512 BF16",
         "amx_tile": "AMX"}


def describe() -> str:
    """e.g. 'x86_64, 2 cores: AVX2; no AVX-512, VNNI, AVX-512 BF16, AMX'."""
    flags: set[str] = set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    have = [name for flag, name in NAMES.items() if flag in flags]
    lacking = [name for flag, name in NAMES.items() if flag not in flags]
    return (f"{platform.machine()}, {os.cpu_count()} cores: {', '.join(have) or 'none of ' + ', '.join(NAMES.values())}"
            + (f"; no {', '.join(lacking)}" if lacking and have else ""))


if __name__ == "__main__":
    print(describe())
