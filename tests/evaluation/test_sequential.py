"""Group-sequential plans: boundaries against published values, error rates by simulation, and
inference that accounts for the looks."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from evaluation.sequential import (
    SequentialPlan,
    analyse_look,
    crossing,
    design,
    drift_for_power,
    efficacy_bounds,
    fixed_plan,
    futility_bounds,
    participant_z,
    simulate,
    spent,
)

from ..conftest import ROOT

EQUAL = {k: [j / k for j in range(1, k + 1)] for k in range(1, 6)}

# Lan-DeMets O'Brien-Fleming-type bounds, two-sided alpha 0.05 (alpha/2 per side), equally spaced
# looks: ldbounds' ldBounds(t, iuse=1, alpha=0.05) (DeMets & Lan 1994, Table 1; the K = 5 row is
# ldbounds' documented example).
OBF = {2: [2.9626, 1.9686], 3: [3.7103, 2.5114, 1.9930], 4: [4.3326, 2.9631, 2.3590, 2.0141],
       5: [4.8769, 3.3569, 2.6803, 2.2898, 2.0310]}
# Pocock-type (iuse=2), the same setting: DeMets & Lan (1994), to two decimals.
POCOCK = {2: [2.16, 2.20], 5: [2.44, 2.43, 2.41, 2.40, 2.39]}


@pytest.mark.parametrize("looks", [2, 3, 4, 5])
def test_obrien_fleming_type_bounds_match_ldbounds(looks):
    assert efficacy_bounds(EQUAL[looks]) == pytest.approx(OBF[looks], abs=1.5e-4)


@pytest.mark.parametrize("looks", [2, 5])
def test_pocock_type_bounds_match_demets_and_lan(looks):
    assert [round(b, 2) for b in efficacy_bounds(EQUAL[looks], spending="pocock")] == POCOCK[looks]


def test_the_one_sided_convention_of_seqbounds_is_the_same_bounds_at_twice_alpha():
    # SeqBounds.jl's README: one-sided alpha 0.05 spent as 2 - 2 Phi(z(0.975)/sqrt(t)) (its grid is coarse).
    assert efficacy_bounds([0.25, 0.5, 0.75, 1.0], alpha=0.10) == pytest.approx([3.74955, 2.53993, 2.01604, 1.72014],
                                                                               abs=2e-4)


def test_one_look_is_the_fixed_test_and_its_drift_the_textbook_one():
    assert efficacy_bounds([1.0]) == pytest.approx([stats.norm.ppf(0.975)], abs=1e-8)
    drift, _ = drift_for_power([1.0], [stats.norm.ppf(0.975)], 0.8)
    assert drift == pytest.approx(stats.norm.ppf(0.975) + stats.norm.ppf(0.8), abs=1e-3)  # the far tail aside


def test_the_exit_probabilities_agree_with_scipys_multivariate_normal():
    """An independent computation: P(no stop before look k) from the joint normal of the z's."""
    t = np.array([0.3, 0.6, 1.0])
    bounds = efficacy_bounds(t, spending="pocock")
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    inside = [1.0]
    for k in range(1, len(t) + 1):
        mvn = stats.multivariate_normal(np.zeros(k), cov[:k, :k])
        c = np.array(bounds[:k])
        inside.append(float(mvn.cdf(c, lower_limit=-c)))
    spent_each = -np.diff(inside)
    expected = np.diff(2 * spent(t, 0.025, "pocock"), prepend=0.0)
    assert spent_each == pytest.approx(expected, abs=2e-5)
    assert crossing(t, bounds, None, 0.0).power == pytest.approx(0.05, abs=1e-9)


def test_non_binding_futility_keeps_the_type_i_error_and_meets_the_last_efficacy_bound():
    t = EQUAL[4]
    bounds = efficacy_bounds(t)
    drift, futility = drift_for_power(t, bounds, 0.9, beta_spending="obf")
    assert futility[-1] == pytest.approx(bounds[-1]) and all(0 <= f <= b for f, b in zip(futility, bounds, strict=True))
    assert crossing(t, bounds, futility, 0.0).power < 0.05  # obeyed, futility only lowers it
    assert crossing(t, bounds, futility, drift).power == pytest.approx(0.9, abs=1e-6)
    assert futility_bounds(t, bounds, drift, 0.1)[0] < futility_bounds(t, bounds, drift, 0.1)[2]


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="spending must be one of obf, pocock, power, not|spending must be one of"):
        efficacy_bounds([0.5, 1.0], spending="haybittle")
    with pytest.raises(ValueError, match="looks must be increasing information fractions"):
        efficacy_bounds([0.6, 0.4, 1.0])
    with pytest.raises(ValueError, match="futility bounds need the effect"):
        fixed_plan(20, 2, futility=True)
    with pytest.raises(ValueError, match="rho must be positive"):
        efficacy_bounds([0.5, 1.0], spending="power", rho=0)


def test_a_stop_at_the_first_look_is_the_fixed_analysis_and_later_stops_pay_for_the_looks():
    plan = fixed_plan(40, 2)
    first = analyse_look(plan, 1, 3.2, 0.6, 0.1 / 3.2)
    assert first.decision == "efficacy" and first.pvalue == pytest.approx(first.naive_pvalue)
    assert first.estimate == pytest.approx(0.6, abs=1e-6)
    assert first.confidence_interval() == pytest.approx((0.6 - 1.96 * 0.1 / 3.2, 0.6 + 1.96 * 0.1 / 3.2), abs=1e-3)
    final = analyse_look(plan, 2, 2.1, 0.57, 0.07 / 2.1)
    assert final.decision == "efficacy" and final.pvalue > final.naive_pvalue  # the looks cost something
    mirrored = analyse_look(plan, 2, -2.1, 0.43, 0.07 / 2.1)
    assert mirrored.pvalue == pytest.approx(final.pvalue) and mirrored.estimate == pytest.approx(1 - final.estimate)
    assert analyse_look(plan, 1, 1.0, 0.53, 0.03).decision == "continue"
    assert analyse_look(plan, 2, 1.0, 0.53, 0.03).decision == "no preference"


def test_a_unanimous_handful_of_participants_gets_the_z_of_its_exact_p_value():
    z, share, per_z = participant_z(np.array([12.0, 12, 12, 12]), np.zeros(4))
    assert share == 1.0 and z == pytest.approx(stats.norm.isf(1 / 16)) and per_z == pytest.approx(0.5 / z)
    twelve, _, _ = participant_z(np.full(12, 12.0), np.zeros(12))
    plan = design(0.58, looks=5, spending="pocock", power=0.9, icc=0.055)
    assert twelve > plan.efficacy[0]  # twelve unanimous participants do stop a study


def test_under_no_preference_with_heterogeneous_participants_the_error_stays_at_alpha():
    """A small version of bench/sequential.py: 4,000 studies, participant effects of SD 0.5 (logit)."""
    plan = design(0.58, looks=5, spending="pocock", power=0.9, icc=0.06)
    sim = simulate(plan, 0.5, studies=4000, votes_per_participant=50, sd_logit=0.5, seed=7)
    assert sim.rejection_rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / sim.studies)
    assert sum(sim.stops) == pytest.approx(sim.rejection_rate)  # without futility, a stop is a rejection


def test_at_the_seeds_effect_the_plan_keeps_its_power_with_fewer_participants_than_a_fixed_design():
    plan = design(0.58, looks=5, spending="pocock", power=0.95, icc=0.06)
    sim = simulate(plan, 0.58, studies=2000, votes_per_participant=50, seed=8)
    fixed = simulate(fixed_plan(plan.fixed_participants, 1), 0.58, studies=2000, votes_per_participant=50, seed=8)
    assert sim.rejection_rate >= fixed.rejection_rate - 0.02  # the same power, within Monte-Carlo error
    assert sim.mean_participants <= 0.7 * plan.fixed_participants


def test_the_plan_round_trips_through_json():
    plan = design(0.58, looks=3, futility=True, icc=0.05)
    again = SequentialPlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan


def test_the_plan_command_prints_one_boundary_per_look_for_scripts():
    done = subprocess.run([sys.executable, "-m", "evaluation", "plan", "--effect", "0.58", "--looks", "5", "--spending",
                           "obf", "--alpha", "0.05", "--format", "json"], cwd=ROOT, capture_output=True, text=True)
    data = json.loads(done.stdout)
    assert len(data["boundaries"]) == 5 == len(data["looks"])
    assert data["boundaries"] == pytest.approx(OBF[5], abs=0.03)  # 307 votes: fractions close to equal
    assert data["convention"] == "two-sided, alpha/2 spent per side"
    bad = subprocess.run([sys.executable, "-m", "evaluation", "plan", "--effect", "0.58", "--looks", "3", "--spending",
                          "haybittle"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice: 'haybittle'" in bad.stderr
