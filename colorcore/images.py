"""Decoding any image file to 8-bit RGB (one function for colorcore and for the study's stimuli),
and writing colorcore's outputs as PNG.

PIL, numpy and fpng only (no torch), so that the study site's commands can use it cheaply.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .errors import ImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
# Far above any photo used here; refuses decompression bombs before they are decoded.
MAX_PIXELS = 40_000_000


def load_rgb(path: Path) -> Image.Image:
    """Decode ``path`` to 8-bit RGB, whatever its mode; raise ImageError naming the file and the reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise ImageError(f"{path}: {im.width}x{im.height} pixels is more than the limit of {MAX_PIXELS}")
                return _to_rgb8(ImageOps.exif_transpose(im))
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{path}: refused as a decompression bomb ({exc})") from None
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{path}: not a readable image ({exc})") from None


def _to_rgb8(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit or 32-bit gray: scale to 8 bits instead of clipping at 255.
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        im = Image.fromarray(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Composite on white, so that transparent areas look the same whoever reads them.
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    rgb = im if im.mode == "RGB" else im.convert("RGB")  # exif_transpose has already copied it
    rgb.load()
    return rgb


def write_png(path: Path, rgb: np.ndarray) -> Path:
    """Write (H, W, 3) uint8 sRGB as a PNG with fpng: 12 to 50 times faster than Pillow's zlib at 512 x 512
    (1.4 against 17 ms at its fastest level, 70 ms at its default), for files about a tenth larger
    than Pillow's fastest level (bench/README.md). The study re-encodes its stimuli anyway."""
    import fpng

    path = Path(path)
    path.write_bytes(fpng.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8)))
    return path
