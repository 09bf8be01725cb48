"""The mixed model under separation: candidate remedies side by side, on simulated and real votes.

A pair that people agree on, with each image seen once or twice, drives the maximum-likelihood
fit of the crossed-random-effects logistic regression to the edge of its parameter space: the
image standard deviation and the intercept run off together along a ridge of the likelihood, and
the Wald test (estimate over standard error) loses all its power there (Hauck & Donner 1977).
The candidates:

- ``ml-wald``: maximum likelihood, Wald z test (lme4's ``summary``);
- ``ml-lrt``: maximum likelihood, likelihood-ratio test of the intercept (lme4's ``anova``);
- ``drop-image``: maximum likelihood and Wald, the image factor left out when a pair's images are
  seen fewer than three times on average;
- ``prior-wald``: a gamma(2, 0.5) prior on each standard deviation (blme's ``cov.prior``), Wald;
- ``prior-lrt``: the same prior, likelihood-ratio test.

For each: the type I error over null studies (no preference, individual taste, image effects),
the share of lopsided studies it calls significant, the share of fits that ran to a bound, and
the p-values on the real tone-mapping study's pairs.

    .venv/bin/python bench/mixed_model.py [--runs 1000]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cpu import describe  # noqa: E402
from evaluation.glmm import SDPrior, fit_glmm  # noqa: E402
from evaluation.votes import load_votes, oriented, votes_by_pair  # noqa: E402

PRIOR = SDPrior(2.0, 0.5)
FIXED_SD = 2.5  # blme's fixef.prior = normal(sd = 2.5) on the fixed effects (Gelman et al. 2008's scale)
TMO = Path(__file__).resolve().parents[1] / "fixtures" / "tmo" / "tmo_cmp_data.csv"


def simulated(rng, n_participants, votes_each, n_images, share_logit, taste_sd, image_sd):
    """(y, x, participant codes, image codes) of one pair: each participant sees ``votes_each``
    distinct images, sides at random."""
    taste = rng.normal(0, taste_sd, n_participants)
    effect = rng.normal(0, image_sd, n_images)
    person = np.repeat(np.arange(n_participants), votes_each)
    image = np.concatenate([rng.choice(n_images, votes_each, replace=n_images < votes_each)
                            for _ in range(n_participants)])
    a_left = rng.random(len(person)) < 0.5
    y = (rng.random(len(person)) < expit(share_logit + taste[person] + effect[image])).astype(float)
    return y, a_left.astype(float), person, image


def design(a_left):
    return np.column_stack([np.ones(len(a_left))] + ([a_left - a_left.mean()] if np.ptp(a_left) > 0 else []))


def satterthwaite(variance, sds, sizes):
    """Degrees of freedom of the intercept's variance as the sum of each factor's share (sd^2 / its
    groups, with groups - 1 df) and the votes' binomial rest (many df)."""
    parts = [sd**2 / n for sd, n in zip(sds, sizes, strict=True)]
    rest = max(variance - sum(parts), 0.0)
    return (sum(parts) + rest) ** 2 / sum(p**2 / (n - 1) for p, n in zip(parts, sizes, strict=True))


def candidate(name, y, a_left, person, image):
    """(p-value, ran to a bound) of one candidate on one pair; (nan, True) when it gives no test."""
    if y.min() == y.max() or len(np.unique(person)) < 2:
        return float("nan"), True
    x = design(a_left)
    codes = [pd.factorize(person)[0], pd.factorize(image)[0]]
    if name == "drop-image" and len(y) / len(np.unique(image)) < 3:
        codes = codes[:1]
    prior = PRIOR if name.startswith("prior") else None
    fixed_sd = FIXED_SD if name.startswith("prior2") else None
    fit = fit_glmm(y, x, codes, prior, fixed_sd)
    if "lrt" in name:
        null = fit_glmm(y, x[:, 1:], codes, prior, fixed_sd)
        statistic = max(0.0, 2 * (fit.loglik - null.loglik))
        if name.endswith("-t"):  # the signed root against Student's t with the participants' degrees of freedom
            return float(2 * stats.t.sf(math.sqrt(statistic), len(np.unique(person)) - 1)), fit.at_bound
        return float(stats.chi2.sf(statistic, 1)), fit.at_bound
    variance = fit.cov_beta[0, 0]
    if not np.isfinite(variance) or variance <= 0:
        return float("nan"), True
    z = abs(fit.beta[0]) / math.sqrt(variance)
    if name.endswith("-t"):  # Student's t with the participants' degrees of freedom (between-within)
        return float(2 * stats.t.sf(z, len(np.unique(person)) - 1)), fit.at_bound
    if name.endswith("-tm"):  # ... with the participants' or the images' degrees of freedom, the fewer
        groups = min(len(np.unique(person)), len(np.unique(image)) if len(codes) == 2 else len(person))
        return float(2 * stats.t.sf(z, groups - 1)), fit.at_bound
    if name.endswith("-ts"):  # ... Welch-Satterthwaite over the two factors' shares of the variance
        sizes = [len(np.unique(c)) for c in codes]
        return float(2 * stats.t.sf(z, satterthwaite(variance, fit.sd, sizes))), fit.at_bound
    return float(2 * stats.norm.sf(z)), fit.at_bound


NAMES = ("ml-wald", "ml-lrt", "drop-image", "prior-wald-t", "prior-lrt-t", "prior2-wald-t", "prior2-wald-tm")
SCENARIOS = {  # participants, votes each, images, taste SD, image SD
    "seed-like: 6 x 50 votes, 50 images": (6, 50, 50, 1.0, 0.5),
    "demo-like: 14 x 3 votes, 32 images": (14, 3, 32, 1.0, 1.5),
    "12 x 4 votes, 24 images": (12, 4, 24, 1.0, 1.0),
    "16 x 20 votes, 32 images": (16, 20, 32, 1.0, 1.0),
    "30 x 8 votes, 8 images": (30, 8, 8, 0.5, 1.0),
}


def run(label, args, runs, share_logit, seed):
    rng = np.random.default_rng(seed)
    rejected = {n: 0 for n in NAMES}
    bound = {n: 0 for n in NAMES}
    start = time.perf_counter()
    for _ in range(runs):
        data = simulated(rng, *args[:3], share_logit, *args[3:])
        for name in NAMES:
            p, at_bound = candidate(name, *data)
            rejected[name] += bool(p < 0.05)
            bound[name] += bool(at_bound)
    cells = "  ".join(f"{rejected[n] / runs:6.3f} ({bound[n] / runs:4.2f})" for n in NAMES)
    print(f"  {label:38s} {cells}   {time.perf_counter() - start:4.0f} s")


def real_study():
    path = TMO
    df = load_votes(path)
    print(f"  {path.name}: {len(df)} votes, {df['participant'].nunique()} participants, {df['image'].nunique()} scenes")
    differ = 0
    for (a, b), votes in votes_by_pair(df).items():
        pair = oriented(votes, a)
        data = (pair["chose_a"].to_numpy(float), pair["a_left"].to_numpy(float),
                pair["participant"].to_numpy(), pair["image"].to_numpy())
        ps = [candidate(n, *data)[0] for n in NAMES]
        verdicts = {p < 0.05 for p in ps if np.isfinite(p)}
        differ += len(verdicts) > 1
        print(f"  {a:>11s} vs {b:11s} n={len(pair):3d} share {pair['chose_a'].mean():.2f}  "
              + "  ".join(f"{p:8.2g}" for p in ps))
    print(f"  pairs whose significance at 0.05 differs between candidates: {differ}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--only", nargs="*", help="candidates to run (default: all)")
    parser.add_argument("--scenario", nargs="*", help="scenarios (label prefixes) to run (default: all)")
    args = parser.parse_args()
    global NAMES, SCENARIOS
    NAMES = tuple(args.only) if args.only else NAMES
    if args.scenario:
        SCENARIOS = {k: v for k, v in SCENARIOS.items() if any(k.startswith(s) for s in args.scenario)}
    print(describe())
    print(f"{args.runs} simulated pairs per row; cells: share with p < 0.05 (share of fits at a bound)")
    print(f"  {'':38s} " + "  ".join(f"{n:>13s}" for n in NAMES))
    print("no preference (type I error; Monte-Carlo SE of 5%: "
          f"{math.sqrt(0.05 * 0.95 / args.runs):.4f}):")
    for i, (label, scenario) in enumerate(SCENARIOS.items()):
        run(label, scenario, args.runs, 0.0, seed=i)
    for logit in (2.0, 3.0):
        print(f"a clear preference (typical log-odds {logit:g}; about {0.83 if logit == 2 else 0.9:.0%} of the votes):")
        for i, (label, scenario) in enumerate(SCENARIOS.items()):
            if scenario[1] <= 4:
                run(label, scenario, args.runs, logit, seed=100 + i + int(10 * logit))
    print("a moderate preference (log-odds 0.5, about 61%):")
    for i, (label, scenario) in enumerate(SCENARIOS.items()):
        run(label, scenario, args.runs, 0.5, seed=200 + i)
    print("the real tone-mapping study, p-value of each pair (" + ", ".join(NAMES) + "):")
    real_study()


if __name__ == "__main__":
    main()
