"""Verdicts name the system chosen in the majority, in every format, on data where system_a loses."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from evaluation import wording
from evaluation.__main__ import main
from evaluation.render import render
from evaluation.report import build_report, conclude, significance_matrix
from evaluation.votes import VoteTableError, load_votes

from .pwcmp_octave import cases

CHOSEN = re.compile(r"(\S+) was chosen over (\S+) in ([\d.]+)% of (\d+) votes")


def _losing_first(n_participants=8, share_for_b=0.75, seed=0) -> pd.DataFrame:
    """Two systems, 'alpha' named first (system_a) and preferred by nobody: 'beta' wins."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_participants):
        for i in range(30):
            left, right = ("alpha", "beta") if i % 2 else ("beta", "alpha")
            rows.append((f"p{p}", f"img{i}", left, right, "beta" if rng.random() < share_for_b else "alpha"))
    return pd.DataFrame(rows, columns=["participant", "image", "left_system", "right_system", "chosen_system"])


def test_every_verdict_on_the_tone_mapping_study_names_the_system_chosen_more_often():
    report = build_report(cases.TMO, mixed=False, n_boot=50)
    assert len(report.comparisons) == 21
    losers_first = 0
    for c, text in zip(report.comparisons, wording.verdicts(report), strict=True):
        winner, loser, share, n = CHOSEN.match(text).groups()
        votes = {c.pooled.system_a: c.pooled.votes_a, c.pooled.system_b: c.pooled.votes_b}
        assert votes[winner] >= votes[loser] and float(share) >= 50 and int(n) == c.pooled.n
        for phrase in ("preference for ", "favours "):
            for named in re.findall(phrase + r"(\S+?)[ ,.]", text):
                assert named == winner, text
        losers_first += c.pooled.votes_a < c.pooled.votes_b
    assert losers_first >= 5  # the data really has system_a losing, the case the old report got wrong
    irawan = next(v for v in wording.verdicts(report) if v.startswith("irawan05 was chosen over ferwerda96"))
    assert "69.8% of 53 votes" in irawan and "preference for irawan05" in irawan


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_when_system_a_loses_every_format_names_system_b(fmt):
    report = build_report(_losing_first(), order=["alpha", "beta"], mixed=False, n_boot=50)
    (c,) = report.comparisons
    assert (c.pooled.system_a, c.leader) == ("alpha", "beta")
    out = render(report, fmt)
    assert "preference for beta holds" in out and "preference for alpha" not in out
    assert "beta was chosen over alpha" in out and "alpha was chosen over beta" not in out
    share = float(CHOSEN.search(out).group(3))
    assert share == pytest.approx(100 * c.pooled.votes_b / c.pooled.n, abs=0.05)
    if fmt == "json":
        data = json.loads(out)
        assert data["comparisons"][0]["preferred"] == "beta" and data["comparisons"][0]["conclusion"] == "holds"
        assert data["jod"][0]["system"] == "beta" and data["jod"][0]["jod"] > 0


def test_a_clustered_analysis_pointing_the_other_way_is_a_disagreement_not_support():
    # One participant votes 'alpha' 200 times; eleven others each prefer 'beta' 7 to 3.
    rows = [("fan", f"i{i}", "alpha", "beta", "alpha") for i in range(200)]
    for p in range(11):
        rows += [(f"p{p}", f"i{i}", "alpha", "beta", "beta" if i < 7 else "alpha") for i in range(10)]
    votes = pd.DataFrame(rows, columns=["participant", "image", "left_system", "right_system", "chosen_system"])
    report = build_report(votes, mixed=False, n_boot=0)
    (c,) = report.comparisons
    conclusion = conclude(c, 0.05, several=False)
    assert c.leader == "alpha" and c.pooled.pvalue < 0.05
    assert conclusion.level == "disagree" and "sign test" in conclusion.against
    text = render(report, "text")
    assert "the analyses disagree" in text and "point(s) significantly to beta" in text
    assert "preference for alpha" not in text and not conclusion.significant


def test_the_significance_matrix_reads_in_the_direction_of_the_winner():
    report = build_report(cases.TMO, mixed=False, n_boot=50)
    matrix = significance_matrix(report)
    assert matrix.loc["irawan05", "hateren06"] == ">" and matrix.loc["hateren06", "irawan05"] == "<"
    assert matrix.loc["irawan05", "ferwerda96"].startswith(">")
    assert list(matrix.index)[0] == "irawan05" and list(matrix.index)[-1] == "hateren06"  # ranking order


def test_with_many_systems_the_text_leads_with_the_ranking_and_leaves_the_tables_to_the_detail():
    from harness.synthetic import multi_method_votes

    votes, _ = multi_method_votes(n_systems=9, n_pairs=14, n_participants=6, n_images=3, n_votes=1400, seed=4)
    report = build_report(votes, mixed=False, n_boot=20)
    text = render(report, "text")
    assert text.index("== Ranking ==") < text.index("== Significance of every pair ==") < text.index(" vs ")
    assert "In total" not in text and "csv, json and html" in text
    assert render(report, "html").count("<details>") == 14
    assert len(json.loads(render(report, "json"))["comparisons"][0]["participants"]) >= 1


def test_pwcmps_long_format_is_read_with_observers_as_participants_and_scenes_as_images():
    df = load_votes(cases.TMO)
    assert len(df) == 1213 and df["participant"].nunique() == 18 and df["image"].nunique() == 5
    assert not df.attrs["sides_known"]  # condition_A and condition_B are not screen sides
    raw = pd.read_csv(cases.TMO)
    assert (df["chosen_system"] == raw["condition_A"].where(raw["is_A_selected"] == 1, raw["condition_B"])).all()


def test_a_table_in_neither_format_is_refused_naming_the_columns_expected_and_found(tmp_path, capsys):
    path = tmp_path / "votes.csv"
    pd.DataFrame({"system_a": ["x"], "system_b": ["y"], "chosen_system": ["x"]}).to_csv(path, index=False)
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert "missing column(s) ['participant']" in err and "is_A_selected" in err
    assert "found ['system_a', 'system_b', 'chosen_system']" in err and err.count("\n") == 1
    with pytest.raises(VoteTableError, match="is_A_selected must be true/false, got 'maybe'"):
        load_votes(pd.DataFrame({"observer": ["o"], "condition_A": ["x"], "condition_B": ["y"], "is_A_selected": ["maybe"]}))


def test_the_cli_reports_the_tone_mapping_study_in_jod_with_a_reference_and_per_scene(tmp_path):
    out = tmp_path / "r.json"
    assert main(["report", str(cases.TMO), "--no-mixed", "--bootstrap", "40", "--reference", "tmo_camera",
                 "--by-image", "--format", "json", "--output", str(out)]) == 0
    data = json.loads(out.read_text())
    jod = {r["system"]: r for r in data["jod"]}
    assert jod["tmo_camera"]["jod"] == 0 and jod["irawan05"]["ci_low"] <= jod["irawan05"]["jod"] <= jod["irawan05"]["ci_high"]
    assert data["jod_scale"] == {"sigma": 1.4826, "prior": "gaussian", "reference": "tmo_camera", "bootstrap": 40}
    assert {r["image"] for r in data["jod_by_image"]} == {"corridor", "exhibition", "rivoli", "students", "window"}
    assert [r["participant"] for r in data["observer_screening"] if r["flagged"]] == ["bab", "M02"]
    assert data["bradley_terry"][0]["system"] == "irawan05"


def test_excluding_outliers_leaves_out_the_participants_pwcmp_flags():
    report = build_report(cases.TMO, mixed=False, n_boot=0, exclude_outliers=True)
    assert set(report.excluded) == {"bab", "M02"} and report.n_participants == 16
    assert "Observer screening (pwcmp's outlier analysis, distance above 1.5; excluded): bab" in render(report)


def test_the_scale_command_goes_from_pwcmps_csv_to_a_plotted_jod_scale(tmp_path, capsys):
    plot = tmp_path / "jod.png"
    assert main(["scale", str(cases.TMO), "--bootstrap", "30", "--plot", str(plot)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["system", "jod", "ci_low", "ci_high"] and lines[1].split()[0] == "irawan05"
    assert float(lines[1].split()[1]) == pytest.approx(cases_expected_irawan(), abs=0.01)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000


def cases_expected_irawan() -> float:
    expected = json.loads(cases.EXPECTED.read_text())
    return expected["pooled"]["gaussian"][expected["systems"].index("irawan05")]


def test_the_reports_small_print_is_right_for_one_participant_and_few_votes():
    rows = [("solo", f"img{i}", "alpha", "beta", "beta" if i < 6 else "alpha") for i in range(8)]
    rows.append(("solo", "img-none", "beta", "alpha", "alpha"))  # an image where the leader got no vote
    votes = pd.DataFrame(rows, columns=["participant", "image", "left_system", "right_system", "chosen_system"])
    report = build_report(votes, n_boot=20)
    text = render(report, "text")
    assert "Counting the one participant:" in text and "each of the 1 participants" not in text
    assert "Only one participant voted" in text and "a single point" in text
    assert "No mixed model: 9 votes, fewer than the 10 it needs." in text
    assert "The mixed model was left out of 1 of 1 comparison(s)" in text
    top = next(line for line in text.splitlines() if line.startswith("Images most in favour of beta"))
    assert "img-none" not in top and "img0 (1 of 1)" in top


def test_pairs_follow_the_researchers_order_and_the_html_leads_with_the_ranking():
    rng = np.random.default_rng(7)
    rows = []
    for p in range(6):
        for i in range(40):
            x, y = rng.choice(["zeta", "alpha", "mid"], 2, replace=False)
            rows.append((f"p{p}", f"i{i % 10}", x, y, x if rng.random() < 0.5 else y))
    votes = pd.DataFrame(rows, columns=["participant", "image", "left_system", "right_system", "chosen_system"])
    report = build_report(votes, order=["zeta", "mid", "alpha"], mixed=False, n_boot=20)
    assert [(c.pooled.system_a, c.pooled.system_b) for c in report.comparisons] == [
        ("zeta", "mid"), ("zeta", "alpha"), ("mid", "alpha")]
    page = render(report, "html")
    assert page.index("<h2>Ranking</h2>") < page.index("<h2>Every pair</h2>")
    assert "Bradley-Terry: log-odds strengths, mean 0" in page  # the scale's zero is said, not shown as 0.000
    import base64
    import io

    from PIL import Image
    charts = [Image.open(io.BytesIO(base64.b64decode(src))) for src in re.findall(r"data:image/png;base64,([^']+)", page)]
    assert len(charts) == 1 + 3 * 3 and all(c.width > 300 for c in charts)  # the scale, then 3 charts per pair
    assert page.count("alt='zeta vs mid'") == 3 and "alt='JOD scale with intervals'" in page


def test_a_stray_value_in_pwcmps_numeric_choice_column_is_named_with_its_row(tmp_path):
    rows = ["observer,scene,condition_A,condition_B,is_A_selected"]
    rows += [f"o{i % 3},s1,a,b,{i % 2}" for i in range(240)]
    rows[5] = "o1,s1,a,b,0.7"  # spreadsheet row 6 (the header is row 1)
    path = tmp_path / "pwcmp.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(VoteTableError) as refused:
        load_votes(path)
    assert str(refused.value) == f"{path}: is_A_selected must be true/false or 1/0, got 0.7 in row(s) 6"
    rows[5] = "o1,s1,a,b,1"
    path.write_text("\n".join(rows) + "\n")
    assert len(load_votes(path)) == 240  # whole numbers read as floats are fine
