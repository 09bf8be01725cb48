"""Side bias as an order effect beside the systems' strengths.

A raw share of left choices mixes side with preference whenever the better system was shown on the
left more often than on the right, which an odd number of trials per pair and participant makes
unavoidable. So the side is estimated the way BradleyTerry2 estimates home advantage: one logistic
regression of choosing the left image on the two systems' strengths and a common left advantage,

    logit P(left chosen) = delta + lambda_left - lambda_right,

fitted by statsmodels' GLM with standard errors clustered by participant (a participant who leans
left does so in every vote). ``delta`` is the side bias that placement cannot fake.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SideBias:
    """The left advantage among regular votes.

    Attributes
    ----------
    left, n : int
        Left choices and votes (the raw share ``left / n`` is descriptive only).
    effect : float
        ``delta``: the log-odds of choosing the left image when both systems are equally strong.
    std_error, pvalue : float
        Its participant-clustered standard error and two-sided Wald p-value.
    """

    left: int
    n: int
    effect: float
    std_error: float
    pvalue: float

    @property
    def raw_share(self) -> float:
        return self.left / self.n

    @property
    def probability(self) -> float:
        """The chance that the left image is chosen when the two are equally good: ``expit(delta)``."""
        return float(expit(self.effect))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The confidence interval of that probability."""
        z = stats.norm.isf((1 - level) / 2)
        low, high = self.effect - z * self.std_error, self.effect + z * self.std_error
        return float(expit(low)), float(expit(high))


def side_bias(df: pd.DataFrame) -> SideBias | None:
    """The order effect of the regular votes of a loaded vote table; None if sides are unknown, or
    if every pair was shown in one order only (then side and preference cannot be told apart).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a_left = rng.random(400) < 0.7  # the better system, a, shown on the left 70% of the time
    >>> chose_a = rng.random(400) < 0.8  # and chosen 80% of the time, whatever its side
    >>> votes = pd.DataFrame({"participant": np.repeat([f"p{i}" for i in range(20)], 20), "is_catch": False,
    ...                       "left_system": np.where(a_left, "a", "b"), "right_system": np.where(a_left, "b", "a"),
    ...                       "chosen_system": np.where(chose_a, "a", "b")})
    >>> bias = side_bias(votes)
    >>> round(bias.raw_share, 2), bool(bias.pvalue > 0.05)  # left chosen often, yet no side bias
    (0.6, True)
    """
    if not df.attrs.get("sides_known", True):
        return None
    reg = df[~df["is_catch"]]
    if reg.empty:
        return None
    left_system, right_system = reg["left_system"].astype(str), reg["right_system"].astype(str)
    y = (reg["chosen_system"].astype(str) == left_system).to_numpy(dtype=float)
    systems = sorted(set(left_system) | set(right_system))
    index = {s: i for i, s in enumerate(systems)}
    strengths = np.zeros((len(reg), len(systems)))
    rows = np.arange(len(reg))
    strengths[rows, left_system.map(index).to_numpy()] += 1
    strengths[rows, right_system.map(index).to_numpy()] -= 1
    x = np.column_stack([np.ones(len(reg)), strengths[:, 1:]])  # the first system is the reference
    if np.linalg.matrix_rank(x) < x.shape[1]:
        logger.info("every pair was shown in one order: side and preference cannot be told apart")
        return None
    groups = pd.factorize(reg["participant"].astype(str))[0]
    model = sm.GLM(y, x, family=sm.families.Binomial())
    clustered = groups.max() >= 1
    with warnings.catch_warnings():
        # A system chosen in every vote has no finite strength; the left advantage still has one.
        warnings.simplefilter("ignore")
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups}) if clustered else model.fit()
    effect, se = float(fit.params[0]), float(fit.bse[0])
    if not np.isfinite(se) or se <= 0:
        logger.warning("the side bias has no valid standard error (%s)", se)
        return None
    pvalue = float(2 * stats.norm.sf(abs(effect / se)))
    return SideBias(int(y.sum()), len(reg), effect, se, pvalue)
