"""ONNX export of a colorizer (the network with its decoding) and ONNX Runtime as its engine.

The exported graph maps lightness ``L`` (B, 1, S, S) in [0, 100] to ``ab`` (B, 2, S, S): the
network, the annealed mean at the colorizer's temperature (or the regression head's scaling) and
the x4 bilinear upsampling, exactly what colorcore computes, so that a model runs wherever ONNX
runs. Converting to and from Lab and resizing stay outside, as in colorcore.

``export_onnx`` can equalize the channels first (:func:`colorcore.quantize.equalize_channels`,
exact in float), the starting point of an int8 graph. ONNX Runtime runs the fp32 graph; its own
int8 quantization is refused for now (see ``onnx_engine``).
"""
from __future__ import annotations

import copy
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ColorcoreError
from .model import decode
from .quantize import equalize_channels

logger = logging.getLogger(__name__)
ENGINES = ("torch", "onnxruntime")
OPSET = 17


class ABGraph(nn.Module):
    """What is exported: L (B, 1, S, S) -> ab (B, 2, S, S) at the colorizer's decoding settings."""

    def __init__(self, colorizer) -> None:
        super().__init__()
        self.net = colorizer.model
        self.config, self.temperature, self.method = colorizer.config, colorizer.temperature, colorizer.method
        centers = colorizer.bins.centers.float() if colorizer.bins is not None else torch.zeros(1, 2)
        self.register_buffer("centers", centers)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        out = self.net(lightness)  # (B, Q, S/4, S/4) logits, or (B, 2, S/4, S/4) for regression
        ab = decode(out, self.config, self.centers, self.temperature, self.method)
        return F.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False)


def export_onnx(colorizer, path: Path, calibration: torch.Tensor | None = None) -> Path:
    """Write ``colorizer`` (fp32, torch engine) as an ONNX graph; ``calibration`` lightness equalizes
    its channels first (exact in float; what int8 needs)."""
    if colorizer.precision != "fp32" or not isinstance(colorizer.model, nn.Module) or isinstance(
            colorizer.model, torch.jit.ScriptModule):
        raise ColorcoreError("ONNX export starts from the fp32 network (load it with --precision fp32)")
    graph = ABGraph(colorizer)
    if calibration is not None:
        graph.net = equalize_channels(copy.deepcopy(colorizer.model).eval(), calibration[:16])
    example = torch.full((1, 1, colorizer.size, colorizer.size), 50.0)
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
    path: Path

    def __call__(self, lightness: torch.Tensor) -> torch.Tensor:
        ab = self.session.run(None, {"L": np.ascontiguousarray(lightness.float().cpu().numpy())})[0]
        return torch.from_numpy(ab)


def onnx_engine(colorizer, precision: str, folder: Path | None = None) -> OnnxEngine:
    """Export ``colorizer`` (fp32) to ONNX and open an ONNX Runtime session on it."""
    if precision == "int8":
        # Measured: ONNX Runtime's static quantization (QDQ and QOperator, MinMax and percentile
        # calibration, 7-bit weights, with and without channel equalization) put the trained small
        # network 20 to 29 ab units off fp32, against 1.3 for colorcore's own int8 path.
        raise ColorcoreError("int8 on onnxruntime is not available: its quantization is far off fp32 on trained "
                             "networks; use --engine torch --precision int8")
    if precision != "fp32":
        raise ColorcoreError(f"the onnxruntime engine runs fp32, got {precision!r}")
    folder = Path(folder or tempfile.mkdtemp(prefix="colorcore-onnx-"))
    path = export_onnx(colorizer, folder / f"{colorizer.name or 'model'}.onnx")
    logger.info("onnxruntime engine: %s (%s)", path, precision)
    return OnnxEngine(session(path), path)
