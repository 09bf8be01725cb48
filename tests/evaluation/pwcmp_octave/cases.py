"""The cases on which the JOD scaling is checked against pwcmp: the tone-mapping study and two small
matrices that exercise pwcmp's special handling (unanimous pairs, a disconnected comparison graph)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluation.matrices import comparison_counts
from evaluation.votes import load_votes

from ...conftest import FIXTURES

TMO = FIXTURES / "tmo" / "tmo_cmp_data.csv"  # pwcmp's example study, shipped with its licence
EXPECTED = Path(__file__).resolve().parent / "tmo_expected.json"

# D[i, j] = times i chosen over j. Unanimous pairs (0 against 6, 4 against 0) beside mixed ones.
UNANIMOUS = np.array([[0, 0, 3, 1], [6, 0, 2, 5], [4, 3, 0, 0], [2, 1, 4, 0]])
# Systems 0-1 and 2-3-4 were never compared with each other.
DISCONNECTED = np.array([[0, 7, 0, 0, 0], [3, 0, 0, 0, 0], [0, 0, 0, 5, 2], [0, 0, 4, 0, 6], [0, 0, 1, 3, 0]])


def tmo_votes():
    return load_votes(TMO)


def tmo_cases():
    """The matrices of the tone-mapping study: all scenes pooled, then each scene; and the per-scene groups."""
    votes = tmo_votes()
    systems = sorted(set(votes["left_system"]) | set(votes["right_system"]))
    pooled = comparison_counts(votes, systems)
    scenes = sorted(votes["image"].unique())
    groups = [comparison_counts(votes[votes["image"] == s], systems) for s in scenes]
    return systems, pooled, scenes, groups


def reference_first(matrix: np.ndarray, index: int) -> tuple[np.ndarray, list[int]]:
    """The matrix with system ``index`` moved first, as pwcmp's 'fix0' expects its reference."""
    order = [index] + [i for i in range(len(matrix)) if i != index]
    return matrix[np.ix_(order, order)], order


def observer_matrices(groups) -> list[np.ndarray]:
    """pwcmp's per-group MM: one row per observer, that observer's matrix flattened column-major."""
    return [np.stack([m.flatten(order="F") for m in g.per_participant]) for g in groups]
