"""pwcmp itself, run in Octave, as the oracle of the JOD tests (used only when Octave is installed).

pwcmp's code stays in ../shared/anchors/pwcmp/ and is never copied here: this folder holds only
the small shims Octave needs for it (MATLAB's optimoptions and the normal and binomial functions,
whose statistics package Debian's Octave lacks). The shims ask fminunc for tight tolerances, so
that pwcmp's answer is its objective's optimum and not where its default tolerance stopped.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PWCMP = Path(os.environ.get("PWCMP_DIR", Path(os.environ.get("COLORSTUDY_SHARED", ROOT.parent / "shared")) / "anchors" / "pwcmp"))


def available() -> bool:
    return shutil.which("octave-cli") is not None and (PWCMP / "pw_scale.m").exists()


def _literal(matrix: np.ndarray) -> str:
    return "[" + ";".join(" ".join(repr(float(v)) for v in row) for row in np.atleast_2d(matrix)) + "]"


def _run(body: str) -> list[np.ndarray]:
    """Run Octave code whose results are printed with ``out(x)``; return them in order."""
    script = (
        f"addpath('{HERE}'); addpath('{PWCMP}'); warning('off', 'all');\n"
        "function out(x) fprintf('RESULT'); fprintf(' %.12g', x); fprintf('\\n'); end\n" + body
    )
    with tempfile.NamedTemporaryFile("w", suffix=".m", delete=False) as fh:
        fh.write(script)
    try:
        proc = subprocess.run(["octave-cli", "--no-gui", "-q", fh.name], capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(fh.name)
    results = [np.array([float(v) for v in line.split()[1:]]) for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    if not results:
        raise RuntimeError(f"Octave printed no result: {proc.stderr[-2000:]}")
    return results


def pw_scale(matrices: list[np.ndarray], prior: str = "gaussian", regularization: str = "mean0") -> list[np.ndarray]:
    """pwcmp's pw_scale on each matrix (D[i, j] = times i chosen over j)."""
    body = "".join(
        f"out(pw_scale({_literal(m)}, {{'prior', '{prior}', 'regularization', '{regularization}'}}));\n" for m in matrices
    )
    return _run(body)


def pw_outlier_analysis(groups: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """pwcmp's pw_outlier_analysis on per-group (observers x N*N, column-major) response matrices."""
    cells = ", ".join(_literal(g) for g in groups)
    loglik, distance = _run(f"[L, d] = pw_outlier_analysis({{{cells}}}); out(L); out(d);\n")
    return loglik, distance
