"""ONNX export and the ONNX Runtime engine: the same colors as colorcore, on real photos."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from colorcore.data import list_images
from colorcore.engines import export_onnx
from colorcore.errors import ColorcoreError
from colorcore.factory import first_photos, make_colorizer

from ..conftest import FIXTURES, ROOT
from .test_int8 import lightness_of
from .test_zhang import official_state_dict

MODELS = {"cross-entropy": str(FIXTURES / "models" / "cross-entropy-w025.pt"), "l2": str(FIXTURES / "models" / "l2-w025.pt")}
FACES = FIXTURES / "lfw-test-sample"


@pytest.fixture(scope="module")
def faces() -> list[Image.Image]:
    return first_photos(list_images(FACES), 8)


@pytest.mark.parametrize("name", ["cross-entropy", "l2", "zhang2016"])
def test_the_exported_graph_gives_colorcores_ab_within_1e_3(name, faces, tmp_path):
    spec = MODELS.get(name)
    if spec is None:  # the release's layout, random weights: the format zhang2016 loads
        torch.save(official_state_dict(), tmp_path / "release.pth")
        spec = f"zhang2016:{tmp_path / 'release.pth'}"
    colorizer = make_colorizer(spec, device="cpu", precision="fp32")
    path = export_onnx(colorizer.network, colorizer.size, tmp_path / "model.onnx")
    lightness = lightness_of(faces, colorizer.size)
    expected = colorizer.engine == "torch" and colorizer.ab_from_lightness(lightness)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"L": lightness.numpy()})[0]
    assert got.shape == (len(faces), 2, colorizer.size, colorizer.size)
    assert np.abs(got - expected.numpy()).max() <= 1e-3
    assert np.abs(got).mean() > 1.0  # real colors, not a flat gray


@pytest.mark.parametrize("name", ["cross-entropy", "l2"])
def test_onnxruntime_int8_colorizes_held_out_faces_within_two_ab_units_of_fp32(name):
    calibration = first_photos(list_images(FIXTURES / "lfw-train-sample"))
    faces = first_photos(list_images(FACES), 12)  # other people than the calibration
    fp32 = make_colorizer(MODELS[name], device="cpu", precision="fp32")
    int8 = make_colorizer(MODELS[name], precision="int8", photos=calibration, engine="onnxruntime")
    assert (int8.engine, int8.precision) == ("onnxruntime", "int8") and int8.network.path.name.endswith("-int8.onnx")
    lightness = lightness_of(faces, fp32.size)
    delta = (int8.ab_from_lightness(lightness) - fp32.ab_from_lightness(lightness)).abs()
    assert float(torch.quantile(delta.flatten(), 0.999)) <= 2.0


def test_an_int8_graph_made_beside_the_fp32_graph_leaves_the_fp32_graph_as_it_was(faces, tmp_path):
    """engine auto builds both in one folder and may keep the fp32 graph: int8's sub-pixel
    export must not overwrite it, and is gone once quantized."""
    from colorcore.engines import onnx_engine

    colorizer = make_colorizer(MODELS["l2"], device="cpu", precision="fp32")
    fp32 = onnx_engine(colorizer.network, colorizer.size, "fp32", tmp_path, "m")
    before = fp32.path.read_bytes()
    int8 = onnx_engine(colorizer.network, colorizer.size, "int8", tmp_path, "m", lightness_of(faces, colorizer.size))
    assert int8.path != fp32.path and fp32.path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == sorted([fp32.path, int8.path])


def test_an_onnxruntime_colorizer_leaves_no_graph_behind_in_the_temporary_folder(faces, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where this run's temporary folders go
    colorizer = make_colorizer(MODELS["l2"], engine="onnxruntime", precision="int8", photos=faces)
    assert list(tmp_path.iterdir()) == []
    assert [im.size for im in colorizer.colorize(faces[:2])] == [im.size for im in faces[:2]]


def test_onnxruntime_int8_needs_calibration_photos():
    with pytest.raises(ColorcoreError, match="int8 on onnxruntime needs calibration images"):
        make_colorizer(MODELS["cross-entropy"], precision="int8", engine="onnxruntime")


def test_the_colorize_command_runs_on_onnxruntime_with_torchs_colors(tmp_path):
    for engine in ("torch", "onnxruntime"):
        result = subprocess.run(
            [sys.executable, "-m", "colorcore", "colorize", "--model", MODELS["l2"], "--input", str(FACES),
             "--output", str(tmp_path / engine), "--engine", engine], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    for png in sorted((tmp_path / "torch").rglob("*.png"))[:8]:
        ours = np.asarray(Image.open(tmp_path / "onnxruntime" / png.relative_to(tmp_path / "torch")), dtype=int)
        assert np.abs(ours - np.asarray(Image.open(png), dtype=int)).max() <= 1  # rounding of 8-bit output only


def test_the_export_command_writes_an_onnx_graph_and_bad_engines_are_named(tmp_path):
    result = subprocess.run([sys.executable, "-m", "colorcore", "export", "--format", "onnx", "--model", MODELS["l2"],
                             "--output", str(tmp_path / "l2.onnx")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and (tmp_path / "l2.onnx").stat().st_size > 1_000_000
    session = ort.InferenceSession(str(tmp_path / "l2.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["L"] and [o.name for o in session.get_outputs()] == ["ab"]
    with pytest.raises(ColorcoreError, match="engine must be one of"):
        make_colorizer(MODELS["l2"], engine="tensorrt")
    with pytest.raises(ColorcoreError, match="onnxruntime engine runs fp32 or int8"):
        make_colorizer(MODELS["l2"], precision="bf16", engine="onnxruntime")
