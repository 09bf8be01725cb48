"""Regenerate tmo_expected.json: pwcmp's own outputs on the shared tone-mapping study, run in Octave.

    .venv/bin/python tests/evaluation/pwcmp_octave/regenerate.py

The JOD tests compare the project's scaling with these numbers when Octave is absent, and with
pwcmp live when it is present (make test installs Debian's octave when run as root).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from harness import pwcmp as oracle
from tests.evaluation.pwcmp_octave import cases  # noqa: E402


def main() -> None:
    if not oracle.available():
        raise SystemExit("octave-cli or pwcmp is missing: apt-get install octave, and ../shared/anchors/pwcmp")
    systems, pooled, scenes, groups = cases.tmo_cases()
    matrices = [pooled.total] + [g.total for g in groups]
    gaussian = oracle.pw_scale(matrices, "gaussian")
    none = oracle.pw_scale([pooled.total], "none")
    ref = systems.index("tmo_camera")
    moved, order = cases.reference_first(pooled.total, ref)
    (fixed,) = oracle.pw_scale([moved], "gaussian", "fix0")
    fix0 = [0.0] * len(systems)
    for position, system_index in enumerate(order):
        fix0[system_index] = float(fixed[position])
    loglik, distance = oracle.pw_outlier_analysis(cases.observer_matrices(groups))
    unanimous, disconnected = oracle.pw_scale([cases.UNANIMOUS, cases.DISCONNECTED], "gaussian")
    out = {
        "source": "pwcmp (github.com/mantiuk/pwcmp, 07876b2) pw_scale and pw_outlier_analysis in GNU Octave",
        "systems": systems,
        "pooled": {"gaussian": gaussian[0].tolist(), "none": none[0].tolist(), "fix0_tmo_camera": fix0},
        "scenes": {s: q.tolist() for s, q in zip(scenes, gaussian[1:], strict=True)},
        "observers": list(groups[0].participants),
        "outliers": {"loglik": loglik.tolist(), "distance": distance.tolist()},
        "unanimous": unanimous.tolist(),
        "disconnected": disconnected.tolist(),
    }
    cases.EXPECTED.write_text(json.dumps(out, indent=1) + "\n")
    sys.stdout.write(f"wrote {cases.EXPECTED}\n")


if __name__ == "__main__":
    main()
