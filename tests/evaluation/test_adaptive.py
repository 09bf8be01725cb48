"""The adaptive scheduler: its posterior agrees with the JOD scale, its pairs go where the scores are
uncertain, it is deterministic, and (a small version of bench/adaptive.py) it beats the balanced design."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from evaluation.adaptive import (
    balanced_efficiency,
    information_gains,
    optimal_allocation,
    posterior,
    rmse,
    schedule,
    scores,
    variance_reductions,
)
from evaluation.jod import jod_scale
from evaluation.matrices import comparison_counts
from evaluation.votes import load_votes

from .pwcmp_octave.cases import TMO


def test_the_posterior_mean_is_pwcmps_jod_scale_on_a_real_study():
    counts = comparison_counts(load_votes(TMO))
    wins = counts.total
    ours = scores(wins, prior_sd=50.0)  # a flat prior: the maximum likelihood pwcmp computes without its prior
    theirs = jod_scale(counts, prior="none", n_boot=0).statistic
    assert ours == pytest.approx(theirs - np.mean(theirs), abs=0.01)


def test_a_close_uncertain_pair_is_worth_more_than_an_obvious_or_well_measured_one():
    wins = np.zeros((4, 4))
    wins[0, 1], wins[1, 0] = 40, 40  # 0 and 1: measured often, equal
    wins[2, 3], wins[3, 2] = 58, 2  # 2 far above 3: obvious
    wins[1, 2], wins[2, 1] = 3, 3  # 1 and 2: close, barely measured
    post = posterior(wins)
    for worth in (variance_reductions(post), information_gains(post)):
        assert worth[1, 2] > worth[0, 1] and worth[1, 2] > worth[2, 3]


def test_a_list_is_a_function_of_the_votes_and_each_batch_spans_every_system():
    wins = np.random.default_rng(1).integers(0, 9, (6, 6)).astype(float)
    np.fill_diagonal(wins, 0)
    first, again = schedule(wins, 12), schedule(wins.copy(), 12)
    assert first == again and len(first) == 12
    tree = first[:5]  # the first batch: a spanning tree of the 6 systems
    reached, frontier = {0}, [0]
    while frontier:
        node = frontier.pop()
        for a, b in tree:
            for x, y in ((a, b), (b, a)):
                if x == node and y not in reached:
                    reached.add(y)
                    frontier.append(y)
    assert reached == set(range(6))


def test_bad_requests_are_refused_by_name():
    with pytest.raises(ValueError, match="three or more systems"):
        schedule(np.zeros((2, 2)), 3)
    with pytest.raises(ValueError, match="criterion must be one of variance, information"):
        schedule(np.zeros((3, 3)), 3, criterion="entropy")


def _simulate(design: str, truth: np.ndarray, participants: int, trials: int, rng) -> float:
    from scipy import stats

    from evaluation.jod import SIGMA

    s = len(truth)
    pairs_all = list(itertools.combinations(range(s), 2))
    order = [pairs_all[k] for k in rng.permutation(len(pairs_all))]
    wins, dealt = np.zeros((s, s)), 0
    for _ in range(participants):
        if design == "balanced":
            pairs = [order[(dealt + k) % len(order)] for k in range(trials)]
            dealt += trials
        else:
            pairs = schedule(wins, trials)
        observer = truth + rng.normal(0, 0.3, s)
        for i, j in pairs:
            if rng.random() < stats.norm.cdf((observer[i] - observer[j]) / SIGMA):
                wins[i, j] += 1
            else:
                wins[j, i] += 1
    return rmse(scores(wins), truth)


def test_with_many_systems_the_adaptive_design_estimates_the_scores_better_for_the_same_votes():
    errors = {"balanced": [], "adaptive": []}
    for run in range(6):
        truth = np.random.default_rng(50 + run).normal(0, 2.0, 16)
        for design in errors:
            errors[design].append(_simulate(design, truth, 20, 30, np.random.default_rng([run, len(design)])))
    assert np.mean(errors["adaptive"]) < 0.9 * np.mean(errors["balanced"])


def test_the_optimal_allocation_has_the_smallest_total_variance_scipy_finds():
    from scipy.optimize import minimize

    from evaluation.adaptive import _every_pair, _total_variance

    truth = np.array([-1.5, -0.2, 0.4, 2.6])
    pairs, incidence, fisher = _every_pair(truth)
    _, shares = optimal_allocation(truth)

    def total(x):
        return _total_variance(incidence, fisher, np.abs(x) / np.abs(x).sum())

    best = minimize(total, np.full(len(pairs), 1 / len(pairs)), method="Nelder-Mead",
                    options={"maxiter": 20000, "xatol": 1e-10, "fatol": 1e-12})
    assert shares.sum() == pytest.approx(1.0) and shares.min() >= 0
    assert total(shares) <= best.fun * (1 + 1e-4)


def test_far_apart_systems_are_best_compared_with_their_neighbours_and_equal_ones_evenly():
    pairs, shares = optimal_allocation(np.arange(6) * 3.0)  # a line, 3 JOD apart
    neighbours = sum(share for (i, j), share in zip(pairs, shares, strict=True) if j == i + 1)
    assert neighbours > 0.9
    assert balanced_efficiency(np.arange(6) * 3.0) < 0.5
    _, even = optimal_allocation(np.zeros(6))
    assert even == pytest.approx(np.full(15, 1 / 15))


def test_on_a_real_studys_scale_an_optimal_design_saves_little_over_the_balanced_one():
    """The tone-mapping study's seven operators span 2.4 JOD: the A-optimal design, knowing their
    scores, needs 0.98 of the balanced design's votes in the large-sample limit. The savings come
    from wide spreads."""
    truth = jod_scale(comparison_counts(load_votes(TMO)), n_boot=0).statistic
    assert 0.95 < balanced_efficiency(truth) <= 1.0
    assert balanced_efficiency(np.linspace(0, 12, 8)) < 0.6  # eight systems spread over 12 JOD
