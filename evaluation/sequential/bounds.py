"""Boundaries of a group-sequential plan: Lan-DeMets spending, and the exact joint distribution of
the z statistics at the looks (Brownian motion in the information fraction ``t``) by recursive
numerical integration (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000, chapter 19).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

SPENDING = ("obf", "pocock", "power")
GRID = 801  # points per continuation interval (odd, for Simpson's rule)
MAX_Z = 8.0  # a bound is never above this (ldbounds' truncation): looks that spend nothing


def spent(t: float | np.ndarray, alpha: float, spending: str = "obf", rho: float = 1.0) -> np.ndarray:
    """Cumulative error ``alpha`` spent by information fraction ``t`` (one side, or one tail).

    ``obf``: ``2 - 2 Phi(z(1 - alpha/2) / sqrt(t))``; ``pocock``: ``alpha log(1 + (e - 1) t)``;
    ``power``: ``alpha t**rho``.

    >>> round(float(spent(1.0, 0.025)), 9), round(float(spent(0.5, 0.025)), 6)
    (0.025, 0.001525)
    """
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    if spending == "obf":
        with np.errstate(divide="ignore"):
            return np.where(t > 0, 2 - 2 * stats.norm.cdf(stats.norm.ppf(1 - alpha / 2) / np.sqrt(t)), 0.0)
    if spending == "pocock":
        return alpha * np.log1p((math.e - 1) * t)
    if spending == "power":
        if rho <= 0:
            raise ValueError(f"the power family's exponent rho must be positive, got {rho}")
        return alpha * t**rho
    raise ValueError(f"spending must be one of {', '.join(SPENDING)}, got {spending!r}")


def _simpson(a: float, b: float, n: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(a, b, n)
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4, 2
    return x, w * (b - a) / (3 * (n - 1))


@dataclass
class _Walk:
    """The sub-density of Z at the current look on the paths that have not stopped yet."""

    t: float
    x: np.ndarray = field(default_factory=lambda: np.zeros(0))  # grid of the continuation region
    w: np.ndarray = field(default_factory=lambda: np.zeros(0))  # quadrature weights
    f: np.ndarray = field(default_factory=lambda: np.zeros(0))  # density at x

    def tail(self, t_next: float, z: float, drift: float, upper: bool) -> float:
        """P(not stopped before, Z(t_next) >= z) (or <= z) for the drift ``drift``."""
        if self.t == 0:  # the first look: Z ~ N(drift sqrt(t), 1)
            m = drift * math.sqrt(t_next)
            return float(stats.norm.sf(z - m) if upper else stats.norm.cdf(z - m))
        if self.x.size == 0:  # every path has stopped
            return 0.0
        dt = t_next - self.t
        arg = (z * math.sqrt(t_next) - self.x * math.sqrt(self.t) - drift * dt) / math.sqrt(dt)
        p = stats.norm.sf(arg) if upper else stats.norm.cdf(arg)
        return float(np.sum(self.w * self.f * p))

    def advance(self, t_next: float, intervals: list[tuple[float, float]], drift: float) -> _Walk:
        """The density at the next look, restricted to ``intervals`` (where the study goes on)."""
        grids = [_simpson(a, b) for a, b in intervals if b > a]
        x = np.concatenate([g[0] for g in grids]) if grids else np.zeros(0)
        w = np.concatenate([g[1] for g in grids]) if grids else np.zeros(0)
        if self.t == 0:
            f = stats.norm.pdf(x - drift * math.sqrt(t_next))
        elif self.x.size == 0:
            f = np.zeros_like(x)
        else:
            dt = t_next - self.t
            arg = (x[:, None] * math.sqrt(t_next) - self.x[None, :] * math.sqrt(self.t) - drift * dt) / math.sqrt(dt)
            f = (stats.norm.pdf(arg) * math.sqrt(t_next / dt)) @ (self.w * self.f)
        return _Walk(t_next, x, w, f)


def _solve(f, target: float, low: float, high: float) -> float:
    """The x in [low, high] where the monotone ``f(x)`` equals ``target``."""
    return float(optimize.brentq(lambda x: f(x) - target, low, high, xtol=1e-10))


def _check_looks(looks) -> np.ndarray:
    t = np.asarray(looks, dtype=float)
    if t.ndim != 1 or t.size == 0 or np.any(np.diff(t) <= 0) or t[0] <= 0 or abs(t[-1] - 1) > 1e-9:
        raise ValueError(f"looks must be increasing information fractions in (0, 1] ending at 1, got {list(looks)}")
    return t


def efficacy_bounds(looks, alpha: float = 0.05, spending: str = "obf", rho: float = 1.0) -> list[float]:
    """Two-sided symmetric efficacy bounds: stop at look k when |Z_k| >= bound k.

    ``alpha`` is the total two-sided error, ``alpha / 2`` spent on each side.
    """
    t = _check_looks(looks)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    per_side = np.diff(spent(t, alpha / 2, spending, rho), prepend=0.0)
    walk, bounds = _Walk(0.0), []
    for tk, increment in zip(t, per_side, strict=True):
        if increment <= 1e-15 or walk.tail(tk, MAX_Z, 0.0, True) >= increment:
            c = MAX_Z
        else:
            c = _solve(lambda z, tk=tk, walk=walk: walk.tail(tk, z, 0.0, True), increment, 0.0, MAX_Z)
        bounds.append(float(c))
        walk = walk.advance(tk, [(-c, c)], 0.0)
    return bounds


@dataclass(frozen=True)
class Crossing:
    """Where the paths go at each look, for a given drift: efficacy (either side), futility, or on."""

    efficacy: tuple[float, ...]
    futility: tuple[float, ...]

    @property
    def power(self) -> float:
        return sum(self.efficacy)

    def stopping(self) -> np.ndarray:
        return np.array(self.efficacy) + np.array(self.futility)


def crossing(looks, efficacy: list[float], futility: list[float] | None, drift: float) -> Crossing:
    """Probabilities of stopping at each look for efficacy and for futility (|Z| < futility bound),
    when E[Z_k] = drift * sqrt(t_k)."""
    t = _check_looks(looks)
    futility = futility or [0.0] * len(t)
    walk, eff, fut = _Walk(0.0), [], []
    for tk, c, b in zip(t, efficacy, futility, strict=True):
        up, down = walk.tail(tk, c, drift, True), walk.tail(tk, -c, drift, False)
        inner = walk.tail(tk, -b, drift, True) - walk.tail(tk, b, drift, True) if b > 0 else 0.0
        eff.append(up + down)
        fut.append(max(inner, 0.0))
        walk = walk.advance(tk, [(-c, -b), (b, c)] if b > 0 else [(-c, c)], drift)
    return Crossing(tuple(eff), tuple(fut))


def futility_bounds(looks, efficacy: list[float], drift: float, beta: float, spending: str = "obf",
                    rho: float = 1.0) -> list[float]:
    """Non-binding futility bounds by beta spending under ``drift``: stop at look k when |Z_k| < bound k.
    The last one is the last efficacy bound (the final look decides either way)."""
    t = _check_looks(looks)
    increments = np.diff(spent(t, beta, spending, rho), prepend=0.0)
    walk, bounds = _Walk(0.0), []
    for k, (tk, c, inc) in enumerate(zip(t, efficacy, increments, strict=True)):
        if k == len(t) - 1:
            b = c
        else:
            def mass(b, walk=walk, tk=tk):  # P(|Z_k| < b and not stopped before)
                return walk.tail(tk, -b, drift, True) - walk.tail(tk, b, drift, True)
            b = 0.0 if inc <= 1e-15 else (c if mass(c) <= inc else _solve(mass, inc, 0.0, c))
        bounds.append(float(b))
        walk = walk.advance(tk, [(-c, -b), (b, c)] if b > 0 else [(-c, c)], drift)
    return bounds


def drift_for_power(looks, efficacy: list[float], power: float, beta_spending: str | None = None,
                    rho: float = 1.0) -> tuple[float, list[float] | None]:
    """The drift (E[Z] at t = 1) that gives ``power``; with ``beta_spending``, the futility bounds
    that go with it (their last bound meets the efficacy bound)."""
    beta = 1 - power

    def gap(drift: float) -> float:
        fut = futility_bounds(looks, efficacy, drift, beta, beta_spending, rho) if beta_spending else None
        return crossing(looks, efficacy, fut, drift).power - power

    drift = optimize.brentq(gap, 0.0, 15.0, xtol=1e-8)
    fut = futility_bounds(looks, efficacy, drift, beta, beta_spending, rho) if beta_spending else None
    return float(drift), fut


def upper_ordering(fractions, efficacy, k: int, z: float, drift: float) -> float:
    """P_drift of an outcome at least as extreme upward as stopping at look ``k`` (0-based) with ``z``,
    in the stage-wise ordering: crossing the upper bound earlier, or reaching look k with Z >= z."""
    walk, total = _Walk(0.0), 0.0
    for j, (tj, c) in enumerate(zip(fractions, efficacy, strict=True)):
        if j == k:
            return total + walk.tail(tj, z, drift, True)
        total += walk.tail(tj, c, drift, True)
        walk = walk.advance(tj, [(-c, c)], drift)
    raise ValueError(f"look {k + 1} is not in the plan")
