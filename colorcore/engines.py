"""ONNX export of a colorizer (the network with its decoding) and ONNX Runtime as its engine.

The exported graph maps lightness ``L`` (B, 1, S, S) in [0, 100] to ``ab`` (B, 2, S, S): the
network, the annealed mean at the colorizer's temperature (or the regression head's scaling) and
the x4 bilinear upsampling, exactly what colorcore computes, so that a model runs wherever ONNX
runs. Converting to and from Lab and resizing stay outside, as in colorcore.

``export_onnx`` can equalize the channels first (:func:`colorcore.quantize.equalize_channels`,
exact in float). ONNX Runtime runs the fp32 graph, or its own static int8 quantization of it
(``quantize_onnx``), calibrated on real photos.
"""
from __future__ import annotations

import contextlib
import copy
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ColorcoreError
from .model import decode
from .quantize import as_subpixel, equalize_channels

logger = logging.getLogger(__name__)
ENGINES = ("torch", "onnxruntime")
OPSET = 17


class ABGraph(nn.Module):
    """What is exported: L (B, 1, S, S) -> ab (B, 2, S, S) at the network's decoding settings."""

    def __init__(self, network) -> None:
        super().__init__()
        self.net = network.model
        self.config, self.temperature, self.method = network.config, network.temperature, network.method
        centers = network.bins.centers.float() if network.bins is not None else torch.zeros(1, 2)
        self.register_buffer("centers", centers)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        out = self.net(lightness)  # (B, Q, S/4, S/4) logits, or (B, 2, S/4, S/4) for regression
        ab = decode(out, self.config, self.centers, self.temperature, self.method)
        return F.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False)


def export_onnx(network, size: int, path: Path, calibration: torch.Tensor | None = None,
                subpixel: bool = False) -> Path:
    """Write ``network`` (:class:`colorcore.colorizer.TorchNetwork` in fp32) as an ONNX graph for
    ``size`` x ``size`` inputs; ``calibration`` lightness equalizes its channels first (exact in
    float; what colorcore's own int8 needs). ``subpixel`` writes the transposed convolution as the
    equivalent sub-pixel convolution (what ONNX Runtime's int8 needs)."""
    if network.runtime.dtype is not None or not isinstance(network.model, nn.Module) or isinstance(
            network.model, torch.jit.ScriptModule):
        raise ColorcoreError("ONNX export starts from the fp32 network (load it with --precision fp32)")
    graph = ABGraph(network)
    if calibration is not None or subpixel:
        graph.net = copy.deepcopy(network.model).eval()
    if calibration is not None:
        graph.net = equalize_channels(graph.net, calibration[:16])
    if subpixel:
        as_subpixel(graph.net)
    example = torch.full((1, 1, size, size), 50.0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(graph.eval(), (example,), str(path), dynamo=False, opset_version=OPSET,
                          input_names=["L"], output_names=["ab"], dynamic_axes={"L": {0: "batch"}, "ab": {0: "batch"}})
    return path


def session(path: Path):
    """An ONNX Runtime session on the CPU with every graph optimization."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@dataclass
class OnnxEngine:
    """Runs an exported colorizer: ``ab(lightness)`` as colorcore's network and decoding do."""

    session: Any
    path: Path  # the graph it was opened from; removed already when it was built in a temporary folder

    def __call__(self, lightness: torch.Tensor) -> torch.Tensor:
        ab = self.session.run(None, {"L": np.ascontiguousarray(lightness.float().cpu().numpy())})[0]
        return torch.from_numpy(ab)


def quantize_onnx(source: Path, target: Path, calibration: torch.Tensor) -> Path:
    """ONNX Runtime's static int8 quantization of an exported colorizer, calibrated on ``calibration``
    lightness (N, 1, S, S): QDQ, per-channel weights, every convolution but the bin logits.

    What keeps it within 2 ab units of fp32 (bench/README.md, "ONNX Runtime int8"):
    - 7-bit weights (``reduce_range``). AVX2's u8 x s8 multiply-add saturates 16-bit sums with
      8-bit weights: 12 ab units off.
    - Percentile calibration of the activations.
    - The logits' convolution left in float.
    - No channel equalization. The rescaled weights that help colorcore's own int8 put ONNX
      Runtime's 20 to 30 ab units off.
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Photos(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"L": calibration[i : i + 1].float().numpy()} for i in range(len(calibration))])

        def get_next(self):
            return next(self.batches, None)

    convolutions = [node.name for node in onnx.load(str(source)).graph.node if node.op_type == "Conv"]
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its advice to pre-process the graph, and its progress lines
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            quantize_static(str(source), str(target), Photos(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                            reduce_range=True, calibrate_method=CalibrationMethod.Percentile,
                            op_types_to_quantize=["Conv"], nodes_to_exclude=convolutions[-1:])
    finally:
        quiet.setLevel(level)
    return target


def graph_file(folder: Path, name: str, precision: str) -> Path:
    """Where :func:`onnx_engine` writes the graph it runs for ``precision`` (fp32 or int8)."""
    return folder / (f"{name}-int8.onnx" if precision == "int8" else f"{name}.onnx")


def onnx_engine(network, size: int, precision: str, folder: Path, name: str = "model",
                calibration: torch.Tensor | None = None) -> OnnxEngine:
    """Export ``network`` (fp32) to ONNX in ``folder`` and open an ONNX Runtime session on it; int8
    quantizes the graph first, calibrated on ``calibration`` lightness."""
    if precision not in ("fp32", "int8"):
        raise ColorcoreError(f"the onnxruntime engine runs fp32 or int8, got {precision!r}")
    if precision == "int8" and (calibration is None or len(calibration) == 0):
        raise ColorcoreError("int8 on onnxruntime needs calibration images (colorize takes the first 16 of its input)")
    target = graph_file(Path(folder), name, precision)
    if precision == "int8":
        # From the sub-pixel graph, written under its own name (fp32's graph may be kept beside it)
        # and removed once quantized: the int8 graph is all the session needs.
        source = export_onnx(network, size, target.with_name(f"{name}-subpixel.onnx"), subpixel=True)
        path = quantize_onnx(source, target, calibration)
        source.unlink()
    else:
        path = export_onnx(network, size, target)
    logger.info("onnxruntime engine: %s (%s)", path, precision)
    return OnnxEngine(session(path), path)
