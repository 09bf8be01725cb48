"""Regenerate expected.json: blme's fits of the cases, run in R.

    .venv/bin/python tests/evaluation/blme_r/regenerate.py

The mixed-model tests compare with these numbers when R is absent, and with blme live when it is
present (make test installs Debian's r-cran-blme when run as root).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.evaluation.blme_r import cases, oracle  # noqa: E402


def main() -> None:
    if not oracle.available():
        raise SystemExit("Rscript with blme is missing: apt-get install r-cran-blme")
    fits = {name: oracle.bglmer(pair) for name, pair in cases.pairs().items()}
    path = Path(__file__).resolve().parent / "expected.json"
    path.write_text(json.dumps(fits, indent=1) + "\n")
    print(f"wrote {path}")  # noqa: T201


if __name__ == "__main__":
    main()
