"""The one encoding pipeline every stimulus goes through, so that only the colors differ.

Whatever a system wrote (PNG, JPEG, 16-bit, CMYK, palette, with EXIF or ICC profiles), a
stimulus is re-encoded the same way: 8-bit sRGB, the same pixel size for every system's
rendering of an image, PNG without any metadata, stored under an opaque random file name.
"""
from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from colorcore.images import IMAGE_SUFFIXES, load_rgb
from colorcore.images import ImageError as BadImage

__all__ = ["BadImage", "load_rgb", "list_images", "encode", "target_size", "wrong_recoloring"]

logger = logging.getLogger(__name__)

CONTENT_TYPE = "image/png"
SUFFIX = ".png"


@dataclass(frozen=True)
class Encoded:
    data: bytes
    width: int
    height: int


def list_images(folder: Path) -> dict[str, Path]:
    """Image files under ``folder`` (recursively), keyed by their relative POSIX path without suffix."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
            found[path.relative_to(folder).with_suffix("").as_posix()] = path
    return found


def target_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """The stimulus size for a source of ``width`` x ``height``: the longest side becomes ``longest``."""
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def encode(im: Image.Image, size: tuple[int, int]) -> Encoded:
    """Resize to ``size`` and encode as metadata-free PNG."""
    if im.size != size:
        im = im.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    # A fresh image without .info: no EXIF, ICC profile, text chunks or timestamps survive.
    clean = Image.frombytes("RGB", im.size, im.tobytes())
    clean.save(buffer, format="PNG", compress_level=6)
    return Encoded(buffer.getvalue(), size[0], size[1])


def wrong_recoloring(im: Image.Image) -> Image.Image:
    """An obviously wrong colorization for catch trials: the same lightness, ab turned by 180 degrees.

    Skin becomes blue-green and blue sky orange, while the structure stays identical, so an
    attentive participant never prefers it to the real photo.
    """
    from skimage import color

    lab = color.rgb2lab(np.asarray(im, dtype=np.float64) / 255.0)
    lab[..., 1:] = -lab[..., 1:] * 1.5 + np.array([0.0, -20.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # out-of-gamut clipping is the point here
        rgb = np.clip(color.lab2rgb(lab), 0.0, 1.0)
    return Image.fromarray((rgb * 255.0 + 0.5).astype(np.uint8), "RGB")
