"""Quality measures of colorizations: raw accuracy AuC, PSNR and colorfulness."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from . import imagemetrics
from .color import lab_to_rgb, rgb_to_lab
from .data import DataError, is_gray, list_images, load_rgb, split_files, to_tensor
from .errors import ColorcoreError

logger = logging.getLogger(__name__)
THRESHOLDS = imagemetrics.THRESHOLDS
auc = imagemetrics.auc  # one definition, shared with the per-stimulus measures of a study


def accuracy_curve(pred_ab: torch.Tensor, true_ab: torch.Tensor) -> np.ndarray:
    """Share of pixels whose ab error (L2, ab units) is within each threshold 0..150."""
    return imagemetrics.accuracy_curve((pred_ab.float() - true_ab.float()).pow(2).sum(1).sqrt().numpy())


def psnr(pred_rgb: torch.Tensor, true_rgb: torch.Tensor) -> float:
    """PSNR in dB of RGB in [0, 1]."""
    mse = float((pred_rgb.float() - true_rgb.float()).pow(2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def colorfulness(rgb: torch.Tensor) -> float:
    """Hasler & Suesstrunk (2003) colorfulness of a (3, H, W) RGB image in [0, 1], on the 0..255 scale."""
    return imagemetrics.colorfulness((rgb.double() * 255).permute(1, 2, 0).numpy())


def evaluate(spec: str, data: Path, split: str = "test", size: int = 256, limit: int | None = None,
             temperature: float | None = None, precision: str = "fp32", seed: int | None = None,
             engine: str = "torch") -> dict:
    """Metrics of a model and of the gray baseline on the color images of one split (by person)."""
    from .factory import colorizer_for_files

    data = Path(data)
    # int8 calibrates, and engine auto measures, on training photos, never on the ones scored here.
    train = split_files(data, seed or 0)["train"]
    colorizer = colorizer_for_files(spec, train, engine, precision, temperature)
    if split == "all":
        files = list_images(data)
    else:
        if split not in ("train", "val", "test"):
            raise ColorcoreError(f"split must be one of train, val, test, all; got {split!r}")
        files = split_files(data, seed or 0)[split]
    curves = {"model": [], "gray": []}
    totals = {"psnr_model": [], "psnr_gray": [], "colorfulness_model": [], "colorfulness_truth": []}
    skipped_gray = skipped_bad = 0
    for path in files[:limit] if limit else files:
        try:
            im = load_rgb(path).resize((size, size))
        except DataError as exc:
            logger.warning("skipping %s", exc)
            skipped_bad += 1
            continue
        truth = to_tensor(im, None).unsqueeze(0)
        lab = rgb_to_lab(truth)
        if is_gray(lab[0]):
            skipped_gray += 1
            continue
        out = to_tensor(colorizer.colorize([im])[0], None).unsqueeze(0)
        out_lab = rgb_to_lab(out)
        gray = rgb_to_lab(truth)
        gray[:, 1:] = 0
        gray_rgb = lab_to_rgb(gray)
        curves["model"].append(accuracy_curve(out_lab[:, 1:], lab[:, 1:]))
        curves["gray"].append(accuracy_curve(torch.zeros_like(lab[:, 1:]), lab[:, 1:]))
        totals["psnr_model"].append(psnr(out, truth))
        totals["psnr_gray"].append(psnr(gray_rgb, truth))
        totals["colorfulness_model"].append(colorfulness(out[0]))
        totals["colorfulness_truth"].append(colorfulness(truth[0]))
    if not curves["model"]:
        raise DataError(f"{data}: no color image in split {split!r}")
    return {
        "model": spec,
        "temperature": colorizer.temperature if colorizer.classification else None,
        "split": split,
        "engine": colorizer.engine,
        "precision": colorizer.precision,
        "images": len(curves["model"]),
        "skipped_gray": skipped_gray,
        "skipped_unreadable": skipped_bad,
        "auc": auc(np.mean(curves["model"], 0)),
        "auc_gray": auc(np.mean(curves["gray"], 0)),
        **{k: float(np.mean(v)) for k, v in totals.items()},
    }


def to_json(result: dict) -> str:
    return json.dumps(result, indent=2)
