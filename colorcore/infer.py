"""Colorizing with a colorcore checkpoint or Zhang et al.'s model through one inference path.

A model spec is a checkpoint path, ``zhang2016`` (weights at the default location) or
``zhang2016:PATH``.
"""
from __future__ import annotations

import logging
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import zhang
from .color import lab_to_rgb8, lightness8, rgb_to_lab
from .data import DataError, list_images, load_rgb
from .encoding import ColorBins, uniform_bins
from .errors import ColorcoreError
from .images import write_png
from .model import ColorizationNet, ModelConfig, decode
from .runtime import PRECISIONS, Runtime, pick_runtime

logger = logging.getLogger(__name__)
NET_SIZE = 256
SEED_TEMPERATURE = 0.6  # the seed's choice for its model; Zhang et al. used 0.38


@dataclass
class Colorizer:
    model: ColorizationNet
    config: ModelConfig
    bins: ColorBins | None
    runtime: Runtime
    temperature: float
    method: str = "annealed"
    name: str = ""
    size: int = NET_SIZE  # the network's input size: what it was trained at
    weights_dtype: torch.dtype = torch.float32  # bfloat16 when the network was frozen for CPU inference
    precision: str = "fp32"  # what the network runs in: fp32, bf16, fp16 or int8
    engine: Any = None  # another engine's ab(lightness) (colorcore.engines), or None for torch
    engine_name: str = "torch"
    selection: Any = None  # how engine auto chose (colorcore.selection.Selection), when it did


    def ab(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) sRGB -> (B, 2, S, S) predicted ab."""
        return self._ab_from_lightness(rgb_to_lab(rgb.to(self.runtime.device))[:, :1])

    @torch.inference_mode()
    def _ab_from_lightness(self, lightness: torch.Tensor) -> torch.Tensor:
        if self.engine is not None:
            return self.engine(lightness)  # (B, 2, S, S): the network, its decoding and the upsampling
        with self.runtime.autocast():
            out = self.model(self.runtime.format(lightness.to(self.weights_dtype)))  # (B, Q, S/4, S/4)
        ab = decode(out, self.config, self.bins.centers if self.bins else None, self.temperature, self.method)
        return F.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False)

    def predict(self, prepared: list[Prepared]) -> torch.Tensor:
        """(B, 2, S, S) ab predicted for photos made ready by ``prepare``."""
        lightness = torch.from_numpy(np.stack([p.small for p in prepared]))[:, None]  # (B, 1, S, S)
        return self._ab_from_lightness(lightness.to(self.runtime.device)).float().cpu()

    def colorize(self, images: list[Image.Image]) -> list[Image.Image]:
        """Colorize RGB (or gray) images of any size: the network sees ``size`` x ``size``, the output
        keeps each image's own size and its full-resolution lightness."""
        prepared = [prepare(im, self.size) for im in images]
        return [Image.fromarray(finish(p, ab)) for p, ab in zip(prepared, self.predict(prepared), strict=True)]


@dataclass(frozen=True)
class Prepared:
    """A photo ready for the network: its lightness at its own size and at the network's."""

    lightness: np.ndarray  # (H, W) float32 L in [0, 100], the output's lightness
    small: np.ndarray  # (S, S) float32 L of the photo resized (bicubic) to the network's size, as in training


def prepare(image: Image.Image, size: int) -> Prepared:
    """The photo's lightness at its own size and at the network's ``size`` (computed once when equal)."""
    image = image if image.mode == "RGB" else image.convert("RGB")
    lightness = lightness8(np.asarray(image))  # (H, W, 3) uint8 -> (H, W)
    return Prepared(lightness, lightness if image.size == (size, size) else _small_lightness(image, size))


def _small_lightness(image: Image.Image, size: int) -> np.ndarray:
    image = image if image.mode == "RGB" else image.convert("RGB")
    return lightness8(np.asarray(image.resize((size, size), Image.Resampling.BICUBIC)))


def network_lightness(images: list[Image.Image], size: int) -> torch.Tensor:
    """(B, 1, size, size) the network's input for ``images``: what int8 calibrates and engine auto compares on."""
    return torch.from_numpy(np.stack([_small_lightness(im, size) for im in images]))[:, None]


def finish(prepared: Prepared, ab: torch.Tensor) -> np.ndarray:
    """(2, S, S) predicted ab -> (H, W, 3) uint8 sRGB at the photo's own size, with its own lightness."""
    h, w = prepared.lightness.shape
    if tuple(ab.shape[-2:]) != (h, w):
        ab = F.interpolate(ab[None], size=(h, w), mode="bilinear", align_corners=False)[0]
    return lab_to_rgb8(prepared.lightness, ab.numpy())


INFERENCE_PRECISIONS = (*PRECISIONS, "int8")
ENGINE_CHOICES = ("torch", "onnxruntime", "auto")  # auto: colorcore.selection
CALIBRATION_IMAGES = 16


def load_colorizer(spec: str, device: str = "auto", precision: str = "auto", temperature: float | None = None,
                   method: str = "annealed", calibration: list[Image.Image] | None = None,
                   engine: str = "torch") -> Colorizer:
    """The colorizer named by ``spec``; temperature defaults to what each model's authors used.

    ``precision="int8"`` quantizes the network for the CPU, calibrated on ``calibration``
    (a few photos like those to be colorized). ``engine="onnxruntime"`` exports the network with its
    decoding to ONNX and runs it there, in fp32 or (calibrated the same way) int8.
    """
    from .engines import ENGINES

    if engine == "auto":
        raise ColorcoreError("engine auto measures the engines on photos: use colorize_path or auto_colorizer")
    if engine not in ENGINES:
        raise ColorcoreError(f"engine must be one of {(*ENGINES, 'auto')}, got {engine!r}")
    if precision not in INFERENCE_PRECISIONS:
        raise ColorcoreError(f"precision must be one of {INFERENCE_PRECISIONS}, got {precision!r}")
    if engine == "onnxruntime":
        return _onnx_colorizer(spec, "fp32" if precision == "auto" else precision, temperature, method, calibration)
    int8 = precision == "int8"
    if int8 and device == "cuda":
        raise ColorcoreError("precision int8 runs on the CPU only; use bf16 or fp16 on CUDA")
    if int8 and not calibration:
        raise ColorcoreError("precision int8 needs calibration images (colorize takes the first 16 of its input)")
    runtime = pick_runtime("cpu", "fp32") if int8 else pick_runtime(device, precision)
    if (path := zhang.weights_of(spec)) is not None:
        config, state, centers = zhang.convert_state_dict(zhang.load_state_dict(path))
        bins = uniform_bins(centers.numpy())
        t = zhang.RELEASE_TEMPERATURE if temperature is None else temperature
        name, size = "zhang2016", NET_SIZE
    else:
        config, state, bins, size = read_checkpoint(Path(spec))
        t = SEED_TEMPERATURE if temperature is None else temperature
        name = Path(spec).stem
    model = ColorizationNet(config)
    model.load_state_dict(state)
    if int8:
        from .quantize import quantize_int8

        quantized = quantize_int8(model.eval(), network_lightness(calibration, size))
        return Colorizer(quantized, config, bins, runtime, t, method, name, size, torch.float32, "int8")
    model = runtime.format_model(model.to(runtime.device).eval())
    model, dtype = _freeze_for_cpu(model, runtime, size)
    return Colorizer(model, config, bins, runtime, t, method, name, size, dtype, runtime.precision)


def _onnx_colorizer(spec: str, precision: str, temperature: float | None, method: str,
                    calibration: list[Image.Image] | None = None) -> Colorizer:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ColorcoreError("engine onnxruntime needs its package: pip install onnxruntime==1.32.0 "
                             "(or choose --engine torch)") from None
    from .engines import onnx_engine

    colorizer = load_colorizer(spec, "cpu", "fp32", temperature, method)
    lightness = network_lightness(calibration, colorizer.size) if calibration else None
    colorizer.engine = onnx_engine(colorizer, precision, calibration=lightness)
    colorizer.engine_name, colorizer.precision = "onnxruntime", precision
    return colorizer


def _freeze_for_cpu(model: ColorizationNet, runtime: Runtime, size: int) -> tuple[torch.nn.Module, torch.dtype]:
    """On a CPU with bfloat16 units: bfloat16 weights, traced and frozen.

    Freezing folds each BatchNorm into its convolution and lets oneDNN fuse the ReLUs, which
    the eager network runs as separate passes: about 10% of the network's time (bench/inference.py).
    """
    if runtime.device.type != "cpu" or runtime.dtype != torch.bfloat16:
        return model, torch.float32
    model = model.to(torch.bfloat16)
    example = runtime.format(torch.full((2, 1, size, size), 50.0, dtype=torch.bfloat16))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python-side arithmetic of the input scaling
        frozen = torch.jit.freeze(torch.jit.trace(model, example, check_trace=False))
    return frozen, torch.bfloat16


def read_checkpoint(path: Path) -> tuple[ModelConfig, dict, ColorBins | None, int]:
    """(model config, weights, bins, training image size) of a colorcore checkpoint."""
    if not path.is_file():
        raise ColorcoreError(f"{path}: no such checkpoint")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors alike
        raise ColorcoreError(f"{path}: not a colorcore checkpoint ({type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or not {"model", "model_config"} <= set(ckpt):
        raise ColorcoreError(f"{path}: not a colorcore checkpoint (no model or model_config inside)")
    config = ModelConfig(**ckpt["model_config"])
    bins = ColorBins.from_state_dict(ckpt["bins"]) if ckpt.get("bins") else None
    return config, ckpt["model"], bins, int(ckpt.get("config", {}).get("image_size", NET_SIZE))


def export_checkpoint(source: Path, target: Path) -> Path:
    """Write the inference part of a training checkpoint (no optimizer, RNG or history)."""
    config, state, bins, size = read_checkpoint(source)
    ckpt = torch.load(source, map_location="cpu", weights_only=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": state, "model_config": ckpt["model_config"], "bins": ckpt.get("bins"),
                "config": ckpt.get("config", {"image_size": size}), "step": ckpt.get("step")}, target)
    return target


def calibration_images(files: list[Path], n: int = CALIBRATION_IMAGES) -> list[Image.Image]:
    """The first ``n`` readable images: what int8 calibrates its activation ranges on."""
    images = []
    for path in files:
        try:
            images.append(load_rgb(path))
        except DataError:
            continue
        if len(images) == n:
            break
    return images


@dataclass
class ColorizeResult:
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    engine: str = ""  # what ran, e.g. "torch int8", and how engine auto chose it


def colorize_path(spec: str | Colorizer, source: Path, output: Path, batch_size: int = 8, precision: str = "auto",
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
        colorizer = _colorizer_for(spec, files, precision, temperature, engine)
    root = source if source.is_dir() else source.parent
    result = ColorizeResult(engine=f"{colorizer.engine_name} {colorizer.precision}"
                            + (f" ({colorizer.selection.describe()})" if colorizer.selection else ""))
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
    # threads: at 512 px, 1.16x to 1.23x the network's time against 1.11x to 1.15x (bench/README.md).
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


def _colorizer_for(spec: str, files: list[Path], precision: str, temperature: float | None, engine: str) -> Colorizer:
    """The colorizer ``colorize`` runs: int8 calibrates on the first input photos; ``engine="auto"``
    takes the fastest accurate engine for this model and CPU (colorcore.selection)."""
    if engine == "auto":
        return auto_colorizer(spec, calibration_images(files, CALIBRATION_IMAGES + 8), precision, temperature)
    calibration = calibration_images(files) if precision == "int8" else None
    return load_colorizer(spec, precision=precision, temperature=temperature, calibration=calibration, engine=engine)


def auto_colorizer(spec: str, photos: list[Image.Image], precision: str = "auto", temperature: float | None = None) -> Colorizer:
    """The colorizer of ``engine="auto"``: measured (once per model and CPU) on ``photos``."""
    from .selection import choose_engine, split_photos

    if precision != "auto":
        raise ColorcoreError(f"engine auto chooses the precision too; drop --precision {precision} or name an engine")
    selection = choose_engine(spec, photos, temperature)
    logger.info("%s", selection.describe())
    calibration = split_photos(photos)[0] if selection.precision == "int8" else None
    colorizer = load_colorizer(spec, precision=selection.precision, temperature=temperature, calibration=calibration,
                               engine=selection.engine)
    colorizer.selection = selection
    return colorizer
