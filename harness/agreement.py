"""Cases whose agreement with people is known, for the metric-agreement tests and
bench/metric_agreement.py: observers who choose by a hidden quality, and two per-condition numbers
of the real tone-mapping study (fixtures/tmo)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from evaluation.options import ReportOptions
from evaluation.report import build_report

TMO = Path(__file__).resolve().parent.parent / "fixtures" / "tmo" / "tmo_cmp_data.csv"


def simulated(n_participants=30, n_images=30, systems=("a", "b", "c", "d"), seed=0):
    """Observers who choose by a hidden quality of each stimulus (Thurstone: noise of SD 1), and that quality."""
    rng = np.random.default_rng(seed)
    quality = {(f"i{i}", s): rng.normal(0.4 * k, 1.0) for i in range(n_images) for k, s in enumerate(systems)}
    rows = []
    for p in range(n_participants):
        for i in range(n_images):
            a, b = rng.choice(systems, 2, replace=False)
            first = rng.random() < norm.cdf(quality[(f"i{i}", a)] - quality[(f"i{i}", b)])
            rows.append((f"p{p}", f"i{i}", a, b, a if first else b))
    votes = pd.DataFrame(rows, columns=["participant", "image", "left_system", "right_system", "chosen_system"])
    votes["is_catch"] = False
    truth = pd.DataFrame([(i, s, q) for (i, s), q in quality.items()], columns=["image", "system", "truth"])
    return votes, truth


def tmo_metrics(tmp_path: Path) -> tuple[Path, Path]:
    """Two per-condition numbers for the tone-mapping study: each operator's JOD from the first nine
    observers (to be held against the other nine), and its year of publication."""
    votes = pd.read_csv(TMO)
    observers = sorted(votes["observer"].unique())
    scale = build_report(votes[votes["observer"].isin(observers[:9])], ReportOptions(mixed=False, n_boot=0)).jod
    jod = dict(zip(scale.systems, scale.statistic, strict=True))
    years = {"ferwerda96": 1996, "hateren06": 2006, "irawan05": 2005, "mantiuk08": 2008, "pattanaik00": 2000,
             "ronan12": 2012, "tmo_camera": 2013}
    rows = [(scene, c, jod[c], years[c]) for scene in votes["scene"].unique() for c in years]
    path = tmp_path / "tmo_metrics.csv"
    pd.DataFrame(rows, columns=["image", "system", "jod_other_half", "year"]).to_csv(path, index=False)
    held_out = tmp_path / "tmo_held_out.csv"
    votes[votes["observer"].isin(observers[9:])].to_csv(held_out, index=False)
    return path, held_out
