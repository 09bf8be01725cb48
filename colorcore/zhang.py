"""The official pretrained eccv16 model of Zhang et al., mapped into colorcore's own network.

Their state_dict has the same layer names as :class:`colorcore.model.ColorizationNet`
(``model1.0.weight`` .. ``model8.6.bias``, BatchNorm at ``model1.4`` .. ``model7.6``) plus
``model_out.weight``, the 313 -> 2 projection whose columns are the bin centers divided by 110.
So the centers come out of the weights, and their softmax-then-project output is colorcore's
decoding with temperature 1 (the plain mean).
"""
from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

import torch

from .errors import ColorcoreError
from .model import ModelConfig

logger = logging.getLogger(__name__)

FILENAME = "colorization_release_v2-9b330a0b.pth"
URL = "https://colorizers.s3.us-east-2.amazonaws.com/" + FILENAME
SHA256 = "9b330a0bae53f4ded77b1e23defbf78beaa09c10ebc4c4999e8e4f4a160b93f9"
SIZE = 128_976_165
AB_SCALE = 110.0
RELEASE_TEMPERATURE = 1.0  # the release takes the mean of the softmax: no annealing


def default_dir() -> Path:
    return Path(os.environ.get("COLORCORE_WEIGHTS", Path.home() / ".cache" / "colorcore"))


def default_path() -> Path:
    return default_dir() / FILENAME


def weights_of(spec: str) -> Path | None:
    """The weights file a model spec names when it is ``zhang2016`` or ``zhang2016:PATH``; None otherwise."""
    if spec == "zhang2016":
        return default_path()
    if spec.startswith("zhang2016:"):
        return Path(spec.split(":", 1)[1])
    return None


def convert_state_dict(state: dict[str, torch.Tensor]) -> tuple[ModelConfig, dict[str, torch.Tensor], torch.Tensor]:
    """Official eccv16 state_dict -> (config, colorcore state_dict, bin centers (313, 2) in ab units)."""
    if "model_out.weight" not in state or "model8.6.weight" not in state:
        raise ColorcoreError("not an eccv16 state_dict: model_out.weight or model8.6.weight is missing")
    proj = state["model_out.weight"]  # (2, Q, 1, 1)
    centers = proj[:, :, 0, 0].T.float() * AB_SCALE  # (Q, 2)
    converted = {k: v for k, v in state.items() if k != "model_out.weight"}
    for key in [k for k in converted if k.endswith(".running_mean")]:
        converted.setdefault(key.replace("running_mean", "num_batches_tracked"), torch.tensor(0))
    config = ModelConfig(q=int(proj.shape[1]), head="classification", width=1.0, ab_scale=AB_SCALE)
    return config, converted, centers


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise ColorcoreError(
            f"Zhang et al.'s weights are not at {path}. Run `python -m colorcore fetch-weights zhang2016` "
            f"or download {URL} by hand and put it there (or name it with zhang2016:PATH)."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise ColorcoreError(f"{path}: not a PyTorch state_dict ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise ColorcoreError(f"{path}: not a state_dict")
    return state


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_weights(dest: Path | None = None, url: str = URL, timeout: float = 30.0) -> Path:
    """Download the official weights with a checksum check; a clear error without network."""
    folder = Path(dest) if dest else default_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / FILENAME
    if target.exists() and sha256(target) == SHA256:
        logger.info("already present and verified: %s", target)
        return target
    partial = target.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as fh:
            while chunk := response.read(1 << 20):
                fh.write(chunk)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise ColorcoreError(
            f"could not download {url} ({exc}). Without network, download it elsewhere and copy it to {target}"
        ) from None
    if sha256(partial) != SHA256:
        partial.unlink(missing_ok=True)
        raise ColorcoreError(f"the download from {url} does not have the expected sha256 {SHA256}; nothing kept")
    os.replace(partial, target)
    return target
