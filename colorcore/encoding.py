"""The ab bins, their prior and rebalancing weights, and the soft-encoding of ground truth.

Soft-encoding (seed section 4.2): each ground-truth ab is spread over its k = 5 nearest bin
centers with Gaussian weights (sigma = 5). Instead of a nearest-neighbour search per pixel,
a lookup table over the integer ab lattice [-128, 127]^2 holds the k bin indices and weights
of every lattice point, so encoding a batch is one rounding and two gathers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree

LUT_MIN, LUT_SIZE = -128, 256  # integer ab lattice covered by the lookup table


@dataclass
class ColorBins:
    """Bin centers (Q, 2), empirical prior p (Q,) and class weights w (Q,); all travel in checkpoints."""

    centers: torch.Tensor
    prior: torch.Tensor
    weights: torch.Tensor
    k: int = 5
    sigma: float = 5.0

    def __post_init__(self) -> None:
        self.centers = torch.as_tensor(self.centers, dtype=torch.float32)
        self.prior = torch.as_tensor(self.prior, dtype=torch.float32)
        self.weights = torch.as_tensor(self.weights, dtype=torch.float32)
        self._lut: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def q(self) -> int:
        return int(self.centers.shape[0])

    def lookup_table(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """(LUT_SIZE^2, k) bin indices and Gaussian weights of every integer ab lattice point."""
        if self._lut is None or self._lut[0].device != torch.device(device):
            axis = np.arange(LUT_MIN, LUT_MIN + LUT_SIZE, dtype=np.float64)
            a, b = np.meshgrid(axis, axis, indexing="ij")
            points = np.stack([a.ravel(), b.ravel()], 1)
            dist, idx = cKDTree(self.centers.numpy().astype(np.float64)).query(points, k=self.k)
            w = np.exp(-(dist**2) / (2 * self.sigma**2))
            w /= w.sum(1, keepdims=True)
            self._lut = (
                torch.from_numpy(idx).long().to(device),
                torch.from_numpy(w).float().to(device),
            )
        return self._lut

    def soft_encode(self, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 2, H, W) ab -> (B, k, H, W) bin indices and (B, k, H, W) weights summing to 1."""
        idx_lut, w_lut = self.lookup_table(ab.device)
        cell = (ab.round().long() - LUT_MIN).clamp_(0, LUT_SIZE - 1)
        flat = cell[:, 0] * LUT_SIZE + cell[:, 1]  # (B, H, W)
        return idx_lut[flat].permute(0, 3, 1, 2), w_lut[flat].permute(0, 3, 1, 2)

    def dense(self, ab: torch.Tensor) -> torch.Tensor:
        """The full (B, Q, H, W) soft-encoded target (for tests and analysis; training uses the sparse form)."""
        idx, w = self.soft_encode(ab)
        out = torch.zeros(ab.shape[0], self.q, *ab.shape[2:], device=ab.device)
        return out.scatter_add_(1, idx, w)

    def state_dict(self) -> dict:
        return {"centers": self.centers, "prior": self.prior, "weights": self.weights, "k": self.k, "sigma": self.sigma}

    @classmethod
    def from_state_dict(cls, state: dict) -> ColorBins:
        return cls(state["centers"], state["prior"], state["weights"], int(state["k"]), float(state["sigma"]))


def ab_histogram(ab: torch.Tensor) -> torch.Tensor:
    """Counts of ab values (B, 2, H, W) on the integer lattice: (LUT_SIZE, LUT_SIZE), int64."""
    cell = (ab.round().long() - LUT_MIN).clamp_(0, LUT_SIZE - 1)
    flat = (cell[:, 0] * LUT_SIZE + cell[:, 1]).reshape(-1)
    return torch.bincount(flat, minlength=LUT_SIZE * LUT_SIZE).reshape(LUT_SIZE, LUT_SIZE)


def rebalancing_weights(prior: np.ndarray, smoothed: np.ndarray, lam: float = 0.5) -> np.ndarray:
    """w proportional to ((1 - lam) p~ + lam / Q)^-1, scaled so that E_p[w] = sum_q p_q w_q = 1 (seed eq. 2)."""
    q = len(prior)
    w = 1.0 / ((1 - lam) * smoothed + lam / q)
    return w / float((prior * w).sum())


def learn_bins(histogram: torch.Tensor | np.ndarray, grid: int = 10, sigma: float = 5.0, lam: float = 0.5,
               k: int = 5) -> ColorBins:
    """Bins from data: the grid cells that occur, their prior, Gaussian-smoothed prior and weights.

    ``histogram`` is an integer-lattice ab histogram from :func:`ab_histogram`, summed over the
    training set.
    """
    hist = np.asarray(histogram, dtype=np.float64)
    a_idx, b_idx = np.nonzero(hist)
    if len(a_idx) == 0:
        raise ValueError("the ab histogram is empty: no color pixels were seen")
    ab = np.stack([a_idx + LUT_MIN, b_idx + LUT_MIN], 1).astype(np.float64)
    counts = hist[a_idx, b_idx]
    cells = np.round(ab / grid) * grid
    centers, inverse = np.unique(cells, axis=0, return_inverse=True)
    prior = np.bincount(inverse.ravel(), weights=counts, minlength=len(centers))
    prior /= prior.sum()
    # Smooth the prior over the ab plane with a Gaussian kernel (sigma in ab units).
    d2 = ((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-d2 / (2 * sigma**2))
    smoothed = kernel @ prior
    smoothed /= smoothed.sum()
    weights = rebalancing_weights(prior, smoothed, lam)
    return ColorBins(torch.from_numpy(centers), torch.from_numpy(prior), torch.from_numpy(weights), k=k, sigma=sigma)


def uniform_bins(centers: np.ndarray, k: int = 5, sigma: float = 5.0) -> ColorBins:
    """Bins with a uniform prior and unit weights (e.g. Zhang's 313 centers without their data)."""
    q = len(centers)
    return ColorBins(torch.as_tensor(centers), torch.full((q,), 1.0 / q), torch.ones(q), k=k, sigma=sigma)
