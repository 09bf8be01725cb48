"""engine auto: the fastest engine within 2 ab units of fp32, measured once per model and CPU."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import torch
from PIL import Image

from colorcore.colorizer import network_lightness
from colorcore.data import list_images
from colorcore.errors import ColorcoreError
from colorcore.factory import first_photos, make_colorizer
from colorcore.infer import colorize_path
from colorcore.selection import TOLERANCE, Candidate, cpu_signature, pick, split_photos

from ..conftest import FIXTURES, ROOT

FACES = FIXTURES / "lfw-test-sample"


@pytest.fixture(scope="module")
def faces() -> list[Image.Image]:
    return first_photos(list_images(FACES), 12)


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "ce.pt"  # a copy: the choice is cached beside the model
    shutil.copy(FIXTURES / "models" / "cross-entropy-w025.pt", path)
    return path


def test_the_fastest_candidate_over_the_tolerance_is_passed_over():
    measured = [Candidate("torch", "fp32", 500.0, 0.0), Candidate("torch", "int8", 240.0, TOLERANCE + 0.5),
                Candidate("onnxruntime", "fp32", 480.0, 0.01), Candidate("torch", "bf16", note="left out: emulated")]
    assert (pick(measured).engine, pick(measured).precision) == ("onnxruntime", "fp32")
    assert not measured[1].accepted and not measured[3].accepted


def test_held_out_photos_are_never_calibration_photos(faces):
    calibration, held = split_photos(faces)
    assert len(held) == 4 and len(calibration) == 8
    assert not {id(im) for im in held} & {id(im) for im in calibration}


def test_auto_measures_real_photos_once_then_reads_its_cache_beside_the_model(model, faces):
    first = make_colorizer(str(model), engine="auto", photos=faces).selection
    assert not first.cached and first.cpu == cpu_signature()
    by_name = {(c.engine, c.precision): c for c in first.candidates}
    assert by_name[("torch", "fp32")].delta_ab == 0.0
    assert by_name[("onnxruntime", "fp32")].delta_ab < 0.01  # the same network, another engine
    if "avx2" in first.cpu:
        assert by_name[("torch", "int8")].delta_ab is not None  # measured, whichever side of 2 it falls
        assert by_name[("onnxruntime", "int8")].delta_ab is not None
    chosen = by_name[(first.engine, first.precision)]
    assert chosen.accepted and all(chosen.ms_per_image <= c.ms_per_image for c in first.candidates if c.accepted)
    cache = json.loads((model.parent / "ce.pt.engines.json").read_text())
    assert len(cache) == 1 and next(iter(cache.values()))["engine"] == first.engine
    again = make_colorizer(str(model), engine="auto").selection  # no photos needed: the choice is cached
    assert again.cached and (again.engine, again.precision) == (first.engine, first.precision)
    colder = make_colorizer(str(model), engine="auto", photos=faces, temperature=0.38).selection
    assert not colder.cached and len(json.loads((model.parent / "ce.pt.engines.json").read_text())) == 2


def test_the_auto_colorizer_runs_what_was_chosen(model, faces):
    colorizer = make_colorizer(str(model), engine="auto", photos=faces)
    assert (colorizer.engine, colorizer.precision) == (colorizer.selection.engine, colorizer.selection.precision)
    out = colorizer.colorize(faces[:2])
    assert [im.size for im in out] == [im.size for im in faces[:2]]


def test_a_cached_choice_loads_its_prepared_model_and_colours_exactly_as_when_it_was_chosen(model, faces):
    """The int8 network or the ONNX graph is kept with the choice: a later run neither measures nor
    quantizes again, and its colours are those of the run that chose it."""
    first = make_colorizer(str(model), engine="auto", photos=faces)
    kept = sorted(p.name for p in (model.parent / "ce.pt.engines").iterdir())
    expected = {("torch", "int8"): ["torch-T0.6-int8.pt"], ("onnxruntime", "int8"): ["onnxruntime-T0.6-int8.onnx"],
                ("onnxruntime", "fp32"): ["onnxruntime-T0.6.onnx"]}.get((first.engine, first.precision), [])
    assert kept == expected  # the losers' prepared models are gone
    lightness = network_lightness(faces, first.size)
    again = make_colorizer(str(model), engine="auto")  # no photos: nothing to calibrate on, nothing needed
    assert again.selection.cached
    assert torch.equal(again.ab_from_lightness(lightness), first.ab_from_lightness(lightness))


def test_a_winning_torch_fp32_network_keeps_no_prepared_model_of_the_losers_but_another_temperatures(model):
    """torch fp32 (or bf16) needs nothing prepared: an int8 network or ONNX graph left from the
    measurement is removed, whatever this CPU would have chosen (the choice is written as cached);
    the graph another temperature's choice kept stays."""
    from colorcore.checkpoint import load_weights
    from colorcore.selection import _digest, prepared_folder

    weights = load_weights(str(model))
    key = f"{_digest(model)}|T={weights.temperature}|{cpu_signature()}"
    fp32 = {"engine": "torch", "precision": "fp32", "ms_per_image": 10.0, "delta_ab": 0.0, "note": ""}
    (model.parent / "ce.pt.engines.json").write_text(json.dumps(
        {key: {"engine": "torch", "precision": "fp32", "candidates": [fp32]}}))
    folder = prepared_folder(model)
    folder.mkdir()
    t = f"T{weights.temperature:g}"
    for stale in (f"torch-{t}-int8.pt", f"onnxruntime-{t}.onnx", f"onnxruntime-{t}-int8.onnx", "onnxruntime-T0.38.onnx"):
        (folder / stale).write_bytes(b"left from the measurement")
    chosen = make_colorizer(str(model), engine="auto")
    assert chosen.selection.cached and (chosen.engine, chosen.precision) == ("torch", "fp32")
    assert [p.name for p in folder.iterdir()] == ["onnxruntime-T0.38.onnx"]


@pytest.mark.parametrize("precision", ["bf16"])
def test_the_default_precision_is_the_reference_and_never_a_faster_one_outside_the_tolerance(model, faces, precision):
    """Before, the default ran bfloat16 where the CPU has it, which engine auto's own check can reject."""
    default = make_colorizer(str(model))
    assert (default.engine, default.precision) == ("torch", "fp32")
    done = subprocess.run([sys.executable, "-m", "colorcore", "colorize", "--model", str(model), "--input", str(FACES),
                           "--output", str(model.parent / "out")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("engine torch fp32"), done.stderr[-1000:]
    asked = make_colorizer(str(model), precision=precision)
    assert asked.precision == precision  # still there when asked for by name


def test_colorize_with_engine_auto_says_what_ran_and_skips_unreadable_files(model, tmp_path):
    photos = tmp_path / "in"
    shutil.copytree(FACES, photos)
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    result = colorize_path(str(model), photos, tmp_path / "out", engine="auto", progress=False)
    assert len(result.written) == len(list_images(FACES)) and len(result.skipped) == 1
    assert "broken.jpg" in result.skipped[0]
    assert result.engine.split(" (")[0] in {"torch fp32", "onnxruntime fp32", "torch int8", "onnxruntime int8", "torch bf16"}
    assert "engine auto on" in result.engine


def test_engine_auto_refuses_a_fixed_precision_and_an_unknown_engine_is_named(model, faces):
    with pytest.raises(ColorcoreError, match="engine auto chooses the precision too; drop --precision int8"):
        make_colorizer(str(model), engine="auto", precision="int8", photos=faces)
    with pytest.raises(ColorcoreError, match="engine must be one of"):
        make_colorizer(str(model), engine="openvino")
    with pytest.raises(ColorcoreError, match="engine auto needs photos to measure the engines on"):
        make_colorizer(str(model), engine="auto")  # nothing cached yet for this copy of the model
    done = subprocess.run([sys.executable, "-m", "colorcore", "colorize", "--model", str(model), "--input", str(FACES),
                           "--output", "/tmp/unused", "--engine", "openvino"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "invalid choice: 'openvino' (choose from 'torch', 'onnxruntime', 'auto')" in done.stderr
