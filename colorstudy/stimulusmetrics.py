"""Automatic metrics of every stimulus, computed once, where the images are (colorcore.imagemetrics):
with the ground truth, PSNR, SSIM, mean CIEDE2000 and AuC of the ab error; always colorfulness and
mean chroma. They are measured on the stimulus as participants see it (resized and encoded), the
truth resized to the same size. ``evaluation.metric_agreement`` holds them against the votes."""
from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image

from colorcore.imagemetrics import stimulus_metrics

from . import stimuli
from .models import Stimulus, Study, System

logger = logging.getLogger(__name__)


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def load_truth(path: Path | None) -> Image.Image | None:
    """The real photo for the metrics alone (no trial shows it): an unreadable one means no metrics
    against the truth for that image, not a skipped image."""
    try:
        return None if path is None else stimuli.load_rgb(path)
    except stimuli.BadImage as exc:
        logger.warning("no ground-truth metrics for %s: %s", path, exc)
        return None


def truth_pixels(truth: Image.Image | None, size: tuple[int, int]) -> np.ndarray | None:
    """The real photo at the stimulus size, through the stimuli's own encoding, or None."""
    return None if truth is None else pixels(stimuli.encode(truth, size).data)


def measure(shown: np.ndarray, truth: np.ndarray | None, system: System) -> dict:
    """One stimulus's metrics; the real photo itself is measured without reference (it is its own truth)."""
    own_truth = system.role == System.Role.GROUND_TRUTH
    return stimulus_metrics(shown, None if own_truth else truth)


def measure_study(study: Study, ground_truth: Path | None = None) -> int:
    """Compute and store the metrics of every stimulus of an existing study; the stimuli measured.

    The truth is the study's own real photos where it has them (catch trials, Turing mode,
    practice), else the images of ``ground_truth`` matched by name.
    """
    media = Path(settings.MEDIA_ROOT)
    folder = stimuli.list_images(ground_truth) if ground_truth else {}
    count = 0
    for image in study.images.all():
        shown = list(image.stimuli.select_related("system"))
        real = next((s for s in shown if s.system.role == System.Role.GROUND_TRUTH), None)
        truth = None
        if real is not None:
            truth = pixels((media / real.path).read_bytes())
        elif image.name in folder:
            first = shown[0]
            truth = truth_pixels(load_truth(folder[image.name]), (first.width, first.height))
        for stim in shown:
            stim.metrics = measure(pixels((media / stim.path).read_bytes()), truth, stim.system)
            count += 1
        Stimulus.objects.bulk_update(shown, ["metrics"])
    logger.info("study %s: metrics of %d stimuli", study.slug, count)
    return count
