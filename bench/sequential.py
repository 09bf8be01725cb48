"""Group-sequential plans by simulation: type I error with heterogeneous participants, and the
participants saved at the seed's effect against a fixed design with the same power.

Each simulated study has participants whose log-odds of choosing system a vary with SD 0.5 around
a mean that gives the population's share (0.5: no preference; 0.58: the seed's effect). Each
participant answers 50 trials. The plan looks after equal numbers of completed participants and
applies the participant-level t test (turned into z) that the site applies
(evaluation.sequential.simulate). The fixed design is the same test on ``fixed_participants``,
the number a fixed design needs for the same power.

    .venv/bin/python bench/sequential.py [--studies 20000]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cpu import describe  # noqa: E402
from evaluation.sequential import design, efficacy_bounds, fixed_plan, population_mean, simulate  # noqa: E402

EFFECT, VOTES, SD = 0.58, 50, 0.5


def implied_icc(share: float, sd_logit: float, votes: int) -> float:
    """The intra-participant correlation of choices that participant effects of SD ``sd_logit`` give."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    p = 1 / (1 + np.exp(-(population_mean(share, sd_logit) + sd_logit * nodes)))
    between = float(np.dot(weights, (p - np.dot(weights, p)) ** 2))
    within = float(np.dot(weights, p * (1 - p)))
    return between / (between + within)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--studies", type=int, default=20000)
    args = parser.parse_args()
    print(describe())
    print("Lan-DeMets bounds, two-sided alpha 0.05 (alpha/2 per side), equally spaced looks:")
    for spending in ("obf", "pocock"):
        for k in (2, 3, 4, 5):
            bounds = efficacy_bounds([j / k for j in range(1, k + 1)], spending=spending)
            print(f"  {spending:6s} K={k}: " + ", ".join(f"{b:.4f}" for b in bounds))
    icc = implied_icc(EFFECT, SD, VOTES)
    mc = math.sqrt(0.05 * 0.95 / args.studies)
    print(f"\n{args.studies} simulated studies per row; {VOTES} votes per participant, participant effects SD {SD} "
          f"(logit), implied ICC {icc:.3f}; Monte-Carlo SE of a 5% rate {mc:.4f}")
    print(f"{'design':24s} {'power':>5s} {'max':>4s} {'fixed':>5s} {'type I':>7s} {'power sim':>9s} "
          f"{'fixed sim':>9s} {'E[N|0]':>7s} {'E[N|.58]':>8s} {'E[N|.58]/fixed':>14s} {'(analytic)':>10s}")
    seed = 0
    for spending, looks in (("obf", 5), ("pocock", 5), ("pocock", 10)):
        for power in (0.8, 0.9, 0.95):
            start = time.perf_counter()
            plan = design(EFFECT, looks, power=power, spending=spending, votes_per_participant=VOTES, icc=icc)
            null = simulate(plan, 0.5, args.studies, VOTES, SD, seed=seed)
            alt = simulate(plan, EFFECT, args.studies, VOTES, SD, seed=seed + 1)
            fixed = simulate(fixed_plan(plan.fixed_participants, 1), EFFECT, args.studies, VOTES, SD, seed=seed + 1)
            seed += 2
            print(f"{spending + f', {looks} looks':24s} {power:5.2f} {plan.participants:4d} {plan.fixed_participants:5d} "
                  f"{null.rejection_rate:7.4f} {alt.rejection_rate:9.4f} {fixed.rejection_rate:9.4f} "
                  f"{null.mean_participants:7.1f} {alt.mean_participants:8.1f} "
                  f"{alt.mean_participants / plan.fixed_participants:14.3f} "
                  f"{plan.expected_effect / plan.fixed_participants:10.3f}   ({time.perf_counter() - start:.0f} s)")
    print("type I: share of no-preference studies that stopped for a preference (goal: 0.05 within Monte-Carlo error)")


if __name__ == "__main__":
    main()
