"""The mixed model against independent computations: quadrature, known truths, null simulations."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy.special import expit, logsumexp

from evaluation.clustered import mixed_model
from evaluation.glmm import _Model, fit_glmm
from evaluation.votes import load_votes, pair_votes

from .test_statistics import simulate


def quadrature_loglik(y, person, beta, sd, nodes=200):
    """Exact (Gauss-Hermite) marginal log-likelihood of a random-intercept logistic model."""
    x, w = np.polynomial.hermite.hermgauss(nodes)
    u = np.sqrt(2) * sd * x  # (K,)
    total = 0.0
    for p in np.unique(person):
        yp = y[person == p]
        eta = beta + u[:, None]  # (K, n_p)
        ll = (yp * eta - np.logaddexp(0, eta)).sum(1)
        total += logsumexp(ll, b=w / np.sqrt(np.pi))
    return total


def test_laplace_likelihood_and_estimates_match_quadrature_with_one_factor():
    rng = np.random.default_rng(3)
    person = np.repeat(np.arange(30), 50)
    y = (rng.random(1500) < expit(0.3 + rng.normal(0, 0.7, 30)[person])).astype(float)
    model = _Model(y, np.ones((1500, 1)), [person])
    for beta, sd in ((0.3, 0.7), (0.0, 0.3), (0.5, 1.2)):
        laplace = model.laplace(np.array([beta]), np.array([np.log(sd)]))[0]
        # Laplace errs by O(1/n) per participant: well under 0.01 each with 50 votes.
        assert laplace == pytest.approx(quadrature_loglik(y, person, beta, sd), abs=0.01 * 30)
    fit = fit_glmm(y, np.ones((1500, 1)), [person])
    exact = optimize.minimize(lambda t: -quadrature_loglik(y, person, t[0], np.exp(t[1])), [0.0, np.log(0.5)],
                              method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-7})
    assert fit.beta[0] == pytest.approx(exact.x[0], abs=0.01)
    assert fit.sd[0] == pytest.approx(np.exp(exact.x[1]), abs=0.02)


def test_crossed_effects_are_recovered_on_a_large_simulated_study():
    rng = np.random.default_rng(4)
    n_p, n_i, per = 300, 120, 40
    person = np.repeat(np.arange(n_p), per)
    image = rng.integers(0, n_i, n_p * per)
    eta = 0.4 + rng.normal(0, 0.8, n_p)[person] + rng.normal(0, 0.5, n_i)[image]
    y = (rng.random(len(eta)) < expit(eta)).astype(float)
    fit = fit_glmm(y, np.ones((len(y), 1)), [person, image])
    assert fit.converged
    assert fit.beta[0] == pytest.approx(0.4, abs=0.15)
    assert fit.sd[0] == pytest.approx(0.8, abs=0.12) and fit.sd[1] == pytest.approx(0.5, abs=0.12)
    assert 0.03 < np.sqrt(fit.cov_beta[0, 0]) < 0.15


def test_the_mixed_model_keeps_its_false_positive_rate_where_taste_differs():
    rng = np.random.default_rng(1)
    false_positives = sum(
        mixed_model(pair_votes(load_votes(simulate(rng, n_participants=10, taste_sd=1.0)), "a", "b")).pvalue < 0.05
        for _ in range(40)
    )
    assert false_positives <= 5  # about alpha (2 expected); the pooled test is above 30% here


def test_the_mixed_model_finds_a_real_preference_and_reports_both_factors():
    rng = np.random.default_rng(2)
    strong = load_votes(simulate(rng, n_participants=20, taste_sd=0.3, effect=0.8))
    res = mixed_model(pair_votes(strong, "a", "b"))
    assert res.pvalue < 0.001 and res.proportion > 0.6 and res.random_effects == ("participant", "image")


def test_a_left_bias_does_not_leak_into_the_preference():
    rng = np.random.default_rng(5)
    df = load_votes(simulate(rng, n_participants=12, taste_sd=0.2, left_bias=1.2))
    res = mixed_model(pair_votes(df, "a", "b"))
    assert abs(res.estimate) < 0.25


def test_without_images_only_the_participant_factor_is_fitted():
    df = pd.DataFrame({"participant": np.repeat(["p1", "p2", "p3"], 10), "left_system": "a", "right_system": "b",
                       "chosen_system": (["a"] * 7 + ["b"] * 3) * 3})
    res = mixed_model(pair_votes(load_votes(df), "a", "b"))
    assert res.random_effects == ("participant",) and res.sd_image is None
