"""Adaptive pair scheduling against the balanced design and random pairs, by simulation with a known truth.

Each run draws true JOD scores (normal, SD 1.2 JOD: real studies' scales span three to five JOD)
for 8 or 20 systems. Simulated participants arrive one after another. Each answers a list of
trials with Thurstone noise (sigma 1.4826: 1 JOD is 75% preference), on scores shifted by their
own offset (SD 0.3 JOD per system). The three designs differ only in which pairs a list holds:

- balanced: every pair of systems in turn, round-robin across participants (the fixed design);
- random: pairs drawn uniformly;
- adaptive: evaluation.adaptive.schedule on the votes so far (ASAP's batch mode, pairs worth the
  expected reduction of the scores' variance: the site's default);
- adaptive-eig: the same with ASAP's own measure, the expected information gain.

After each participant the scores are estimated from all votes (the same posterior mean for all
three designs). The benchmark then records the RMSE against the truth (both centred) and Kendall's
tau. It prints the curves' summary, how many votes the adaptive design needs to reach the
balanced design's final RMSE and its final Kendall tau, and draws docs/adaptive.png.

Beside each setting it prints what knowing the true scores could save once votes are many: the
share of the balanced design's votes that the A-optimal design needs, in the large-sample limit
(evaluation.adaptive.balanced_efficiency); and the same for the scale of a real study (pwcmp's
tone-mapping study, when ../shared holds it).

A second kind of truth, ``--truth colorization``, is the study the issue describes: the gray
input 3 JOD below the methods, the ground truth 1.5 JOD above them, and the methods themselves
close together (normal, SD ``--spread``, 0.5 JOD by default there), where a balanced design spends
a share of its votes on the obvious pairs of the gray baseline.

    .venv/bin/python bench/adaptive.py [--runs 12] [--truth colorization]
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu import describe  # noqa: E402
from evaluation.adaptive import balanced_efficiency, rmse, schedule, scores  # noqa: E402
from evaluation.jod import SIGMA  # noqa: E402

SPREAD, OFFSET = 1.2, 0.3
GRAY, GROUND_TRUTH = -3.0, 1.5  # --truth colorization: the two references around the methods (JOD)
SETTINGS = {8: (28, 30), 20: (40, 60)}  # systems: (trials per participant, participants)
DESIGNS = ("balanced", "random", "adaptive", "adaptive-eig")


def run(design: str, truth: np.ndarray, trials: int, participants: int, rng: np.random.Generator) -> np.ndarray:
    """(participants, 3): votes so far, RMSE and Kendall tau after each participant."""
    s = len(truth)
    every = list(itertools.combinations(range(s), 2))
    order = [every[k] for k in rng.permutation(len(every))]
    wins = np.zeros((s, s))
    out, dealt = [], 0
    for _ in range(participants):
        if design == "balanced":
            pairs = [order[(dealt + k) % len(order)] for k in range(trials)]
            dealt += trials
        elif design == "random":
            pairs = [every[k] for k in rng.integers(0, len(every), trials)]
        else:
            pairs = schedule(wins, trials, criterion="information" if design == "adaptive-eig" else "variance")
        observer = truth + rng.normal(0, OFFSET, s)
        for i, j in pairs:
            if rng.random() < stats.norm.cdf((observer[i] - observer[j]) / SIGMA):
                wins[i, j] += 1
            else:
                wins[j, i] += 1
        estimate = scores(wins)
        out.append((wins.sum(), rmse(estimate, truth), stats.kendalltau(estimate, truth).statistic))
    return np.array(out)


def timing(s: int, trials: int) -> None:
    """What choosing one list costs the site's consent request (the scheduler on a study's votes)."""
    rng = np.random.default_rng(0)
    wins = rng.integers(0, 30, (s, s)).astype(float)
    np.fill_diagonal(wins, 0)
    schedule(wins, trials)
    times = []
    for _ in range(10):
        start = time.perf_counter()
        schedule(wins, trials)
        times.append(time.perf_counter() - start)
    print(f"  choosing a list of {trials} trials among {s} systems: median {1e3 * np.median(times):.0f} ms, "
          f"max {1e3 * max(times):.0f} ms (goal: at most 200 ms for 20 systems)")


def real_study_bound() -> None:
    """What an optimal design could save on the scale of a real study: pwcmp's tone-mapping study."""
    study = ROOT / "fixtures" / "tmo" / "tmo_cmp_data.csv"
    if not study.exists():
        return
    from evaluation.jod import jod_scale
    from evaluation.matrices import comparison_counts
    from evaluation.votes import load_votes

    truth = np.asarray(jod_scale(comparison_counts(load_votes(study)), n_boot=0).statistic)
    print(f"a real study (pwcmp's tone-mapping study): {len(truth)} systems over {np.ptp(truth):.1f} JOD (SD "
          f"{truth.std():.2f}); the A-optimal design needs {balanced_efficiency(truth):.2f} of the balanced design's votes")


def true_scores(s: int, run: int, kind: str = "normal") -> np.ndarray:
    """The sorted true JOD scores of ``s`` systems for one run: all normal (SD SPREAD), or
    "colorization": the gray input and the ground truth around ``s - 2`` methods (SD SPREAD)."""
    rng = np.random.default_rng(1000 + run)
    if kind == "normal":
        return np.sort(rng.normal(0, SPREAD, s))
    return np.sort(np.r_[GRAY, rng.normal(0, SPREAD, s - 2), GROUND_TRUTH])


def votes_to_reach(curve: np.ndarray, target: float, column: int = 1) -> float | None:
    """Votes after which ``curve`` first reaches ``target``: an RMSE at or below it (column 1), or
    a Kendall tau at or above it (column 2); None when it never does."""
    reached = curve[:, column] <= target if column == 1 else curve[:, column] >= target
    first = np.nonzero(reached)[0]
    return float(curve[first[0], 0]) if len(first) else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--plot", default=str(ROOT / "docs" / "adaptive.png"))
    parser.add_argument("--truth", choices=["normal", "colorization"], default="normal")
    parser.add_argument("--spread", type=float, default=None,
                        help=f"SD of the true JOD scores (of the methods with --truth colorization); {SPREAD}, or 0.5 there")
    args = parser.parse_args()
    globals()["SPREAD"] = args.spread if args.spread is not None else (SPREAD if args.truth == "normal" else 0.5)
    print(describe())
    if args.truth == "normal":
        print(f"true scores: normal with SD {SPREAD} JOD; observer offsets SD {OFFSET} JOD")
    else:
        print(f"true scores: the gray input at {GRAY} JOD, the ground truth at {GROUND_TRUTH}, the methods normal with "
              f"SD {SPREAD} JOD; observer offsets SD {OFFSET} JOD")
    real_study_bound()
    curves = {}
    for s, (trials, participants) in SETTINGS.items():
        start = time.perf_counter()
        runs, bounds = {d: [] for d in DESIGNS}, []
        for r in range(args.runs):
            truth = true_scores(s, r, args.truth)
            bounds.append(balanced_efficiency(truth))
            for d in DESIGNS:
                runs[d].append(run(d, truth, trials, participants, np.random.default_rng([r, DESIGNS.index(d)])))
        curves[s] = {d: np.mean(runs[d], axis=0) for d in DESIGNS}
        bound = np.mean(bounds)
        final = curves[s]["balanced"][-1]
        print(f"\n{s} systems, {trials} trials per participant, {participants} participants "
              f"({int(final[0])} votes), {args.runs} runs ({time.perf_counter() - start:.0f} s)")
        for d in DESIGNS:
            c = curves[s][d]
            marks = ", ".join(f"{int(c[k, 0])} votes: RMSE {c[k, 1]:.3f}, tau {c[k, 2]:.3f}"
                              for k in (participants // 6, participants // 3, participants // 2, participants - 1))
            print(f"  {d:9s} {marks}")
        print(f"  the balanced design's final RMSE {final[1]:.3f} after {int(final[0])} votes; goal: at most half of them")
        print(f"    the A-optimal design, knowing the true scores, needs {bound:.2f} of them (large-sample limit)")
        for d in DESIGNS[1:]:
            need = votes_to_reach(curves[s][d], final[1])
            share = f"{need / final[0]:.2f} of them" if need else "not within the run"
            print(f"    {d} reaches it after {int(need) if need else '-'} votes ({share})")
        print(f"  the balanced design's final Kendall tau {final[2]:.3f}")
        for d in DESIGNS[1:]:
            need = votes_to_reach(curves[s][d], final[2], column=2)
            share = f"{need / final[0]:.2f} of the votes" if need else "not within the run"
            print(f"    {d} reaches it after {int(need) if need else '-'} votes ({share})")
        timing(s, trials)
    plot(curves, args.plot, args.truth)
    print(f"\nplot: {args.plot}")


def plot(curves: dict, path: str, truth: str = "normal") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(10, 3.8))
    for ax, (s, by_design) in zip(axes, curves.items(), strict=True):
        for d, c in by_design.items():
            ax.plot(c[:, 0], c[:, 1], label=d, lw=2 if d == "adaptive" else 1.2)
        ax.set_ylim(bottom=0)
        ax.set_title(f"{s} systems")
        ax.set_xlabel("votes")
        ax.set_ylabel("RMSE of the JOD scores")
        ax.grid(alpha=0.3)
        ax.legend()
    scale = f"true scores SD {SPREAD} JOD" if truth == "normal" else f"gray, methods SD {SPREAD} JOD, ground truth"
    fig.suptitle(f"Adaptive scheduling against the balanced design and random pairs ({scale})")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
