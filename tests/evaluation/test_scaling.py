"""JOD scaling against pwcmp, Bradley-Terry against independent optimizers, on real and synthetic studies."""
from __future__ import annotations

import json

import choix
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize
from scipy.stats import kendalltau

from evaluation.jod import _Problem, jod_scale, observer_screening, scale_matrix
from evaluation.matrices import comparison_counts
from evaluation.ranking import PRIOR_PRECISION, bradley_terry, fit_strengths, maximum_exists
from harness import pwcmp as oracle
from harness.synthetic import multi_method_votes

from .pwcmp_octave import cases

EXPECTED = json.loads(cases.EXPECTED.read_text())
needs_octave = pytest.mark.skipif(not oracle.available(), reason="Octave or ../shared/anchors/pwcmp is missing")


def test_pwcmps_own_example_gives_one_jod_per_75_percent():
    q, notes = scale_matrix(np.array([[0, 25, 0], [75, 0, 25], [0, 75, 0]]))
    assert q == pytest.approx([-1, 0, 1], abs=1e-4) and notes == []


@pytest.mark.parametrize("prior", ["gaussian", "none"])
def test_the_objectives_gradient_matches_finite_differences(prior):
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 9, (6, 6))
    np.fill_diagonal(counts, 0)
    counts[0, 1], counts[1, 0] = 0, 7  # a unanimous pair
    problem = _Problem(counts, prior)
    x = rng.normal(size=6)
    assert optimize.check_grad(lambda q: problem(q)[0], lambda q: problem(q)[1], x) < 1e-4 * np.linalg.norm(problem(x)[1])


def test_the_tone_mapping_study_scales_as_pwcmp_scaled_it():
    systems, pooled, scenes, groups = cases.tmo_cases()
    assert systems == EXPECTED["systems"]
    for prior in ("gaussian", "none"):
        q, _ = scale_matrix(pooled.total, prior)
        assert q == pytest.approx(EXPECTED["pooled"][prior], abs=0.01)
    for scene, group in zip(scenes, groups, strict=True):
        q, notes = scale_matrix(group.total)
        assert q == pytest.approx(EXPECTED["scenes"][scene], abs=0.01), scene
        assert "unanimous" in " ".join(notes)  # every scene has a pair that all observers agreed on
    result = jod_scale(pooled, reference="tmo_camera", n_boot=0)
    assert result.statistic == pytest.approx(EXPECTED["pooled"]["fix0_tmo_camera"], abs=0.01)
    assert result.table()["system"].iloc[0] == "irawan05"  # the preferred operator tops the scale


def test_pwcmps_special_cases_unanimous_pairs_and_a_disconnected_graph_match_it():
    q, notes = scale_matrix(cases.UNANIMOUS)
    assert q == pytest.approx(EXPECTED["unanimous"], abs=0.01) and "2 compared pair(s) unanimous" in notes[0]
    q, notes = scale_matrix(cases.DISCONNECTED)
    assert q == pytest.approx(EXPECTED["disconnected"], abs=0.01) and "2 disconnected parts" in notes[0]


def test_observer_screening_finds_the_observers_pwcmp_finds():
    systems, _, _, _ = cases.tmo_cases()
    screening = observer_screening(cases.tmo_votes(), systems)
    assert screening.leave_one_out
    assert list(screening.participants) == EXPECTED["observers"]
    assert screening.loglik == pytest.approx(EXPECTED["outliers"]["loglik"], abs=1e-3)
    assert screening.distance == pytest.approx(EXPECTED["outliers"]["distance"], abs=0.01)
    assert sorted(screening.flagged) == ["M02", "bab"]  # the two pwcmp's README excludes


@needs_octave
def test_the_scaling_agrees_with_pwcmp_run_live_in_octave_on_random_studies():
    rng = np.random.default_rng(11)
    matrices = []
    for size in (3, 5, 8):
        truth = rng.normal(0, 1, size)
        counts = rng.binomial(rng.integers(0, 12, (size, size)), 1 / (1 + np.exp(truth[None, :] - truth[:, None])))
        np.fill_diagonal(counts, 0)
        matrices.append(np.triu(counts, 1) + np.triu(rng.integers(0, 6, (size, size)), 1).T)
    for prior in ("gaussian", "none"):
        theirs = oracle.pw_scale(matrices, prior)
        for counts, expected in zip(matrices, theirs, strict=True):
            q, notes = scale_matrix(counts, prior)
            if prior == "none" and any("unanimous" in n for n in notes):
                continue  # without a prior a unanimous distance is wherever an optimizer stops
            assert q == pytest.approx(expected, abs=0.01)


@needs_octave
def test_the_stored_pwcmp_outputs_are_what_pwcmp_gives_today():
    _, pooled, _, groups = cases.tmo_cases()
    (live,) = oracle.pw_scale([pooled.total])
    assert live == pytest.approx(EXPECTED["pooled"]["gaussian"], abs=1e-4)
    loglik, _ = oracle.pw_outlier_analysis(cases.observer_matrices(groups[:2]))
    votes = cases.tmo_votes()
    two_scenes = votes[votes["image"].isin(sorted(votes["image"].unique())[:2])]
    assert observer_screening(two_scenes, pooled.systems).loglik == pytest.approx(loglik, abs=1e-3)


def test_a_large_study_is_screened_against_the_scale_of_everybody():
    systems, _, _, _ = cases.tmo_cases()
    exact = observer_screening(cases.tmo_votes(), systems)
    approximate = observer_screening(cases.tmo_votes(), systems, max_refits=10)
    assert not approximate.leave_one_out
    assert approximate.loglik == pytest.approx(exact.loglik, abs=0.05)  # a participant is 1/18 of each scale
    assert sorted(approximate.flagged) == sorted(exact.flagged)


def test_a_reference_system_sits_at_zero_with_a_point_interval():
    votes, _ = multi_method_votes(n_systems=5, n_pairs=8, n_participants=8, n_images=3, n_votes=800, seed=3)
    counts = comparison_counts(votes)
    ref = counts.systems[2]
    free = jod_scale(counts, n_boot=50)
    fixed = jod_scale(counts, reference=ref, n_boot=50)
    assert fixed.statistic[2] == 0 and fixed.ci_low[2] == fixed.ci_high[2] == 0
    assert fixed.statistic == pytest.approx(free.statistic - free.statistic[2], abs=1e-6)
    assert free.statistic.mean() == pytest.approx(0, abs=1e-9)
    with pytest.raises(ValueError, match="reference 'nope' is not a compared system"):
        jod_scale(counts, reference="nope")


def test_bradley_terry_is_the_maximum_likelihood_fit_two_other_optimizers_find():
    votes, _ = multi_method_votes(n_systems=12, n_pairs=30, n_participants=10, n_images=4, n_votes=3000, seed=5)
    wins = comparison_counts(votes).total
    assert maximum_exists(wins)
    ours = fit_strengths(wins)
    theirs = choix.ilsr_pairwise_dense(wins.astype(float), alpha=0.0, tol=1e-12)  # choix: wins[i, j] = i beat j
    assert ours == pytest.approx(theirs - theirs.mean(), abs=1e-6)
    i, j = np.nonzero(np.triu(wins + wins.T, 1))
    design = np.zeros((len(i), len(wins)))
    design[np.arange(len(i)), i], design[np.arange(len(i)), j] = 1, -1
    glm = sm.GLM(np.column_stack([wins[i, j], wins[j, i]]), design[:, 1:], family=sm.families.Binomial()).fit(tol=1e-12)
    reference = np.concatenate([[0.0], glm.params])
    assert ours == pytest.approx(reference - reference.mean(), abs=1e-6)


def test_a_system_that_wins_every_comparison_is_named_and_kept_finite_by_a_symmetric_prior():
    rows = [("p1", "a", "b", "a")] * 5 + [("p1", "a", "c", "a")] * 5 + [("p1", "b", "c", "b"), ("p1", "b", "c", "c")]
    rows += [(p, x, y, w) for p in ("p2", "p3") for _, x, y, w in rows]
    votes = pd.DataFrame(rows, columns=["participant", "left_system", "right_system", "chosen_system"]).assign(is_catch=False)
    counts = comparison_counts(votes)
    assert not maximum_exists(counts.total)
    result = bradley_terry(counts, n_boot=20)
    assert result.prior and "a won every comparison" in result.notes[0] and str(PRIOR_PRECISION) in result.notes[0]
    assert np.isfinite(result.strengths).all() and result.strengths.mean() == pytest.approx(0, abs=1e-9)
    assert result.table()["system"].iloc[0] == "a"
    # The prior is symmetric: swapping the names of b and c mirrors nothing but their labels.
    assert result.strengths[1] == pytest.approx(result.strengths[2], abs=1e-6)


def test_on_a_large_multi_method_study_both_scales_recover_the_true_order():
    votes, truth = multi_method_votes(n_systems=15, n_pairs=40, n_participants=12, n_images=5, n_votes=6000, seed=2)
    counts = comparison_counts(votes)
    jod = jod_scale(counts, n_boot=100)
    bt = bradley_terry(counts, n_boot=100)
    true = [truth[s] for s in counts.systems]
    assert kendalltau(jod.statistic, true).statistic > 0.85
    assert kendalltau(jod.statistic, bt.strengths).statistic > 0.95
    covered = (jod.ci_low <= np.array(true)) & (np.array(true) <= jod.ci_high)
    assert covered.mean() >= 0.7  # the bootstrap over participants brackets most true scores
    assert ((jod.ci_low <= jod.statistic) & (jod.statistic <= jod.ci_high)).all()


def test_resampling_participants_keeps_their_matrices_whole():
    votes, _ = multi_method_votes(n_systems=4, n_pairs=5, n_participants=3, n_images=2, n_votes=300, seed=1)
    counts = comparison_counts(votes)
    assert counts.per_participant.sum() == 300
    assert (counts.resampled(np.array([2, 0, 1])) == 2 * counts.per_participant[0] + counts.per_participant[2]).all()
    draws = counts.bootstrap(lambda sample: sample.sum(axis=1), 4)
    totals = counts.per_participant.sum(axis=(1, 2))
    possible = {int(totals[a] + totals[b] + totals[c]) for a in range(3) for b in range(3) for c in range(3)}
    assert draws.shape == (4, 4) and set(draws.sum(axis=1).astype(int)) <= possible  # whole participants, 3 draws
    with pytest.raises(ValueError, match="bootstrap resamples must be 0 or more, got -1"):
        counts.bootstrap(lambda sample: None, -1)
