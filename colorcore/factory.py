"""One constructor for every colorizer: :func:`make_colorizer` (``colorize``, ``evaluate``,
``generate_pairs`` and the benchmarks call it).

The weights are resolved apart (:func:`colorcore.checkpoint.load_weights`); then an engine and a
precision make the network: torch in fp32 (the default, the reference every other is measured
against), bf16 or fp16, colorcore's int8, or ONNX Runtime in fp32 or int8. ``engine="auto"``
takes the fastest of them whose colours stay within :data:`colorcore.selection.TOLERANCE` of fp32,
measured once per model and CPU (:mod:`colorcore.selection`), and keeps the chosen engine's
prepared model, so that later runs load it instead of quantizing and exporting again.
"""
from __future__ import annotations

import logging
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from .checkpoint import Weights, load_weights
from .colorizer import Colorizer, TorchNetwork, network_lightness
from .data import DataError, load_rgb
from .errors import ColorcoreError
from .model import ColorizationNet
from .runtime import Runtime, pick_runtime

logger = logging.getLogger(__name__)
ENGINES = ("torch", "onnxruntime")
ENGINE_CHOICES = (*ENGINES, "auto")
INFERENCE_PRECISIONS = ("fp32", "bf16", "fp16", "int8")
CALIBRATION_IMAGES = 16  # photos int8 calibrates its activation ranges on
AUTO_IMAGES = CALIBRATION_IMAGES + 8  # engine auto: those, and the held-out photos it compares on


def make_colorizer(spec: str, engine: str = "torch", precision: str = "fp32", photos: list[Image.Image] | None = None,
                   temperature: float | None = None, device: str = "auto", method: str = "annealed") -> Colorizer:
    """The colorizer of the model ``spec`` (a checkpoint, ``zhang2016`` or ``zhang2016:PATH``).

    ``photos`` are a few of those to be colorized: int8 calibrates on them, engine auto measures
    on them (and needs them only when its choice for this model and CPU is not cached yet).
    ``temperature`` defaults to what the model's authors used.
    """
    if engine not in ENGINE_CHOICES:
        raise ColorcoreError(f"engine must be one of {ENGINE_CHOICES}, got {engine!r}")
    if precision not in INFERENCE_PRECISIONS:
        raise ColorcoreError(f"precision must be one of {INFERENCE_PRECISIONS}, got {precision!r}")
    weights = load_weights(spec)
    t = weights.temperature if temperature is None else temperature
    if engine == "auto":
        if precision != "fp32":
            raise ColorcoreError(f"engine auto chooses the precision too; drop --precision {precision} or name an engine")
        return _auto(weights, t, method, photos or [])
    return _build(weights, engine, precision, t, method, device, photos)


def colorizer_for_files(spec: str, files: list[Path], engine: str = "torch", precision: str = "fp32",
                        temperature: float | None = None) -> Colorizer:
    """:func:`make_colorizer` with the photos it needs read from ``files``: none for most engines,
    the first 16 to calibrate int8 on, and 8 more for engine auto to measure on."""
    wanted = AUTO_IMAGES if engine == "auto" else CALIBRATION_IMAGES if precision == "int8" else 0
    return make_colorizer(spec, engine, precision, first_photos(files, wanted) if wanted else None, temperature)


def first_photos(files: list[Path], n: int = CALIBRATION_IMAGES) -> list[Image.Image]:
    """The first ``n`` readable photos of ``files``: what int8 calibrates on and engine auto measures on."""
    images = []
    for path in files:
        try:
            images.append(load_rgb(path))
        except DataError:
            continue
        if len(images) == n:
            break
    return images


def _torch_network(weights: Weights, runtime: Runtime, t: float, method: str) -> TorchNetwork:
    model = ColorizationNet(weights.config)
    model.load_state_dict(weights.state)
    model = runtime.format_model(model.to(runtime.device).eval())
    model, dtype = _freeze_for_cpu(model, runtime, weights.size)
    return TorchNetwork(model, weights.config, weights.bins, runtime, t, method, dtype)


def _build(weights: Weights, engine: str, precision: str, t: float, method: str, device: str = "auto",
           photos: list[Image.Image] | None = None, prepared: Path | None = None) -> Colorizer:
    """One engine and precision; ``prepared`` is a folder to keep (or take) the prepared model in."""
    make = {"torch": _torch, "onnxruntime": _onnx}[engine]
    network = make(weights, precision, t, method, device, photos, prepared)
    return Colorizer(network, weights.name, weights.size, t, precision, engine,
                     classification=weights.config.head == "classification")


def _torch(weights, precision, t, method, device, photos, prepared) -> TorchNetwork:
    if precision != "int8":
        return _torch_network(weights, pick_runtime(device, precision), t, method)
    if device == "cuda":
        raise ColorcoreError("precision int8 runs on the CPU only; use bf16 or fp16 on CUDA")
    runtime = pick_runtime("cpu", "fp32")
    kept = _prepared_file(prepared, "torch", "int8", t) if prepared else None
    if kept is not None and kept.is_file():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is what keeps a quantized module
            model = torch.jit.load(str(kept))
    else:
        if not photos:
            raise ColorcoreError("precision int8 needs calibration images (colorize takes the first 16 of its input)")
        from .quantize import quantize_int8

        model = quantize_int8(_torch_network(weights, runtime, t, method).model, network_lightness(photos, weights.size))
        if kept is not None:
            kept.parent.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.jit.save(model, str(kept))
    return TorchNetwork(model, weights.config, weights.bins, runtime, t, method)


def _onnx(weights, precision, t, method, device, photos, prepared):
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ColorcoreError("engine onnxruntime needs its package: pip install onnxruntime==1.32.0 "
                             "(or choose --engine torch)") from None
    from .engines import OnnxEngine, onnx_engine, session

    if precision not in ("fp32", "int8"):
        raise ColorcoreError(f"the onnxruntime engine runs fp32 or int8, got {precision!r}")
    name = _onnx_name(t)
    kept = _prepared_file(prepared, "onnxruntime", precision, t) if prepared else None
    if kept is not None and kept.is_file():
        return OnnxEngine(session(kept), kept)
    network = _torch_network(weights, pick_runtime("cpu", "fp32"), t, method)
    calibration = network_lightness(photos, weights.size) if photos else None
    if prepared is not None:
        prepared.mkdir(parents=True, exist_ok=True)
        return onnx_engine(network, weights.size, precision, prepared, name, calibration)
    # Nothing to keep: the session holds the graph in memory, and a full-size graph is the size of
    # the weights (bench/README.md, "ONNX graphs on disk"), left in /tmp by every run otherwise.
    with tempfile.TemporaryDirectory(prefix="colorcore-onnx-") as folder:
        return onnx_engine(network, weights.size, precision, Path(folder), name, calibration)


def _auto(weights: Weights, t: float, method: str, photos: list[Image.Image]) -> Colorizer:
    from .selection import choose_engine, prepared_folder, split_photos

    folder = prepared_folder(weights.path)

    def build(engine: str, precision: str, calibration: list[Image.Image]) -> Colorizer:
        return _build(weights, engine, precision, t, method, "cpu", calibration, folder)

    selection = choose_engine(weights.path, photos, t, build)
    calibration = split_photos(photos)[0] if photos else None
    colorizer = _build(weights, selection.engine, selection.precision, t, method, "cpu", calibration, folder)
    _keep_only(folder, colorizer, t)
    logger.info("%s", selection.describe())
    return replace(colorizer, selection=selection)


def _onnx_name(t: float) -> str:
    """The name of the ONNX graphs of a model at temperature ``t`` (engines.graph_file adds the precision)."""
    return f"onnxruntime-T{t:g}"


PREPARED = (("torch", "int8"), ("onnxruntime", "fp32"), ("onnxruntime", "int8"))  # those with a file to keep


def _prepared_file(folder: Path, engine: str, precision: str, t: float) -> Path | None:
    """Where engine auto keeps the prepared model of a candidate at temperature ``t``; None for
    torch fp32 and bf16, which need none."""
    if (engine, precision) not in PREPARED:
        return None
    if engine == "torch":
        return folder / f"torch-T{t:g}-int8.pt"
    from .engines import graph_file

    return graph_file(folder, _onnx_name(t), precision)


def _keep_only(folder: Path, winner: Colorizer, t: float) -> None:
    """Remove the prepared models of the candidates that lost at temperature ``t`` (their sizes are
    in bench/README.md, "ONNX graphs on disk"); those of other temperatures' choices stay."""
    kept = _prepared_file(folder, winner.engine, winner.precision, t)
    for path in {_prepared_file(folder, engine, precision, t) for engine, precision in PREPARED} - {kept}:
        path.unlink(missing_ok=True)


def _freeze_for_cpu(model: ColorizationNet, runtime: Runtime, size: int) -> tuple[torch.nn.Module, torch.dtype]:
    """On a CPU with bfloat16 units, asked for bf16: bfloat16 weights, traced and frozen.

    Freezing folds each BatchNorm into its convolution and lets oneDNN fuse the ReLUs, which
    the eager network runs as separate passes: about a tenth of the network's time (bench/README.md).
    """
    if runtime.device.type != "cpu" or runtime.dtype != torch.bfloat16:
        return model, torch.float32
    model = model.to(torch.bfloat16)
    example = runtime.format(torch.full((2, 1, size, size), 50.0, dtype=torch.bfloat16))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python-side arithmetic of the input scaling
        frozen = torch.jit.freeze(torch.jit.trace(model, example, check_trace=False))
    return frozen, torch.bfloat16
