"""Pooled preference: the exact binomial test, its intervals, and the descriptive tables."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from .votes import pair_votes

ALTERNATIVES = ("two-sided", "greater", "less")
CI_METHODS = ("wilson", "exact", "wilsoncc")


@dataclass(frozen=True)
class PreferenceResult:
    """The pooled preference for system ``a`` over ``b``, in the style of scipy.stats results.

    Attributes
    ----------
    statistic : float
        Share of votes for ``a``.
    pvalue : float
        Exact binomial test against 0.5 (``scipy.stats.binomtest``).
    """

    system_a: str
    system_b: str
    votes_a: int
    votes_b: int
    statistic: float
    pvalue: float
    alternative: str
    _test: object  # scipy's BinomTestResult, for the intervals

    @property
    def n(self) -> int:
        return self.votes_a + self.votes_b

    def confidence_interval(self, confidence_level: float = 0.95, method: str = "wilson"):
        """Interval for the share of votes for ``a``: method 'wilson', 'exact' (Clopper-Pearson) or 'wilsoncc'."""
        if method not in CI_METHODS:
            raise ValueError(f"method must be one of {CI_METHODS}, got {method!r}")
        return self._test.proportion_ci(confidence_level=confidence_level, method=method)


def preference_test(votes_a: int, votes_b: int, system_a: str = "A", system_b: str = "B",
                    alternative: str = "two-sided") -> PreferenceResult:
    """Exact binomial test of the preference for ``a`` against no preference (0.5).

    Examples
    --------
    >>> res = preference_test(174, 126)
    >>> round(float(res.statistic), 2), round(float(res.pvalue), 7)
    (0.58, 0.0065602)
    >>> ci = res.confidence_interval(method="wilson")
    >>> round(float(ci.low), 4), round(float(ci.high), 4)
    (0.5235, 0.6345)
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    n = votes_a + votes_b
    if n == 0:
        raise ValueError(f"no votes between {system_a!r} and {system_b!r}")
    test = stats.binomtest(votes_a, n, p=0.5, alternative=alternative)
    return PreferenceResult(system_a, system_b, votes_a, votes_b, test.statistic, test.pvalue, alternative, test)


def participant_table(df: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """The seed's Figure 7: votes for ``a`` and ``b`` per participant, in order of appearance."""
    return participant_counts(pair_votes(df, a, b))


def participant_counts(sub: pd.DataFrame) -> pd.DataFrame:
    """:func:`participant_table` from votes already selected by :func:`~evaluation.votes.pair_votes`."""
    order = pd.unique(sub["participant"])
    grouped = sub.groupby("participant", sort=False)["chose_a"].agg(["sum", "count"]).reindex(order)
    table = pd.DataFrame(
        {"participant": order, "votes_a": grouped["sum"].to_numpy(), "votes_b": (grouped["count"] - grouped["sum"]).to_numpy()}
    )
    table["n"] = table["votes_a"] + table["votes_b"]
    table["proportion_a"] = table["votes_a"] / table["n"]
    return table


def image_table(df: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Votes per source image, with the share for ``a``; sorted from most to least preferred."""
    return image_counts(pair_votes(df, a, b))


def image_counts(sub: pd.DataFrame) -> pd.DataFrame:
    """:func:`image_table` from votes already selected by :func:`~evaluation.votes.pair_votes`."""
    grouped = sub.groupby("image")["chose_a"].agg(["sum", "count"])
    table = pd.DataFrame({"image": grouped.index, "votes_a": grouped["sum"].to_numpy(), "n": grouped["count"].to_numpy()})
    table["votes_b"] = table["n"] - table["votes_a"]
    table["proportion_a"] = table["votes_a"] / table["n"]
    return table.sort_values(["proportion_a", "image"], ascending=[False, True]).reset_index(drop=True)


def binomial_pvalues(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Two-sided exact binomial p-values against 1/2 for many counts at once.

    Equal to ``scipy.stats.binomtest(k, n).pvalue`` (at 1/2 the distribution is symmetric, so the
    two tails are twice the smaller one), without a Python call per count.

    Examples
    --------
    >>> k, n = np.array([0, 3, 5, 9]), np.array([10, 10, 10, 10])
    >>> np.allclose(binomial_pvalues(k, n), [stats.binomtest(int(a), 10).pvalue for a in k])
    True
    """
    k, n = np.asarray(k), np.asarray(n)
    tail = np.minimum(stats.binom.cdf(k, n, 0.5), stats.binom.sf(k - 1, n, 0.5))
    return np.minimum(1.0, 2 * tail)


def one_sided_participants(df: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Participants who chose one side more often than chance allows (straight-lining).

    Online participants who click the same side throughout add votes that carry no judgement of
    the images. Each participant's left choices among regular votes get an exact binomial test
    against 1/2; the p-values are Holm-adjusted over participants, and ``flagged`` marks those
    below ``alpha``. Nobody is excluded here: whether to leave them out is the researcher's
    (pre-registered) decision. Empty when the sides were not recorded.

    Examples
    --------
    >>> votes = pd.DataFrame({"participant": ["p1"] * 12 + ["p2"] * 12, "is_catch": False,
    ...                       "left_system": "a", "right_system": "b",
    ...                       "chosen_system": ["a"] * 12 + ["a", "b"] * 6})
    >>> one_sided_participants(votes)[["participant", "left", "n", "flagged"]]
      participant  left   n  flagged
    0          p1    12  12     True
    1          p2     6  12    False
    """
    columns = ["participant", "left", "n", "pvalue", "holm_pvalue", "flagged"]
    reg = df[~df["is_catch"]]
    if not df.attrs.get("sides_known", True) or reg.empty:
        return pd.DataFrame(columns=columns)
    left = (reg["chosen_system"] == reg["left_system"]).groupby(reg["participant"].astype(str)).agg(["sum", "count"])
    table = pd.DataFrame({"participant": left.index, "left": left["sum"].to_numpy(dtype=int),
                          "n": left["count"].to_numpy(dtype=int)})
    table["pvalue"] = binomial_pvalues(table["left"].to_numpy(), table["n"].to_numpy())
    table["holm_pvalue"] = multipletests(table["pvalue"], method="holm")[1]
    table["flagged"] = table["holm_pvalue"] < alpha
    return table[columns]


def response_times(df: pd.DataFrame) -> dict[str, float] | None:
    """Median and quartiles of the response time (ms) of regular votes, None when none were measured."""
    times = df.loc[~df["is_catch"], "response_ms"].dropna()
    if times.empty:
        return None
    q1, median, q3 = np.percentile(times, [25, 50, 75])
    return {"n": int(len(times)), "median": float(median), "q1": float(q1), "q3": float(q3),
            "under_300ms": int((times < 300).sum())}


def catch_table(df: pd.DataFrame, max_fail_rate: float) -> pd.DataFrame:
    """Catch-trial accuracy per participant and whether the exclusion rule removes them.

    A participant is excluded when the share of failed catch trials (preferring the wrong
    recoloring to the real photo) is above ``max_fail_rate``.
    """
    catch = df[df["is_catch"]]
    if catch.empty:
        return pd.DataFrame(columns=["participant", "catch_trials", "catch_correct", "accuracy", "excluded"])
    correct = (catch["chosen_system"] == "ground_truth").groupby(catch["participant"]).agg(["sum", "count"])
    table = pd.DataFrame(
        {"participant": correct.index, "catch_trials": correct["count"].to_numpy(), "catch_correct": correct["sum"].to_numpy()}
    )
    table["accuracy"] = table["catch_correct"] / table["catch_trials"]
    table["excluded"] = (1 - table["accuracy"]) > max_fail_rate
    return table.reset_index(drop=True)


REAL = "ground_truth"


def fooling_rates(df: pd.DataFrame, by_participant: bool = False) -> pd.DataFrame:
    """Turing mode: how often each system's colorization was taken for the real photo.

    Regular trials that pair ``ground_truth`` with a system count; the rate is the share of
    them where the colorization was chosen, with Wilson 95% intervals (``binomtest``).
    """
    reg = df[~df["is_catch"] & ((df["left_system"] == REAL) ^ (df["right_system"] == REAL))]
    if reg.empty:
        return pd.DataFrame(columns=["system", "fooled", "n", "rate", "ci_low", "ci_high"])
    system = reg["left_system"].where(reg["left_system"] != REAL, reg["right_system"])
    keys = [system] + ([reg["participant"]] if by_participant else [])
    fooled = (reg["chosen_system"] != REAL).groupby(keys).agg(["sum", "count"]).reset_index()
    fooled.columns = ["system"] + (["participant"] if by_participant else []) + ["fooled", "n"]
    intervals = [stats.binomtest(int(k), int(n)).proportion_ci(method="wilson") for k, n in zip(fooled["fooled"], fooled["n"], strict=True)]
    fooled["rate"] = fooled["fooled"] / fooled["n"]
    fooled["ci_low"] = [ci.low for ci in intervals]
    fooled["ci_high"] = [ci.high for ci in intervals]
    return fooled
