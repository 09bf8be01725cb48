"""Image folders (the LFW layout included), the split by person, and gray-photo detection."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from .color import rgb_to_lab
from .errors import DataError
from .images import IMAGE_SUFFIXES, load_rgb

__all__ = ["DataError", "load_rgb", "list_images", "split_files", "scan", "ImageFolderDataset"]
from .split import SPLITS, split_of

logger = logging.getLogger(__name__)

GRAY_CHROMA = 3.0  # mean |ab| below this: a black-and-white photo (LFW has about 40)


def list_images(root: Path) -> list[Path]:
    """Image files under ``root``, recursively, sorted; hidden files skipped."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if root.is_file():
        return [root] if root.suffix.lower() in IMAGE_SUFFIXES else []
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith("."))


def group_of(path: Path, root: Path) -> str:
    """The split unit: the person's folder in the LFW layout, else the file itself."""
    rel = path.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else rel.as_posix()


def split_files(root: Path, seed: int = 0, val: float = 0.1, test: float = 0.1) -> dict[str, list[Path]]:
    """Deterministic split of the images under ``root`` by person (LFW) or by file."""
    files = list_images(root)
    if not files:
        raise DataError(f"{root}: no images found")
    out: dict[str, list[Path]] = {s: [] for s in SPLITS}
    for f in files:
        out[split_of(group_of(f, root), seed, val, test)].append(f)
    return out


def write_split(splits: dict[str, list[Path]], root: Path, path: Path) -> None:
    path.write_text(json.dumps({k: [p.relative_to(root).as_posix() for p in v] for k, v in splits.items()}, indent=0))


def to_tensor(im: Image.Image, size: int | None) -> torch.Tensor:
    """(3, S, S) float in [0, 1]; resized (LFW 250 -> 256) when ``size`` is given."""
    if size is not None and im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(im, dtype=np.uint8).copy()).permute(2, 0, 1).float().div_(255)


def is_gray(lab: torch.Tensor) -> bool:
    """A black-and-white photo: ab about zero everywhere. ``lab``: (3, H, W)."""
    return float(lab[1:].abs().mean()) < GRAY_CHROMA


@dataclass
class ScanResult:
    usable: list[Path] = field(default_factory=list)
    gray: list[Path] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    histogram: torch.Tensor | None = None  # integer-lattice ab counts over usable images


def scan(files: list[Path], size: int = 64, progress: bool = False) -> ScanResult:
    """Decode every file once: skip and count unreadable and gray photos, and histogram ab.

    The histogram is taken at ``size`` x ``size`` (64 by default): the prior of bins needs the
    distribution of colors, not every pixel.
    """
    from tqdm import tqdm

    from .encoding import LUT_SIZE, ab_histogram

    result = ScanResult(histogram=torch.zeros(LUT_SIZE, LUT_SIZE, dtype=torch.int64))
    for path in tqdm(files, desc="scanning", unit="img", disable=not progress):
        try:
            rgb = to_tensor(load_rgb(path), size)
        except DataError as exc:
            logger.warning("skipping %s", exc)
            result.unreadable.append(str(exc))
            continue
        lab = rgb_to_lab(rgb.unsqueeze(0))
        if is_gray(lab[0]):
            result.gray.append(path)
            continue
        result.usable.append(path)
        result.histogram += ab_histogram(lab[:, 1:])
    return result


class ImageFolderDataset(Dataset):
    """RGB tensors (3, S, S) of a list of files; a file that fails later is replaced, never fatal.

    Indices are ``index`` or ``(index, flip)``: the sampler decides flips, so that a resumed
    run sees exactly the batches the uninterrupted run would have seen.
    """

    def __init__(self, files: list[Path], size: int = 256) -> None:
        self.files = list(files)
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, item: int | tuple[int, bool]) -> torch.Tensor:
        index, flip = item if isinstance(item, tuple) else (item, False)
        for offset in range(len(self.files)):
            path = self.files[(index + offset) % len(self.files)]
            try:
                x = to_tensor(load_rgb(path), self.size)
            except DataError as exc:
                logger.warning("skipping %s", exc)
                continue
            return x.flip(-1) if flip else x
        raise DataError("no readable image left in the dataset")
