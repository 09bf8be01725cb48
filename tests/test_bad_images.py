"""Bad images meet generate_pairs and colorcore: a clear message naming the file, and the rest goes on."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from colorcore.__main__ import main as colorcore_main
from colorcore.data import DataError, load_rgb
from colorstudy.models import Study
from colorstudy.stimuli import BadImage
from colorstudy.stimuli import load_rgb as study_load_rgb

from .conftest import TEST_PHOTOS


def write_bad_images(folder: Path, reference: Path) -> dict[str, str]:
    """Each kind of awkward file, named by what it is; values: 'ok' (usable) or 'bad' (refused)."""
    folder.mkdir(parents=True, exist_ok=True)
    photo = Image.open(reference).convert("RGB")
    photo.convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(np.asarray(photo.convert("L"), dtype=np.uint16) * 257).save(folder / "sixteen_bit.png")
    photo.convert("L").save(folder / "grayscale.png")
    photo.resize((3, 2)).save(folder / "tiny.png")
    data = (reference).read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    Image.new("1", (10_000, 5_000)).save(folder / "bomb.png")  # 50 megapixels, a few kB on disk
    return {"cmyk": "ok", "sixteen_bit": "ok", "grayscale": "ok", "tiny": "ok", "truncated": "bad", "corrupt": "bad",
            "bomb": "bad"}


@pytest.fixture
def bad_folder(tmp_path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "bad"
    kinds = write_bad_images(folder, sorted(TEST_PHOTOS.rglob("*.jpg"))[0])
    return folder, kinds


@pytest.mark.parametrize("loader, error", [(load_rgb, DataError), (study_load_rgb, BadImage)])
def test_each_loader_decodes_the_usable_ones_and_names_the_file_of_the_others(bad_folder, loader, error):
    folder, kinds = bad_folder
    for name, verdict in kinds.items():
        path = next(folder.glob(f"{name}.*"))
        if verdict == "ok":
            im = loader(path)
            assert im.mode == "RGB" and im.size[0] > 0
        else:
            with pytest.raises(error, match=path.name):
                loader(path)
    sixteen = loader(folder / "sixteen_bit.png")
    assert np.asarray(sixteen).max() > 100  # scaled to 8 bits, not clipped to black or white


def test_colorize_skips_the_bad_files_with_their_names_and_writes_the_rest(bad_folder, tmp_path, capsys):
    import torch

    from colorcore.encoding import uniform_bins
    from colorcore.model import ColorizationNet, ModelConfig

    folder, kinds = bad_folder
    net = ColorizationNet(ModelConfig(q=4, width=0.125))
    ckpt = tmp_path / "tiny.pt"
    torch.save({"model": net.state_dict(), "model_config": {"q": 4, "width": 0.125},
                "bins": uniform_bins(np.array([[0, 0], [10, 0], [0, 10], [-10, 0]], dtype=np.float32)).state_dict(),
                "config": {"image_size": 64}}, ckpt)
    assert colorcore_main(["colorize", "--model", str(ckpt), "--input", str(folder), "--output", str(tmp_path / "out")]) == 0
    written = {p.stem for p in (tmp_path / "out").glob("*.png")}
    assert written == {k for k, v in kinds.items() if v == "ok"}
    assert f"{sum(v == 'bad' for v in kinds.values())} skipped" in capsys.readouterr().out


@pytest.mark.django_db
def test_generate_pairs_names_each_bad_file_and_goes_on(bad_folder, tmp_path):
    folder, kinds = bad_folder
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    for name, verdict in kinds.items():  # the second system has a good rendering of everything
        if verdict == "bad":
            path = next(other.glob(f"{name}.*"))
            path.unlink()
            Image.new("RGB", (64, 64), (200, 150, 120)).save(path.with_suffix(".png"))
    err = io.StringIO()
    call_command("generate_pairs", "--study", "bad", "--system", f"a={folder}", "--system", f"b={other}",
                 "--participants", "1", "--trials", "2", stdout=io.StringIO(), stderr=err)
    for name, verdict in kinds.items():
        assert (name in err.getvalue()) == (verdict == "bad"), name
    assert Study.objects.get(slug="bad").images.count() == sum(v == "ok" for v in kinds.values())
