"""Deterministic, seeded train/validation/test split by group (the person for LFW).

A hash of (seed, group) decides, so the split of a person never changes when other people are
added to or removed from the folder, and no identity is ever on both sides.
"""
from __future__ import annotations

import hashlib

SPLITS = ("train", "val", "test")


def split_of(group: str, seed: int = 0, val: float = 0.1, test: float = 0.1) -> str:
    """The split ('train', 'val' or 'test') of ``group``.

    Examples
    --------
    >>> split_of("Aaron_Eckhart") in SPLITS
    True
    >>> split_of("Aaron_Eckhart", seed=3) == split_of("Aaron_Eckhart", seed=3)
    True
    """
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < test:
        return "test"
    if u < test + val:
        return "val"
    return "train"
