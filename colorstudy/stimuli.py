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
from PIL import Image, ImageOps

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
CONTENT_TYPE = "image/png"
SUFFIX = ".png"
# Far above any photo a study shows; refuses decompression bombs before they are decoded.
MAX_PIXELS = 40_000_000


class BadImage(ValueError):
    """An input image that cannot be used; the message names the file and the reason."""


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


def load_rgb(path: Path) -> Image.Image:
    """Decode ``path`` to 8-bit RGB, whatever its mode; raise BadImage with a clear reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise BadImage(f"{path}: {im.width}x{im.height} pixels is more than the limit of {MAX_PIXELS}")
                im = ImageOps.exif_transpose(im)
                return _to_rgb8(im)
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage(f"{path}: refused as a decompression bomb ({exc})") from None
    except FileNotFoundError:
        raise BadImage(f"{path}: no such file") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadImage(f"{path}: not a readable image ({exc})") from None


def _to_rgb8(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit or 32-bit gray: scale to 8 bits instead of clipping at 255.
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        im = Image.fromarray(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Composite on white so that transparent areas look the same for every system.
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    rgb = im.convert("RGB")
    rgb.load()
    return rgb


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
