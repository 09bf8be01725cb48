"""Colorizing a folder of photos: ``colorize_path``, pipelined so that decoding and writing the
photos overlap neither each other nor the network (see the comment in it).

The colorizer itself is built by :func:`colorcore.factory.make_colorizer`.
"""
from __future__ import annotations

import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .colorizer import Colorizer, Prepared, finish, prepare
from .data import DataError, list_images, load_rgb
from .factory import colorizer_for_files
from .images import write_png

logger = logging.getLogger(__name__)


@dataclass
class ColorizeResult:
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    engine: str = ""  # what ran, e.g. "torch int8", and how engine auto chose it


def colorize_path(spec: str | Colorizer, source: Path, output: Path, batch_size: int = 8, precision: str = "fp32",
                  temperature: float | None = None, progress: bool | None = None, engine: str = "torch") -> ColorizeResult:
    """Colorize a file or every image under a folder into ``output``: one PNG per input, same relative path."""
    from tqdm import tqdm

    source, output = Path(source), Path(output)
    files = list_images(source)
    if not files:
        raise DataError(f"{source}: no images found")
    if isinstance(spec, Colorizer):
        colorizer = spec
    else:
        colorizer = colorizer_for_files(spec, files, engine, precision, temperature)
    root = source if source.is_dir() else source.parent
    result = ColorizeResult(engine=colorizer.describe())
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=len(files), disable=not show, unit="img", desc="colorizing")
    batches = [files[start : start + batch_size] for start in range(0, len(files), batch_size)]

    def save(path: Path, prepared: Prepared, ab: torch.Tensor) -> Path:
        target = (output / path.relative_to(root)).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        return write_png(target, finish(prepared, ab))

    # In three phases per batch, each with every core: the photos decoded and prepared in threads
    # (Pillow and numpy release the GIL), the network alone, then the photos recombined and written
    # in threads. Running the threads beside the network instead made them compete with its own
    # threads (measured in bench/README.md, "Inference").
    with ThreadPoolExecutor(max_workers=max(2, torch.get_num_threads())) as pool:
        for batch in batches:
            loaded = list(pool.map(lambda path: _load_one(path, colorizer.size), batch))
            result.skipped.extend(item for item in loaded if isinstance(item, str))
            kept = [(path, item) for path, item in zip(batch, loaded, strict=True) if isinstance(item, Prepared)]
            if kept:
                paths, prepared = zip(*kept, strict=True)
                result.written.extend(pool.map(save, paths, prepared, colorizer.predict(list(prepared))))
            bar.update(len(batch))
    bar.close()
    return result


def _load_one(path: Path, size: int) -> Prepared | str:
    """The photo made ready for the network, or, when it is unreadable, the message naming it
    (logged as a warning: the file is skipped)."""
    try:
        return prepare(load_rgb(path), size)
    except DataError as exc:
        logger.warning("skipping %s", exc)
        return str(exc)
