"""Do the numbers agree with the people? Automatic metrics of the stimuli held against the votes.

For each metric (a number per image and system, e.g. PSNR against the ground truth, or
colorfulness), three agreements with the votes, as the perceptual-metric literature measures them:

* ``vote_share``: the share of votes in which the metric prefers the chosen image; a tie (equal
  values) counts as half, and ``ties`` says how often that happened.
* ``two_afc``: the 2AFC score of Zhang et al. (2018, "The unreasonable effectiveness of deep
  features as a perceptual metric"): for each pair of stimuli (an image shown by two systems), the
  credit is the share of people who chose the side the metric prefers (half on a tie); the score
  is the mean credit over pairs of stimuli. Its interval resamples participants (a bootstrap).
* ``ceiling``: what people themselves reach: for each pair of stimuli, the chance that two
  different participants agree, from its votes (k of n for one side: (k(k-1) + (n-k)(n-k-1)) /
  (n(n-1))), averaged over the pairs with at least two votes. A metric at the ceiling agrees with
  a person as often as another person does; one that always picks a pair's true majority passes
  it (max(p, 1 - p) >= p^2 + (1 - p)^2).

With three or more systems, ``rank_correlation`` is Spearman's between each metric's per-system
mean and the JOD scale. Metrics where lower is better (CIEDE2000) are turned round first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .votes import VoteTableError, regular

# Metrics for which a lower value means the better image; every other metric: higher is better.
LOWER_IS_BETTER = frozenset({"ciede2000", "delta_e", "lpips", "mse", "fid"})
PREFIX = ("left_", "right_")


@dataclass(frozen=True)
class MetricAgreement:
    """The agreement of one metric with the votes (see the module's description)."""

    metric: str
    lower_is_better: bool
    votes: int
    vote_share: float
    ties: float  # share of votes where the metric could not choose
    pairs: int  # pairs of stimuli with a vote
    two_afc: float
    ci_low: float
    ci_high: float
    rank_correlation: float | None = None  # Spearman with JOD per system (three or more systems)


@dataclass(frozen=True)
class MetricsReport:
    metrics: tuple[MetricAgreement, ...]
    ceiling: float  # two participants agreeing on a pair of stimuli
    ceiling_pairs: int  # pairs of stimuli with two votes or more
    n_boot: int
    sources: dict = field(default_factory=dict)  # metric -> where its values came from

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([m.__dict__ for m in self.metrics])


def metric_names(df: pd.DataFrame) -> list[str]:
    """Metrics present in a vote table as ``left_<name>`` and ``right_<name>`` numeric columns."""
    names = [c.removeprefix("left_") for c in df.columns if c.startswith("left_") and c != "left_system"]
    return [n for n in names if f"right_{n}" in df]


def attach_metrics(df: pd.DataFrame, source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """The votes with ``left_<metric>`` and ``right_<metric>`` from a table of one row per image and
    system (columns ``image``, ``system`` and one column per metric), e.g. a study run elsewhere's.

    Examples
    --------
    >>> votes = pd.DataFrame({"participant": ["p1"], "image": ["x"], "left_system": ["a"], "right_system": ["b"],
    ...                       "chosen_system": ["a"]})
    >>> metrics = pd.DataFrame({"image": ["x", "x"], "system": ["a", "b"], "psnr": [30.0, 25.0]})
    >>> attach_metrics(votes, metrics)[["left_psnr", "right_psnr"]].values.tolist()
    [[30.0, 25.0]]
    """
    origin = "metrics table" if isinstance(source, pd.DataFrame) else str(source)
    if isinstance(source, pd.DataFrame):
        table = source.copy()
    else:
        try:
            table = pd.read_csv(source, dtype={"image": str, "system": str})
        except FileNotFoundError:
            raise VoteTableError(f"{origin}: no such file") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise VoteTableError(f"{origin}: not a readable CSV ({exc})") from None
    missing = [c for c in ("image", "system") if c not in table]
    if missing:
        raise VoteTableError(f"{origin}: missing column {', '.join(missing)} (one row per image and system)")
    names = [c for c in table.columns if c not in ("image", "system")]
    if not names:
        raise VoteTableError(f"{origin}: no metric column beside image and system")
    for name in names:
        values = pd.to_numeric(table[name], errors="coerce")
        bad = table.index[values.isna() & table[name].notna()]
        if len(bad):
            raise VoteTableError(f"{origin}: column {name!r}, row {bad[0] + 2}: {table.loc[bad[0], name]!r} is not a number")
        table[name] = values
    table["image"], table["system"] = table["image"].astype(str), table["system"].astype(str)
    twice = table.duplicated(["image", "system"])
    if twice.any():
        row = table[twice].iloc[0]
        raise VoteTableError(f"{origin}: image {row['image']!r}, system {row['system']!r} is given twice")
    keyed = table.set_index(["image", "system"])
    out = df.drop(columns=[f"{p}{n}" for p in PREFIX for n in names if f"{p}{n}" in df])
    for side in ("left", "right"):
        index = pd.MultiIndex.from_arrays([out["image"].astype(str), out[f"{side}_system"].astype(str)])
        for name in names:
            out[f"{side}_{name}"] = keyed[name].reindex(index).to_numpy()
    return out


def agreement(df: pd.DataFrame, jod: dict[str, float] | None = None, n_boot: int = 500,
              seed: int = 0) -> MetricsReport | None:
    """Every metric's agreement with the regular votes of ``df``; None when it carries no metric.

    ``jod``: system -> JOD score, for the rank correlation (three or more systems).
    """
    names = metric_names(df)
    reg = regular(df)
    if not names or reg.empty:
        return None
    reg = reg.reset_index(drop=True)
    left_sys, right_sys = reg["left_system"].astype(str).to_numpy(), reg["right_system"].astype(str).to_numpy()
    chose_left = reg["chosen_system"].astype(str).to_numpy() == left_sys
    # A pair of stimuli: one image, two systems, in either order.
    first, second = np.where(left_sys < right_sys, left_sys, right_sys), np.where(left_sys < right_sys, right_sys, left_sys)
    pair_codes, _ = pd.factorize(pd.Series(list(zip(reg["image"].astype(str), first, second, strict=True))))
    left_is_first = left_sys == first
    chose_first = np.where(left_is_first, chose_left, ~chose_left)
    participants, people = pd.factorize(reg["participant"].astype(str))
    rng = np.random.default_rng(seed)
    boots = [np.bincount(rng.integers(len(people), size=len(people)), minlength=len(people))
             for _ in range(n_boot)]
    results = []
    for name in names:
        lower = name.lower() in LOWER_IS_BETTER
        left = pd.to_numeric(reg[f"left_{name}"], errors="coerce").to_numpy(float)
        right = pd.to_numeric(reg[f"right_{name}"], errors="coerce").to_numpy(float)
        known = ~(np.isnan(left) | np.isnan(right))
        if not known.any():
            continue
        sign = np.sign(left - right) * (-1 if lower else 1)  # +1: the metric prefers the left image
        credit_vote = np.where(sign == 0, 0.5, (sign > 0) == chose_left)[known]
        prefers_first = np.where(left_is_first, sign, -sign)
        weights = known.astype(float)
        score = _two_afc(pair_codes, chose_first, prefers_first, weights)
        spread = [_two_afc(pair_codes, chose_first, prefers_first, weights * w[participants]) for w in boots]
        low, high = np.nanpercentile(spread, [2.5, 97.5]) if spread else (np.nan, np.nan)
        results.append(MetricAgreement(
            metric=name, lower_is_better=lower, votes=int(known.sum()), vote_share=float(credit_vote.mean()),
            ties=float((sign[known] == 0).mean()), pairs=int(len(np.unique(pair_codes[known]))), two_afc=score,
            ci_low=float(low), ci_high=float(high), rank_correlation=_rank_correlation(reg, name, lower, jod)))
    if not results:
        return None
    ceiling, n_pairs = _ceiling(pair_codes, chose_first)
    return MetricsReport(tuple(results), ceiling, n_pairs, n_boot)


def _two_afc(pairs: np.ndarray, chose_first: np.ndarray, prefers_first: np.ndarray, weights: np.ndarray) -> float:
    """Mean over pairs of stimuli of the (weighted) share of people who chose the side the metric prefers."""
    n = np.bincount(pairs, weights=weights)
    k = np.bincount(pairs, weights=weights * chose_first)
    # The metric's preference is the same for every vote of a pair; read it from any of them.
    preference = np.zeros(len(n))
    preference[pairs] = prefers_first
    seen = n > 0
    share_first = k[seen] / n[seen]
    credit = np.where(preference[seen] > 0, share_first, np.where(preference[seen] < 0, 1 - share_first, 0.5))
    return float(credit.mean()) if len(credit) else float("nan")


def _ceiling(pairs: np.ndarray, chose_first: np.ndarray) -> tuple[float, int]:
    n = np.bincount(pairs).astype(float)
    k = np.bincount(pairs, weights=chose_first.astype(float))
    enough = n >= 2
    agree = (k * (k - 1) + (n - k) * (n - k - 1))[enough] / (n * (n - 1))[enough]
    return (float(agree.mean()) if len(agree) else float("nan")), int(enough.sum())


def _rank_correlation(reg: pd.DataFrame, name: str, lower: bool, jod: dict[str, float] | None) -> float | None:
    if not jod or len(jod) < 3:
        return None
    shown = pd.concat([reg[["left_system", f"left_{name}"]].set_axis(["system", "value"], axis=1),
                       reg[["right_system", f"right_{name}"]].set_axis(["system", "value"], axis=1)])
    means = shown.groupby("system")["value"].mean().reindex(list(jod)).dropna()
    if len(means) < 3:
        return None
    rho = spearmanr(-means.to_numpy() if lower else means.to_numpy(), [jod[s] for s in means.index]).statistic
    return float(rho)
