"""Group-sequential plans by simulation: type I error and power of the participant-level test at
each plan's looks, for participants who differ a little or a lot.

Each simulated study has participants whose log-odds of choosing system a vary with SD 0.5, 1.0
or 1.5 around a mean that gives the population's share (0.5: no preference; 0.58: the seed's
effect). Each participant answers 50 trials. The plans are those of ``design(0.58, ...,
icc=0.055)`` and fixed designs of 8 and 36 participants; every look applies the test the site
applies (``evaluation.sequential.simulate``).

Candidates, side by side (``--compare``):
- ``sign-flip``: the exact sign-flip test of the shares, its p-value turned into z (the site's);
- ``t``: the participant-level t test turned into z, with the binomial floor on its standard error
  (what the site used before);
- ``mid-p``: the sign-flip test's mid-p-value (half the observed value's own probability left out).

    .venv/bin/python bench/sequential.py [--studies 200000] [--power-studies 50000] [--compare [--compare-studies 50000]]
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
from evaluation import sequential  # noqa: E402
from evaluation.sequential import design, efficacy_bounds, fixed_plan, simulate  # noqa: E402
from evaluation.signflip import upper_tails, z_from_tail  # noqa: E402

EFFECT, VOTES, ICC = 0.58, 50, 0.055
SDS = (0.5, 1.0, 1.5)


def mid_p_z(counts: np.ndarray, votes: int, looks: list[int]) -> np.ndarray:
    """The sign-flip test's mid-p-value as z (a candidate, not the site's test)."""
    distance = 2 * counts - votes
    out = np.empty((len(counts), len(looks)))
    for start in range(0, len(counts), sequential.CHUNK):
        part = distance[start:start + sequential.CHUNK]
        sums = np.stack([part[:, :n].sum(axis=1) for n in looks], axis=1)
        upper = 0.5 * (upper_tails(part, looks) + upper_tails(part, looks, offset=1))
        out[start:start + sequential.CHUNK] = z_from_tail(upper, sums)
    return out


def plans() -> dict[str, sequential.SequentialPlan]:
    pocock = design(EFFECT, 5, power=0.9, spending="pocock", votes_per_participant=VOTES, icc=ICC)
    return {
        "Pocock-like, 5 looks": pocock,
        "O'Brien-Fleming-like, 5 looks": design(EFFECT, 5, power=0.9, spending="obf", votes_per_participant=VOTES,
                                                icc=ICC),
        "Pocock-like, 10 looks": design(EFFECT, 10, power=0.9, spending="pocock", votes_per_participant=VOTES, icc=ICC),
        "fixed, 8 participants": fixed_plan(8, 1),
        "fixed, 36 participants": fixed_plan(pocock.participants, 1),
    }


def row(label: str, plan, test: str, studies: int, power_studies: int, seed: int) -> None:
    start = time.perf_counter()
    cells = []
    for sd in SDS:
        candidate = mid_p_z if test == "mid-p" else test
        null = simulate(plan, 0.5, studies, VOTES, sd, seed=seed, test=candidate)
        alt = simulate(plan, EFFECT, power_studies, VOTES, sd, seed=seed + 1, test=candidate)
        inside = abs(null.rejection_rate - plan.alpha) <= 2 * null.monte_carlo_error
        above = null.rejection_rate > plan.alpha + 2 * null.monte_carlo_error
        mark = " " if inside else ("+" if above else "-")
        cells.append(f"{null.rejection_rate:.4f}{mark} {alt.rejection_rate:.3f} {alt.mean_participants:5.1f}")
        seed += 2
    print(f"  {label:31s} {test:9s} " + "   ".join(cells) + f"   ({time.perf_counter() - start:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--studies", type=int, default=200_000, help="null studies per cell")
    parser.add_argument("--power-studies", type=int, default=50_000, help="studies at the seed's effect per cell")
    parser.add_argument("--compare", action="store_true", help="also the rejected candidates (t, mid-p)")
    parser.add_argument("--compare-studies", type=int, default=50_000, help="null studies per cell for them")
    args = parser.parse_args()
    print(describe())
    print("Lan-DeMets bounds, two-sided alpha 0.05 (alpha/2 per side), equally spaced looks:")
    for spending in ("obf", "pocock"):
        for k in (2, 3, 4, 5):
            bounds = efficacy_bounds([j / k for j in range(1, k + 1)], spending=spending)
            print(f"  {spending:6s} K={k}: " + ", ".join(f"{b:.4f}" for b in bounds))
    mc = math.sqrt(0.05 * 0.95 / args.studies)
    print(f"\n{args.studies} null studies per cell (Monte-Carlo SE of a 5% rate {mc:.5f}), {args.power_studies} at "
          f"{EFFECT:.0%}; {VOTES} votes per participant.")
    print("Cells per participants' SD (logit): type I error (' ' within 2 Monte-Carlo SE of 0.05, '+' above, '-' "
          "below), power at 58%, mean participants at 58%.")
    print(f"  {'plan':31s} {'test':9s} " + "   ".join(f"{'SD ' + str(sd):>24s}" for sd in SDS))
    tests = ("sign-flip", "t", "mid-p") if args.compare else ("sign-flip",)
    for i, (label, plan) in enumerate(plans().items()):
        print(f"  {label}: looks after {', '.join(map(str, plan.looks))} participants"
              + (f"; a fixed design with the same power needs {plan.fixed_participants}; planned E[N] at 58% "
                 f"{plan.expected_effect:.1f}" if plan.expected_effect else ""))
        for test in tests:
            studies = args.studies if test == "sign-flip" else args.compare_studies
            row(f"({studies} null studies)" if test != "sign-flip" else "", plan, test, studies, args.power_studies,
                seed=100 * i)


if __name__ == "__main__":
    main()
