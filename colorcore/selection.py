"""``--engine auto``: the fastest engine and precision that this CPU runs natively and whose colors
stay within ``TOLERANCE`` of fp32, measured once per model and CPU and cached with the model.

Each candidate colorizes the same held-out photos (never those int8 calibrated on). Its speed is
the network's time per image, best of two runs after a warm-up; its accuracy is the 99.9th
percentile of |delta ab| against colorcore's fp32 network. bfloat16 is a candidate only where
the CPU has bfloat16 units (AVX-512 BF16 or AMX); emulated, it is ten times slower. int8 needs
AVX2 at least, on both engines (fbgemm's kernels, and ONNX Runtime's u8 x s8 ones).

The result goes to ``<checkpoint>.engines.json`` beside the model, or, where that folder is not
writable (and for zhang2016), to the weights cache, keyed by the model file's hash, the
temperature and the CPU (its model name and instruction sets). The chosen engine's prepared model
(the int8 network, the ONNX graph) is kept in the folder ``prepared_folder`` names, so that a run
that finds the choice cached pays neither the measurement nor the quantization again.

The engines are built by the caller (:func:`colorcore.factory.make_colorizer` passes its own
builder), so that choosing knows nothing of how each engine is made.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import zhang
from .colorizer import Colorizer, network_lightness
from .errors import ColorcoreError

logger = logging.getLogger(__name__)
TOLERANCE = 2.0  # 99.9th-percentile |delta ab| against fp32, in ab units
HELD_OUT = 8  # photos the candidates are compared on
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")


@dataclass(frozen=True)
class Candidate:
    engine: str
    precision: str
    ms_per_image: float | None = None  # the network's time (with its decoding), None when it failed
    delta_ab: float | None = None  # 99.9th percentile of |ab - ab_fp32| on the held-out photos
    note: str = ""  # why it was left out, when it was

    @property
    def accepted(self) -> bool:
        return self.ms_per_image is not None and self.delta_ab is not None and self.delta_ab <= TOLERANCE


@dataclass(frozen=True)
class Selection:
    engine: str
    precision: str
    cpu: str
    candidates: tuple[Candidate, ...]
    cached: bool = False  # read from the cache instead of measured now

    def describe(self) -> str:
        rows = [f"{c.engine} {c.precision}: " + (c.note or f"{c.ms_per_image:.0f} ms/image, delta ab {c.delta_ab:.2f}"
                + ("" if c.accepted else f" (over {TOLERANCE})")) for c in self.candidates]
        return f"engine auto on {self.cpu}: {self.engine} {self.precision}" + ("" if not self.cached else " (cached)") \
            + "; " + "; ".join(rows)


def cpu_signature() -> str:
    """The CPU by its model name and the instruction sets that decide the engines' kernels."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    present = [f for f in FLAGS if f in flags]
    return f"{name} [{' '.join(present) or 'no AVX2'}]"


def candidates(signature: str) -> list[tuple[str, str]]:
    """The (engine, precision) pairs this CPU runs natively, fp32 first (the reference)."""
    from .runtime import cpu_has_fast_bf16

    found = [("torch", "fp32")]
    try:
        import onnxruntime

        found.append(("onnxruntime", "fp32"))
    except ImportError:
        onnxruntime = None
    if "avx2" in signature:
        found.append(("torch", "int8"))
        if onnxruntime is not None:
            found.append(("onnxruntime", "int8"))
    if cpu_has_fast_bf16():
        found.append(("torch", "bf16"))
    return found


def _cache_path(model: Path, digest: str) -> Path:
    beside = model.with_name(model.name + ".engines.json")
    if os.access(model.parent, os.W_OK) and not model.name.startswith("colorization_release"):
        return beside
    return zhang.default_dir() / "engines" / f"{digest}.json"


def prepared_folder(model: Path) -> Path:
    """Where the prepared models of engine auto's choices for ``model`` are kept."""
    beside = model.with_name(model.name + ".engines")
    if os.access(model.parent, os.W_OK) and not model.name.startswith("colorization_release"):
        return beside
    return zhang.default_dir() / "engines" / _digest(model)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write(path: Path, data: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(path)
    except OSError as exc:  # a cache that cannot be written only costs the measurement next time
        logger.warning("cannot cache the engine choice in %s: %s", path, exc.strerror)


def _measure(colorizer: Colorizer, lightness: torch.Tensor) -> tuple[float, torch.Tensor]:
    ab = colorizer.ab_from_lightness(lightness).float().cpu()  # the warm-up, and the colors compared
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        colorizer.ab_from_lightness(lightness)
        best = min(best, time.perf_counter() - start)
    return 1e3 * best / len(lightness), ab


def pick(measured: list[Candidate]) -> Candidate:
    """The fastest candidate within ``TOLERANCE`` of fp32 (torch fp32 itself always qualifies).

    >>> pick([Candidate("torch", "fp32", 500, 0.0), Candidate("torch", "int8", 250, 2.6),
    ...       Candidate("onnxruntime", "fp32", 480, 0.001)]).engine
    'onnxruntime'
    """
    accepted = [c for c in measured if c.accepted]
    if not accepted:
        raise ColorcoreError("no engine ran on this CPU, not even torch fp32")
    return min(accepted, key=lambda c: c.ms_per_image)


def split_photos(images: list[Image.Image]) -> tuple[list[Image.Image], list[Image.Image]]:
    """(calibration, held out): the held-out photos are the last ``HELD_OUT`` (a third of a short list)."""
    if len(images) < 2:
        return images, images
    held = min(HELD_OUT, max(1, len(images) // 3))
    return images[:-held], images[-held:]


Build = Callable[[str, str, list[Image.Image]], Colorizer]  # (engine, precision, calibration photos) -> colorizer


def choose_engine(model: Path, images: list[Image.Image], temperature: float, build: Build,
                  refresh: bool = False) -> Selection:
    """The engine and precision for the weights in ``model`` on this CPU, from the cache or
    measured on ``images`` with the colorizers ``build`` makes."""
    digest, cpu = _digest(model), cpu_signature()
    key = f"{digest}|T={temperature}|{cpu}"
    cache = _cache_path(model, digest)
    stored = _read(cache).get(key)
    if stored and not refresh:
        return Selection(stored["engine"], stored["precision"], cpu,
                         tuple(Candidate(**c) for c in stored["candidates"]), cached=True)
    if not images:
        raise ColorcoreError("engine auto needs photos to measure the engines on")
    calibration, held_out = split_photos(images)
    results: list[Candidate] = []
    reference_ab, lightness = None, None
    for engine, precision in candidates(cpu):
        try:
            colorizer = build(engine, precision, calibration)
            lightness = network_lightness(held_out, colorizer.size) if lightness is None else lightness
            ms, ab = _measure(colorizer, lightness)
        except (ColorcoreError, RuntimeError) as exc:
            results.append(Candidate(engine, precision, note=f"left out: {exc}"))
            continue
        reference_ab = ab if reference_ab is None else reference_ab  # torch fp32 comes first
        delta = float(np.percentile((ab - reference_ab).abs().numpy(), 99.9))
        results.append(Candidate(engine, precision, round(ms, 1), round(delta, 3)))
    best = pick(results)
    selection = Selection(best.engine, best.precision, cpu, tuple(results))
    data = _read(cache)
    data[key] = {"engine": best.engine, "precision": best.precision, "candidates": [asdict(c) for c in results],
                 "measured_on": len(held_out), "calibrated_on": len(calibration)}
    _write(cache, data)
    logger.info("%s", selection.describe())
    return selection
