"""The checkpoint format, in one place: what training writes and resumes from, what inference,
export and ``engine auto`` read, and the resolution of a model spec to its weights.

A checkpoint is one ``torch.save``d dict:

- ``model``: the network's state dict; ``model_config``: :class:`ModelConfig` as a dict;
- ``bins``: the learned ab bins with their prior (:meth:`ColorBins.state_dict`), or None;
- ``config``: the training configuration (its ``image_size`` is the network's input size);
- ``step``; and in a training run's ``last.pt`` what resuming needs (``optimizer``, ``scaler``,
  ``epoch``, ``in_epoch``, ``rng``, ``stats``, ``history``, ``first_losses``).

A model spec is a checkpoint path, ``zhang2016`` (Zhang et al.'s release at the default
location) or ``zhang2016:PATH``; :func:`load_weights` maps either to a :class:`Weights`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from . import zhang
from .encoding import ColorBins, uniform_bins
from .errors import ColorcoreError
from .model import ModelConfig

NET_SIZE = 256  # the network's input size unless the checkpoint was trained at another
SEED_TEMPERATURE = 0.6  # the annealed mean the seed chose for its model; Zhang et al. used 0.38
INFERENCE_KEYS = ("model", "model_config", "bins", "config", "step")


def write(path: Path, **payload) -> None:
    """Write atomically: a crash mid-write never leaves a broken checkpoint behind."""
    missing = {"model", "model_config"} - set(payload)
    if missing:
        raise ValueError(f"a checkpoint needs {sorted(missing)}")
    tmp = Path(path).with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def read(path: Path, device: str | torch.device = "cpu") -> dict:
    """The whole checkpoint (for resuming a run); a clear error for anything that is not one."""
    path = Path(path)
    if not path.is_file():
        raise ColorcoreError(f"{path}: no such checkpoint")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors alike
        raise ColorcoreError(f"{path}: not a colorcore checkpoint ({type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or not {"model", "model_config"} <= set(ckpt):
        raise ColorcoreError(f"{path}: not a colorcore checkpoint (no model or model_config inside)")
    return ckpt


def export(source: Path, target: Path) -> Path:
    """Write the inference part of a training checkpoint (no optimizer, RNG or history)."""
    ckpt = read(source)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    write(target, **{key: ckpt.get(key) for key in INFERENCE_KEYS})
    return target


@dataclass(frozen=True)
class Weights:
    """A model's weights, mapped into colorcore's network, with what decoding them needs."""

    name: str
    path: Path  # the file the weights came from (engine auto keys its cache on its hash)
    config: ModelConfig
    state: dict
    bins: ColorBins | None
    size: int  # the network's input size
    temperature: float  # the annealed mean its authors used


def load_weights(spec: str) -> Weights:
    """The weights named by ``spec``: a colorcore checkpoint, ``zhang2016`` or ``zhang2016:PATH``."""
    if (path := zhang.weights_of(spec)) is not None:
        config, state, centers = zhang.convert_state_dict(zhang.load_state_dict(path))
        return Weights("zhang2016", path, config, state, uniform_bins(centers.numpy()), NET_SIZE,
                       zhang.RELEASE_TEMPERATURE)
    path = Path(spec)
    ckpt = read(path)
    bins = ColorBins.from_state_dict(ckpt["bins"]) if ckpt.get("bins") else None
    size = int((ckpt.get("config") or {}).get("image_size", NET_SIZE))
    return Weights(path.stem, path, ModelConfig(**ckpt["model_config"]), ckpt["model"], bins, size, SEED_TEMPERATURE)
