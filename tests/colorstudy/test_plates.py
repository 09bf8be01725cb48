"""The colour-vision plates hide their figure from the dichromat they test, and from lightness alone.

Contrast is CIEDE2000 between the figure's and the background's mean colour. Thresholds
(docs/screening.md): under the plate's dichromat, simulated by Machado et al. (2009), which made
the plate, and by Brettel et al. (1997) and Vienot et al. (1999), which did not, below 3 (a third
of the plate's own dot-to-dot variation, which is about 10); for normal vision above 20.
"""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import colour
import numpy as np
import pytest

from colorstudy import plates
from harness.plates import as_dichromat, contrast, dot_colours, equal_lightness, lab, lightness_auc

SEEDS = range(6)
HIDDEN, SEEN = 3.0, 20.0
@pytest.mark.parametrize("deficiency", plates.DEFICIENCIES)
def test_normal_vision_sees_the_figure_of_every_plate(deficiency):
    for seed in SEEDS:
        plate = plates.make_plate(deficiency, 5, seed)
        assert contrast(equal_lightness(dot_colours(plate)), plate.in_figure) > SEEN


@pytest.mark.parametrize("model", ["brettel", "vienot", "machado"])
@pytest.mark.parametrize("deficiency", plates.DEFICIENCIES)
def test_the_plates_dichromat_cannot_see_its_figure(deficiency, model):
    if model == "machado" and deficiency == "tritan":
        pytest.skip("Machado et al. model tritanomaly by a shift, not tritanopia (colour-science warns of it)")
    for seed in SEEDS:
        plate = plates.make_plate(deficiency, 3, seed)
        assert contrast(as_dichromat(dot_colours(plate), deficiency, model), plate.in_figure) < HIDDEN


def test_the_contrast_test_fails_a_plate_built_on_another_confusion_line():
    """A protan plate seen by a tritan (another confusion line) shows its figure: the thresholds
    tell a right plate from a wrong one."""
    for seed in SEEDS:
        plate = plates.make_plate("protan", 8, seed)
        assert contrast(as_dichromat(dot_colours(plate), "tritan", "brettel"), plate.in_figure) > SEEN


def test_the_plates_own_dot_to_dot_variation_is_far_above_the_hidden_threshold():
    plate = plates.make_plate("deutan", 2, 0)
    background = lab(dot_colours(plate)[~plate.in_figure])
    rng = np.random.default_rng(0)
    pairs = rng.integers(len(background), size=(500, 2))
    spread = np.median(colour.delta_E(background[pairs[:, 0]], background[pairs[:, 1]], method="CIE 2000"))
    assert spread > 3 * HIDDEN


@pytest.mark.parametrize("deficiency", plates.DEFICIENCIES)
def test_lightness_alone_cannot_tell_figure_from_background(deficiency):
    aucs = np.array([lightness_auc(plates.make_plate(deficiency, 6, seed)) for seed in range(24)])
    # One plate's AUC varies by chance (about 0.04 with 70 figure dots); over plates it is 0.5.
    assert abs(aucs.mean() - 0.5) < 0.03
    assert np.all(np.abs(aucs - 0.5) < 0.15)


def test_the_demonstration_plate_is_readable_by_lightness_alone():
    """The lightness check can fail: on the demonstration plate, darker by design, it does."""
    assert lightness_auc(plates.make_plate("demo", 6, 1)) < 0.1


def test_plates_are_seeded_per_participant():
    assert plates.plan(1) == plates.plan(1)
    assert plates.plan(1) != plates.plan(2)
    one, other = plates.make_plate("protan", 5, 1), plates.make_plate("protan", 5, 2)
    assert not np.array_equal(one.centres[:10], other.centres[:10])
    kinds = [entry.kind for entry in plates.plan(7)]
    assert kinds[0] == "demo" and sorted(kinds[1:]) == sorted(plates.DEFICIENCIES * 2)


def test_a_deficiency_is_suspected_when_both_of_its_plates_are_missed():
    answers = [("demo", 5, 5), ("protan", 3, plates.NO_DIGIT), ("protan", 2, 7), ("deutan", 4, 4), ("deutan", 6, 8),
               ("tritan", 9, 9), ("tritan", 0, 0)]
    result = plates.judge(answers)
    assert (result.shown, result.right, result.suspected, result.passed, result.label) == (7, 4, ("protan",), False,
                                                                                           "protan")
    assert plates.judge([("demo", 5, 5), ("protan", 3, 3), ("protan", 2, 7)]).passed
    assert plates.judge([("demo", 5, 2), ("protan", 3, 3)]).label == "demo missed"


@pytest.mark.parametrize("deficiency", plates.DEFICIENCIES)
def test_the_simulation_matrices_are_colour_sciences(deficiency):
    name = {"protan": "Protanomaly", "deutan": "Deuteranomaly", "tritan": "Tritanomaly"}[deficiency]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # colour warns that its tritan model is an approximation
        expected = colour.blindness.matrix_cvd_Machado2009(name, 1.0)
    assert plates.simulation(deficiency) == pytest.approx(expected, abs=1e-12)


def test_the_srgb_transfer_curve_is_colour_sciences():
    linear = np.linspace(-0.1, 1.1, 1001)
    assert plates.encode_srgb(linear) == pytest.approx(colour.models.eotf_inverse_sRGB(np.clip(linear, 0, 1)), abs=1e-12)


def test_making_and_serving_plates_never_imports_colour_science():
    """colour-science slows a web worker that imports it (bench/README.md): the plates carry its matrices."""
    code = ("import sys; from colorstudy import plates\n"
            "[plates.make_plate(e.kind, e.digit, e.seed).png() for e in plates.plan(1)]\n"
            "print('colour' in sys.modules, 'scipy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_a_kind_that_is_not_a_plate_is_named():
    with pytest.raises(ValueError, match="kind must be one of demo, protan, deutan, tritan, got 'red'"):
        plates.make_plate("red", 5, 1)
