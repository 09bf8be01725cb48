"""The exact sign-flip test of participants' shares: against enumeration of every sign pattern,
and the same z wherever a look is taken."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.clustered import participant_level_test
from evaluation.sequential import design, participant_z, simulate, simulated_z
from evaluation.signflip import sign_flip_test, upper_tails


def enumerated(votes_a, votes):
    """P-values of the sign-flip test by listing all 2**n sign patterns of the shares' distances."""
    x = votes_a / votes - 0.5
    sums = np.array([np.dot(signs, np.abs(x)) for signs in itertools.product([-1, 1], repeat=len(x))])
    t, eps = x.sum(), 1e-12
    return {"greater": np.mean(sums >= t - eps), "less": np.mean(sums <= t + eps),
            "two-sided": min(1.0, np.mean(np.abs(sums) >= abs(t) - eps))}


def test_the_p_values_equal_those_of_every_sign_pattern_listed():
    rng = np.random.default_rng(1)
    for _ in range(150):
        n = int(rng.integers(1, 10))
        votes = rng.integers(1, 13, n)  # unequal numbers of votes: the lattice is their common multiple
        votes_a = rng.binomial(votes, 0.62)
        expected = enumerated(votes_a, votes)
        for alternative, p in expected.items():
            assert sign_flip_test(votes_a, votes - votes_a, alternative).pvalue == pytest.approx(p, abs=1e-12)


def test_unanimous_participants_get_exactly_the_probability_of_their_sign_pattern():
    for n in (3, 4, 8, 12):
        result = sign_flip_test([5] * n, [0] * n)
        assert result.pvalue == pytest.approx(2 / 2**n)
        assert result.z == pytest.approx(stats.norm.isf(1 / 2**n))
    # four unanimous participants cannot reach 5%, whatever a t test with a floored variance says
    assert sign_flip_test([12] * 4, [0] * 4).pvalue == 0.125


def test_a_study_whose_lattice_is_too_fine_is_tested_on_rounded_distances_and_says_so():
    rng = np.random.default_rng(2)
    votes = rng.integers(30, 90, 60)  # 60 participants with 60 different list lengths
    votes_a = rng.binomial(votes, 0.51)
    result = sign_flip_test(votes_a, votes - votes_a)
    assert not result.exact_lattice
    # the same as 400,000 random sign patterns of the unrounded distances, within their Monte-Carlo error
    x = votes_a / votes - 0.5
    signs = rng.choice([-1.0, 1.0], (400_000, len(x)))
    sampled = np.mean(np.abs(signs @ x) >= abs(x.sum()) - 1e-12)
    assert 0.005 < result.pvalue < 0.6
    assert result.pvalue == pytest.approx(sampled, abs=4 * math.sqrt(sampled * (1 - sampled) / 400_000))


def test_the_simulation_the_report_and_the_site_compute_the_same_z():
    rng = np.random.default_rng(3)
    counts = rng.binomial(50, rng.uniform(0.3, 0.8, (40, 12)))
    looks = [4, 8, 12]
    batch = simulated_z(counts, 50, looks)
    for study, row in zip(counts, batch, strict=True):
        for j, n in enumerate(looks):
            z, share, _ = participant_z(study[:n], 50 - study[:n])
            assert row[j] == pytest.approx(z, abs=1e-9) and share == pytest.approx(study[:n].mean() / 50)
            table = pd.DataFrame({"votes_a": study[:n], "votes_b": 50 - study[:n]})
            p = participant_level_test(table).pvalue
            assert p == pytest.approx(min(1.0, 2 * stats.norm.sf(abs(z))), abs=1e-9) or z == 0


def test_the_batch_convolution_gives_each_studys_tails_at_each_look():
    m = np.array([[3, -1, 2, 0], [1, 1, 1, 1]])
    tails = upper_tails(m, [1, 2, 4])
    assert tails[0].tolist() == pytest.approx([0.5, 0.5, 0.25])  # 3 of +-3; 2 of +-3+-1; 4 of +-3+-1+-2+-0
    assert tails[1].tolist() == pytest.approx([0.5, 0.25, 1 / 16])


def test_where_participants_differ_a_lot_the_plan_keeps_alpha_where_the_t_test_does_not():
    """A small version of bench/sequential.py: the Pocock-like plan of the seed's effect, first look
    after 8 participants, participants' SD 1.0 (logit); 20,000 null studies."""
    plan = design(0.58, looks=5, spending="pocock", power=0.9, icc=0.055)
    assert plan.looks[0] == 8
    exact = simulate(plan, 0.5, studies=20_000, sd_logit=1.0, seed=11)
    old = simulate(plan, 0.5, studies=20_000, sd_logit=1.0, seed=11, test="t")
    assert exact.rejection_rate <= 0.05 + 2 * exact.monte_carlo_error
    assert old.rejection_rate > 0.05 + 2 * old.monte_carlo_error  # the excess the sign-flip test removes
