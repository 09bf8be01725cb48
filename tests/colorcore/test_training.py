from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import color

from colorcore.__main__ import main
from colorcore.color import rgb_to_lab
from colorcore.data import load_rgb, to_tensor
from colorcore.factory import make_colorizer
from colorcore.infer import colorize_path
from colorcore.train import ProgressLog, TrainConfig, train

from ..conftest import ROOT, TEST_PHOTOS, TRAIN_PHOTOS


def small_config(data: Path, out: Path, **kw) -> TrainConfig:
    base = dict(data=str(data), out=str(out), width=0.25, image_size=64, batch_size=8, epochs=1000, lr=1e-3,
                val_fraction=0.0, test_fraction=0.0, workers=0, log_every=1, checkpoint_every=1000, precision="fp32")
    return TrainConfig(**{**base, **kw})


def mean_loss(history, first: bool, n: int = 20) -> float:
    losses = [h["loss"] for h in history if "loss" in h]
    return float(np.mean(losses[:n] if first else losses[-n:]))


@pytest.mark.parametrize("loss", ["ce", "l2"])
def test_a_small_network_learns_real_faces_and_beats_gray(tmp_path, loss):
    result = train(small_config(TRAIN_PHOTOS, tmp_path / "run", loss=loss, max_steps=200, precision="auto"), progress=False)
    assert result.steps == 200
    assert mean_loss(result.history, first=False) < 0.8 * mean_loss(result.history, first=True)
    colorizer = make_colorizer(str(tmp_path / "run" / "last.pt"), precision="fp32")
    files = sorted(TRAIN_PHOTOS.rglob("*.jpg"))[:8]
    images = [load_rgb(f).resize((64, 64)) for f in files]
    truth = rgb_to_lab(torch.stack([to_tensor(im, None) for im in images]))[:, 1:]
    pred = rgb_to_lab(torch.stack([to_tensor(im, None) for im in colorizer.colorize(images)]))[:, 1:]
    error_model = (pred - truth).pow(2).sum(1).sqrt().mean().item()
    error_gray = truth.pow(2).sum(1).sqrt().mean().item()
    assert error_model < error_gray


def test_resume_continues_exactly_where_it_stopped(tmp_path):
    straight = train(small_config(TRAIN_PHOTOS, tmp_path / "a", max_steps=6), progress=False)
    train(small_config(TRAIN_PHOTOS, tmp_path / "b", max_steps=3), progress=False)
    resumed = train(small_config(TRAIN_PHOTOS, tmp_path / "b", max_steps=6), resume=True, progress=False)
    assert straight.steps == resumed.steps == 6
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    lines = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if "loss" in x] == [1, 2, 3, 4, 5, 6]


def test_a_run_without_a_terminal_reports_its_progress_and_summarizes_means_of_many_steps(tmp_path):
    # stderr is a pipe here, as in a log file or under nohup: lines every 2 steps instead of a bar
    done = subprocess.run(
        [sys.executable, "-m", "colorcore", "train", "--data", str(TRAIN_PHOTOS), "--out", str(tmp_path / "run"),
         "--width", "0.125", "--image-size", "64", "--batch-size", "4", "--max-steps", "6", "--epochs", "100",
         "--workers", "0", "--device", "cpu", "--precision", "fp32", "--report-every", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if "images/s" in line]
    assert [line.split("step ")[1].split(" ")[0] for line in lines] == ["2/6", "4/6", "6/6"]
    assert all("(smoothed)" in line and " left" in line for line in lines)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    # fewer than 100 steps: both means cover the same six steps
    assert summary["mean_loss_first_100_steps"] == summary["mean_loss_last_100_steps"]


def test_the_summary_losses_are_means_of_the_first_and_last_hundred_steps_across_a_resume():
    log = ProgressLog(total=250, start_step=0, first=[], enabled=False)
    for step in range(1, 151):
        log.step(step, float(step), 1.0, 0)
    resumed = ProgressLog(total=250, start_step=150, first=log.first, enabled=False)  # as a checkpoint carries it
    for step in range(151, 251):
        resumed.step(step, float(step), 1.0, 0)
    assert resumed.first_mean == pytest.approx(50.5) and resumed.last_mean == pytest.approx(200.5)


def _small_net_and_batch():
    from colorcore.data import ImageFolderDataset, scan
    from colorcore.encoding import learn_bins
    from colorcore.model import ColorizationNet, ModelConfig

    files = sorted(TRAIN_PHOTOS.rglob("*.jpg"))[:8]
    bins = learn_bins(scan(files, 64).histogram)
    dataset = ImageFolderDataset(files, 64)
    torch.manual_seed(0)
    config = ModelConfig(q=bins.q, width=0.25)
    return ColorizationNet(config), config, bins, torch.stack([dataset[i] for i in range(len(files))])


def test_a_float16_step_whose_gradients_overflow_is_skipped_instead_of_poisoning_the_weights():
    from colorcore.runtime import pick_runtime
    from colorcore.train import train_step

    net, config, bins, rgb = _small_net_and_batch()
    with torch.no_grad():
        net.model1[0].weight.mul_(1e6)  # activations far past float16's largest number: gradients not finite
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu")
    train_step(net, opt, rgb, bins, config, pick_runtime("cpu", "fp16"), scaler)
    assert all(torch.equal(before[k], v) for k, v in net.named_parameters())  # finite and untouched
    assert scaler.get_scale() == 2.0**15  # halved from 2**16 for the next try


def test_a_float16_run_keeps_its_loss_scale_across_a_resume(tmp_path):
    config = dict(max_steps=2, precision="fp16", batch_size=4)
    train(small_config(TRAIN_PHOTOS, tmp_path / "run", **config), progress=False)
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert ckpt["scaler"]["scale"] == 2.0**16  # GradScaler's initial scale, no overflow in two steps
    ckpt["scaler"]["scale"] = 1024.0
    torch.save(ckpt, tmp_path / "run" / "last.pt")
    train(small_config(TRAIN_PHOTOS, tmp_path / "run", **{**config, "max_steps": 3}), resume=True, progress=False)
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["scaler"]["scale"] in (1024.0, 512.0)
    fp32 = train(small_config(TRAIN_PHOTOS, tmp_path / "fp32", max_steps=1), progress=False)
    assert torch.load(fp32.out / "last.pt", weights_only=True)["scaler"] == {}  # no loss scale without float16


def test_a_second_run_into_the_same_folder_needs_resume(tmp_path):
    train(small_config(TRAIN_PHOTOS, tmp_path / "r", max_steps=1), progress=False)
    assert main(["train", "--data", str(TRAIN_PHOTOS), "--out", str(tmp_path / "r"), "--max-steps", "2"]) == 2


def test_gray_and_corrupt_files_are_skipped_and_counted(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(TRAIN_PHOTOS, data)
    person = data / "Old_Press_Photo"
    person.mkdir()
    Image.open(next(TRAIN_PHOTOS.rglob("*.jpg"))).convert("L").convert("RGB").save(person / "Old_Press_Photo_0001.jpg")
    (data / "Broken_File").mkdir()
    (data / "Broken_File" / "Broken_File_0001.jpg").write_bytes(b"\xff\xd8\xff truncated")
    result = train(small_config(data, tmp_path / "run", max_steps=2), progress=False)
    assert (result.skipped_gray, result.skipped_unreadable) == (1, 1)
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    assert not any("Old_Press_Photo" in f or "Broken_File" in f for f in split["train"])


def test_the_split_is_by_person_and_written_next_to_the_run(tmp_path):
    train(small_config(TRAIN_PHOTOS, tmp_path / "run", max_steps=1, val_fraction=0.3, test_fraction=0.3), progress=False)
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    people = {k: {f.split("/")[0] for f in v} for k, v in split.items()}
    assert people["train"] and not (people["train"] & people["test"]) and not (people["train"] & people["val"])


def test_colorize_cli_writes_one_png_per_input_at_its_size_and_skips_bad_files(tmp_path, capsys):
    train(small_config(TRAIN_PHOTOS, tmp_path / "run", max_steps=2), progress=False)
    src = tmp_path / "in"
    shutil.copytree(TEST_PHOTOS, src)
    first = sorted(src.rglob("*.jpg"))[0]
    Image.open(first).resize((300, 180)).save(first)  # another size and aspect ratio
    (src / "broken.jpg").write_bytes(b"nope")
    code = main(["colorize", "--model", str(tmp_path / "run" / "last.pt"), "--input", str(src), "--output", str(tmp_path / "out")])
    assert code == 0
    outputs = sorted((tmp_path / "out").rglob("*.png"))
    assert len(outputs) == len(list(TEST_PHOTOS.rglob("*.jpg")))
    rel = first.relative_to(src).with_suffix(".png")
    assert Image.open(tmp_path / "out" / rel).size == (300, 180)
    assert "1 skipped" in capsys.readouterr().out


def test_the_pipelined_command_writes_what_colorize_computes_with_each_photos_own_lightness(tmp_path):
    train(small_config(TRAIN_PHOTOS, tmp_path / "run", max_steps=2), progress=False)
    src = tmp_path / "in"
    src.mkdir()
    photos = sorted(TEST_PHOTOS.rglob("*.jpg"))[:11]  # two batches and a part
    for i, photo in enumerate(photos):  # the network's size, larger, smaller, gray
        im = Image.open(photo).convert("RGB")
        im = [im.resize((256, 256)), im.resize((512, 384)), im.resize((120, 200)), im.convert("L")][i % 4]
        im.save(src / f"{i:02d}.png")
    colorizer = make_colorizer(str(tmp_path / "run" / "last.pt"))
    colorize_path(colorizer, src, tmp_path / "out", batch_size=4, progress=False)
    sources = [Image.open(src / f"{i:02d}.png") for i in range(len(photos))]
    # The same batches as the command: on some CPUs a convolution's sums depend on the batch size.
    expected = [im for k in range(0, len(sources), 4) for im in colorizer.colorize(sources[k : k + 4])]
    for i, source in enumerate(sources):
        written = np.asarray(Image.open(tmp_path / "out" / f"{i:02d}.png"))
        assert np.array_equal(written, np.asarray(expected[i]))
        lightness_in = color.rgb2lab(np.asarray(source.convert("RGB")))[..., 0]
        # the photo's own lightness, except where a color outside sRGB was clipped (black borders)
        assert np.median(np.abs(color.rgb2lab(written)[..., 0] - lightness_in)) < 0.5


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--data", "/nonexistent/folder", "--out", "OUT"], "no such folder"),
        (["train", "--data", "EMPTY", "--out", "OUT"], "no images found"),
        (["colorize", "--model", "NOTCKPT", "--input", "EMPTY", "--output", "OUT"], "no images found"),
        (["evaluate", "--model", "NOTCKPT", "--data", str(TEST_PHOTOS)], "not a colorcore checkpoint"),
    ],
)
def test_cli_errors_are_one_line_without_traceback(tmp_path, capsys, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "not.pt").write_text("hello")
    subst = {"OUT": str(tmp_path / "out"), "EMPTY": str(tmp_path / "empty"), "NOTCKPT": str(tmp_path / "not.pt")}
    assert main([subst.get(a, a) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_run_says_how_long_it_would_take_here_and_asks_for_yes_beyond_the_limit():
    """make reproduce's first step: a few real steps timed, scaled to the run; beyond the limit (an
    hour by default; a millisecond here, to show the refusal) it stops and names --yes."""
    base = [sys.executable, "-m", "colorcore", "estimate", "--data", str(TRAIN_PHOTOS), "--width", "0.125",
            "--image-size", "64", "--batch-size", "4", "--workers", "0", "--steps", "2", "--epochs", "2"]
    done = subprocess.run(base, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-1000:]
    assert re.search(r"\d+ training images, \d+ steps; [\d.]+ images/s measured here: about \S+ per model", done.stdout)
    refused = subprocess.run(base + ["--limit-hours", "0.0000001"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "say --yes (make reproduce YES=1)" in refused.stderr
    assert refused.stderr.count("\n") == 1  # one line, no traceback
    agreed = subprocess.run(base + ["--limit-hours", "0.0000001", "--yes"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert agreed.returncode == 0
