from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.__main__ import main
from evaluation.clustered import participant_level_test
from evaluation.power import exact_power, plan_study
from evaluation.preference import one_sided_participants, preference_test
from evaluation.ranking import holm
from evaluation.render import render, to_dict
from evaluation.report import build_report
from evaluation.sidebias import side_bias
from evaluation.votes import VoteTableError, load_votes, pair_votes

from ..conftest import FIXTURES

SEED = FIXTURES / "seed-study-votes.csv"


def test_the_seed_table_gives_174_against_126_and_its_exact_test():
    report = build_report(str(SEED))
    (c,) = report.comparisons
    assert (c.pooled.votes_a, c.pooled.votes_b) == (174, 126)
    assert c.participants[["votes_a", "votes_b"]].values.tolist() == [[27, 23], [23, 27], [29, 21], [31, 19], [33, 17], [31, 19]]
    assert c.pooled.pvalue == pytest.approx(0.0065602, abs=1e-7)
    assert c.pooled.pvalue == stats.binomtest(174, 300).pvalue
    ci = c.wilson
    assert (round(ci.low, 4), round(ci.high, 4)) == (0.5235, 0.6345)
    exact = stats.binomtest(174, 300).proportion_ci(method="exact")
    assert c.clopper_pearson.low == exact.low and c.clopper_pearson.high == exact.high


def test_the_text_report_shows_the_seeds_figure_7():
    text = render(build_report(str(SEED)), "text")
    assert "174 (58%)" in text and "126 (42%)" in text
    assert "participant_5" in text and "33" in text


def test_one_sided_test_on_request():
    res = preference_test(174, 126, alternative="greater")
    assert res.pvalue == pytest.approx(stats.binomtest(174, 300, alternative="greater").pvalue)
    with pytest.raises(ValueError, match="alternative must be one of"):
        preference_test(1, 1, alternative="bigger")


def test_participant_level_tests_match_scipy_on_the_seed():
    shares = np.array([27, 23, 29, 31, 33, 31]) / 50
    res = participant_level_test(pd.DataFrame({"votes_a": shares * 50, "votes_b": 50 - shares * 50}))
    signs = stats.permutation_test((shares - 0.5,), np.mean, permutation_type="samples", n_resamples=np.inf)
    assert res.pvalue == pytest.approx(signs.pvalue)  # scipy flips the signs of the shares' distances too
    assert res.sign_pvalue == pytest.approx(stats.binomtest(5, 6).pvalue)


def simulate(rng, n_participants=6, n_votes=50, n_images=50, taste_sd=1.0, effect=0.0, left_bias=0.0):
    """Votes of participants with individual taste (a random intercept) and no true preference."""
    rows = []
    for p in range(n_participants):
        taste = rng.normal(0, taste_sd)
        for i in range(n_votes):
            a_left = rng.random() < 0.5
            logit = effect + taste + (left_bias if a_left else -left_bias)
            chose_a = rng.random() < 1 / (1 + np.exp(-logit))
            left, right = ("a", "b") if a_left else ("b", "a")
            rows.append((f"p{p}", f"img{i % n_images}", left, right, "a" if chose_a else "b"))
    return pd.DataFrame(rows, columns=["participant", "image", "left_system", "right_system", "chosen_system"])


def test_clustered_tests_keep_their_false_positive_rate_where_the_pooled_test_does_not():
    rng = np.random.default_rng(0)
    pooled, permutation, runs = 0, 0, 300
    for _ in range(runs):
        df = load_votes(simulate(rng))
        sub = pair_votes(df, "a", "b")
        k = int(sub["chose_a"].sum())
        pooled += preference_test(k, len(sub) - k).pvalue < 0.05
        table = sub.groupby("participant")["chose_a"].agg(votes_a="sum", n="count")
        table["votes_b"] = table["n"] - table["votes_a"]
        permutation += participant_level_test(table).pvalue < 0.05
    assert pooled / runs > 0.3  # far above alpha: individual taste masquerades as a preference
    assert permutation / runs <= 0.05 + 2 * (0.05 * 0.95 / runs) ** 0.5  # exact: at most alpha


def test_side_bias_is_measured_from_left_choices():
    rng = np.random.default_rng(2)
    df = load_votes(simulate(rng, n_participants=10, taste_sd=0.0, left_bias=1.5))
    bias = side_bias(df)
    assert bias.probability > 0.7 and bias.raw_share > 0.7 and bias.pvalue < 1e-6
    assert side_bias(load_votes(SEED)) is None  # the seed did not record sides


def test_a_better_system_shown_more_often_on_the_left_does_not_fake_a_side_bias():
    """Each of 40 participants sees the pair 15 times, the better system (80%) on the left 10 times:
    the raw share of left choices is far from one half, the order effect is not."""
    rng = np.random.default_rng(6)
    rows = []
    for p in range(40):
        for i in range(15):
            good_left = i < 10
            left, right = ("good", "poor") if good_left else ("poor", "good")
            chosen = "good" if rng.random() < 0.8 else "poor"
            rows.append((f"p{p}", f"img{i}", left, right, chosen))
    df = load_votes(pd.DataFrame(rows, columns=["participant", "image", "left_system", "right_system", "chosen_system"]))
    bias = side_bias(df)
    raw = stats.binomtest(bias.left, bias.n).pvalue
    assert bias.raw_share > 0.55 and raw < 1e-4  # the raw share would call it a side bias
    assert bias.pvalue > 0.05 and abs(bias.probability - 0.5) < 0.05
    low, high = bias.interval()
    assert low < 0.5 < high


def test_a_participant_who_always_clicks_one_side_is_flagged_and_honest_ones_are_not():
    rng = np.random.default_rng(4)
    honest = simulate(rng, n_participants=20, taste_sd=1.0)
    clicker = simulate(rng, n_participants=1, taste_sd=0.0)
    clicker["participant"] = "always-right"
    clicker["chosen_system"] = clicker["right_system"]
    df = load_votes(pd.concat([honest, clicker], ignore_index=True))
    table = one_sided_participants(df).set_index("participant")
    assert table.loc["always-right", "left"] == 0 and table.loc["always-right", "n"] == 50
    assert table.loc["always-right", "flagged"]
    assert table["flagged"].sum() == 1  # Holm over 21 participants: no honest one is flagged

    report = build_report(df)
    text = render(report)
    assert "One-sided participants" in text and "always-right (left in 0 of 50" in text
    assert [r["participant"] for r in to_dict(report)["one_sided_participants"]] == ["always-right"]
    assert report.n_votes == 21 * 50  # flagged, not excluded
    strict = build_report(df, exclude_one_sided=True)
    assert strict.n_votes == 20 * 50 and strict.excluded == ["always-right"]
    assert "always-right (left in 0 of 50" in render(strict) and to_dict(strict)["one_sided_excluded"]
    assert one_sided_participants(load_votes(SEED)).empty  # the seed did not record sides


def test_the_review_command_lists_each_participants_checks_from_a_csv(tmp_path, capsys):
    rng = np.random.default_rng(6)
    votes = simulate(rng, n_participants=3, taste_sd=0.0)
    votes.loc[votes["participant"] == "p2", "chosen_system"] = votes["left_system"]
    votes["external_id"] = votes["participant"].map({"p0": "pid-a", "p1": "pid-b", "p2": "pid-c"})
    path = tmp_path / "votes.csv"
    votes.to_csv(path, index=False)
    assert main(["review", str(path), "--format", "csv", "--output", str(tmp_path / "review.csv")]) == 0
    review = pd.read_csv(tmp_path / "review.csv")
    assert review["external_id"].tolist()[0] == "pid-c"  # the one who fails a check comes first
    assert review["one_sided"].tolist() == [True, False, False] and review["votes"].tolist() == [50, 50, 50]
    assert main(["review", str(path), "--max-fail-rate", "2"]) == 2
    assert "max_fail_rate must be in [0, 1], got 2.0" in capsys.readouterr().err


def test_honest_participants_are_rarely_flagged_as_one_sided():
    rng = np.random.default_rng(5)
    flagged = sum(one_sided_participants(load_votes(simulate(rng, taste_sd=1.0)))["flagged"].any() for _ in range(200))
    assert flagged / 200 < 0.08  # Holm keeps the study-wise rate near alpha


def test_three_systems_get_holm_adjusted_pairs_and_bradley_terry_strengths():
    rng = np.random.default_rng(3)
    strength = {"a": 1.0, "b": 0.0, "c": -1.0}
    rows = []
    for p in range(12):
        for i in range(30):
            x, y = rng.choice(list(strength), 2, replace=False)
            win = x if rng.random() < 1 / (1 + np.exp(strength[y] - strength[x])) else y
            rows.append((f"p{p}", f"i{i}", x, y, win))
    df = pd.DataFrame(rows, columns=["participant", "image", "left_system", "right_system", "chosen_system"])
    report = build_report(df, mixed=False, n_boot=100)
    assert len(report.comparisons) == 3
    raw = [c.pooled.pvalue for c in report.comparisons]
    assert [c.holm_pvalue for c in report.comparisons] == holm(raw)
    assert all(c.holm_pvalue >= c.pooled.pvalue for c in report.comparisons)
    table = report.ranking.table()
    assert list(table["system"]) == ["a", "b", "c"]
    assert (table["ci_low"] <= table["strength"]).all() and (table["strength"] <= table["ci_high"]).all()
    assert table.loc[0, "strength"] - table.loc[2, "strength"] == pytest.approx(2.0, abs=0.6)


def test_catch_failures_exclude_a_participant_unless_asked_to_keep_them():
    rows = []
    for p, correct in (("good", 4), ("bad", 1)):
        for i in range(4):
            gt_left = i % 2 == 0
            left, right = ("ground_truth", "foil") if gt_left else ("foil", "ground_truth")
            rows.append((p, f"c{i}", left, right, "ground_truth" if i < correct else "foil", True))
        for i in range(10):
            rows.append((p, f"i{i}", "a", "b", "a", False))
    df = pd.DataFrame(rows, columns=["participant", "image", "left_system", "right_system", "chosen_system", "is_catch"])
    report = build_report(df, mixed=False)
    assert report.excluded == ["bad"]
    assert report.comparisons[0].pooled.n == 10
    assert build_report(df, mixed=False, include_excluded=True).comparisons[0].pooled.n == 20


def test_power_matches_a_brute_force_over_binomtest():
    n, effect = 120, 0.6
    reject = [k for k in range(n + 1) if stats.binomtest(k, n).pvalue <= 0.05]
    assert exact_power(n, effect) == pytest.approx(stats.binom.pmf(reject, n, effect).sum())
    plan = plan_study(0.58, votes_per_participant=50, icc=0.05)
    assert exact_power(plan.votes_independent, 0.58) >= 0.8 > exact_power(plan.votes_independent - 1, 0.58)
    assert plan.participants * 50 >= plan.votes_independent * (1 + 49 * 0.05)


def test_json_has_the_documented_fields():
    data = json.loads(render(build_report(str(SEED)), "json"))
    (c,) = data["comparisons"]
    for key in ("system_a", "system_b", "votes_a", "votes_b", "n", "proportion_a", "pvalue", "ci_low", "ci_high",
                "participants", "participant_level", "mixed_model", "holm_pvalue"):
        assert key in c
    assert set(c["participant_level"]) >= {"permutation_pvalue", "sign_pvalue"}
    assert set(c["mixed_model"]) >= {"estimate", "pvalue"}
    assert data["excluded_participants"] == [] and data["study"]
    assert c["participants"][4] == {"participant": "participant_5", "votes_a": 33, "votes_b": 17}


@pytest.mark.parametrize("fmt", ["markdown", "csv", "html"])
def test_every_format_renders(fmt):
    out = render(build_report(str(SEED)), fmt)
    assert "174" in out or fmt == "csv"
    if fmt == "html":
        assert out.count("data:image/png;base64,") == 2
    if fmt == "csv":
        assert pd.read_csv(__import__("io").StringIO(out))["votes_a"].sum() == 174


def test_a_vote_table_with_a_stray_choice_is_refused_with_the_row():
    df = pd.DataFrame({"participant": ["p"] * 2, "left_system": ["a", "a"], "right_system": ["b", "b"], "chosen_system": ["a", "z"]})
    with pytest.raises(VoteTableError, match="'z' is neither .* row\\(s\\) 3"):
        load_votes(df)
    with pytest.raises(VoteTableError, match="missing column"):
        load_votes(df.drop(columns="participant"))


def test_the_cli_reports_a_csv_and_fails_cleanly_on_a_missing_file(tmp_path, capsys):
    assert main(["report", str(SEED), "--format", "json", "--output", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["comparisons"][0]["votes_a"] == 174
    assert main(["report", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err
    assert main(["plan", "--effect", "0.58"]) == 0
    assert "312 independent votes" in capsys.readouterr().out
    assert to_dict(build_report(str(SEED), mixed=False))["comparisons"][0]["mixed_model"] is None
