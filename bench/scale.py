"""Scale figures: generate_pairs for 10,000 x 50, the report on 1,000,000 votes, the mixed model on 100,000.

    .venv/bin/python bench/scale.py [--skip-generate] [--skip-mixed]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def synthetic_votes(participants: int, per_participant: int, images: int, seed: int = 0) -> pd.DataFrame:
    """Votes with individual taste per participant and per image, 55% overall for system 'a'."""
    rng = np.random.default_rng(seed)
    n = participants * per_participant
    participant = np.repeat(np.arange(participants), per_participant)
    image = rng.integers(0, images, n)
    logit = 0.2 + rng.normal(0, 0.5, participants)[participant] + rng.normal(0, 0.3, images)[image]
    a_left = rng.random(n) < 0.5
    chose_a = rng.random(n) < 1 / (1 + np.exp(-logit))
    left = np.where(a_left, "a", "b")
    right = np.where(a_left, "b", "a")
    return pd.DataFrame({
        "participant": pd.Series(participant).map(lambda p: f"P{p:06d}"),
        "image": pd.Series(image).map(lambda i: f"img{i:04d}"),
        "left_system": left, "right_system": right, "chosen_system": np.where(chose_a, "a", "b"),
        "is_catch": False, "response_ms": rng.integers(300, 4000, n),
    })


def bench_generate(participants: int, trials: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="colorstudy-scale-"))
    os.environ["COLORSTUDY_DATA"] = str(data)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "colorstudy.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from colorstudy.generation import StudyOptions, SystemSpec, generate_study
    from harness.synthetic import make_system_folders

    call_command("migrate", verbosity=0)
    lfw = ROOT.parent / "shared" / "data" / "lfw-deepfunneled"
    photos = data / "photos"
    for f in sorted(lfw.rglob("*.jpg"))[::150][: trials + 10]:
        (photos / f.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(f, photos / f.parent.name / f.name)
    folders = make_system_folders(data / "systems", source=photos)
    opts = StudyOptions(slug="scale", systems=[SystemSpec("a", str(folders["muted"])), SystemSpec("b", str(folders["vivid"]))],
                        participants=participants, trials=trials, seed=1)
    start = time.perf_counter()
    result = generate_study(opts)
    elapsed = time.perf_counter() - start
    from colorstudy.models import Trial

    n = Trial.objects.filter(participant__study=result.study).count()
    print(f"generate_pairs: {participants:,} participants x {trials} trials ({n:,} trials, {result.images_used} images "
          f"x 2 systems encoded) in {elapsed:.2f} s on SQLite")
    shutil.rmtree(data, ignore_errors=True)


def bench_report(votes: int) -> None:
    from evaluation.report import build_report

    df = synthetic_votes(votes // 50, 50, 1000)
    start = time.perf_counter()
    report = build_report(df, mixed=False)
    elapsed = time.perf_counter() - start
    c = report.comparisons[0]
    print(f"report without the mixed model: {votes:,} votes in {elapsed:.2f} s (share {c.pooled.statistic:.3f}, "
          f"{len(c.participants):,} participants, {len(c.images):,} images)")


def bench_mixed(votes: int) -> None:
    from evaluation.clustered import mixed_model
    from evaluation.votes import load_votes, pair_votes

    df = load_votes(synthetic_votes(votes // 50, 50, 500, seed=1))
    sub = pair_votes(df, "a", "b")
    start = time.perf_counter()
    res = mixed_model(sub)
    elapsed = time.perf_counter() - start
    print(f"mixed model (crossed participant and image intercepts): {votes:,} votes in {elapsed:.1f} s "
          f"(estimate {res.estimate:.3f}, p = {res.pvalue:.2g}, sd participant {res.sd_participant:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument("--skip-mixed", action="store_true")
    args = parser.parse_args()
    if not args.skip_generate:
        bench_generate(10_000, 50)
    bench_report(1_000_000)
    if not args.skip_mixed:
        bench_mixed(100_000)


if __name__ == "__main__":
    main()
